/**
 * Whether two runs can be compared, and how they differ: per-task values of a metric, confidence
 * intervals over tasks, and paired tests on the tasks both runs judged.
 *
 * @module
 */

import { passAtK } from "../metrics/pass_at_k.ts";
import { canonicalJson } from "../util/hash.ts";
import type { Report, TaskOutcome } from "./schema.ts";

/** The parts of a report that decide comparability. */
export type KeyedReport = Pick<Report, "schema" | "comparabilityKey" | "keyFields">;

/** One field that differs between two runs. */
export interface FieldDifference {
  readonly field: string;
  /** The field's value in each run, as canonical JSON (`absent` when a run lacks it). */
  readonly a: string;
  readonly b: string;
}

/** Whether two runs are comparable; when not, why. */
export type Comparability =
  | { readonly comparable: true }
  | {
    readonly comparable: false;
    /** One sentence for a person. */
    readonly reason: string;
    readonly differences: readonly FieldDifference[];
  };

/**
 * Two runs are comparable when their comparability keys (and schema versions) are equal. When
 * they are not, the fields each report stores beside its key (`keyFields`) name what differs.
 */
export function comparability(a: KeyedReport, b: KeyedReport): Comparability {
  if (a.comparabilityKey === b.comparabilityKey && a.schema === b.schema) {
    return { comparable: true };
  }
  const fa: Record<string, unknown> = { "schema version": a.schema, ...a.keyFields };
  const fb: Record<string, unknown> = { "schema version": b.schema, ...b.keyFields };
  const shown = (value: unknown) => value === undefined ? "absent" : canonicalJson(value);
  const differences = [...new Set([...Object.keys(fa), ...Object.keys(fb)])]
    .filter((field) => shown(fa[field]) !== shown(fb[field]))
    .map((field) => ({ field, a: shown(fa[field]), b: shown(fb[field]) }));
  const names = differences.map((d) => d.field);
  const reason = differences.length > 0
    ? `The runs are not comparable as their comparability keys differ in ${names.join(", ")}`
    : `The runs are not comparable as their comparability keys differ ("${a.comparabilityKey}" ` +
      `and "${b.comparabilityKey}"), though their stored key fields are equal`;
  return { comparable: false, reason, differences };
}

// ---------------------------------------------------------------------------------------------
// Per-task values

/**
 * Each task's value of `metric`, by task id: pass@k from the unbiased estimator, `compile_rate`
 * from compiled samples, any other metric from the task's `scores`. `undefined` when some task
 * has no value (pass@10 with n = 1, corpus-level metrics without per-task scores).
 */
export function taskValues(
  tasks: readonly TaskOutcome[],
  metric: string,
): Map<string, number> | undefined {
  const value = perTask(metric);
  const values = new Map<string, number>();
  for (const task of tasks) {
    const v = value(task);
    if (v === undefined || !Number.isFinite(v)) return undefined;
    values.set(task.taskId, v);
  }
  return values;
}

function perTask(metric: string): (task: TaskOutcome) => number | undefined {
  const k = /^pass@(\d+)$/.exec(metric)?.[1];
  if (k !== undefined) {
    return (t) => t.n >= Number(k) && t.n > 0 ? passAtK(t.n, t.passed, Number(k)) : undefined;
  }
  if (metric === "compile_rate") return (t) => t.n > 0 ? t.compiled / t.n : undefined;
  return (t) => t.scores?.[metric];
}

// ---------------------------------------------------------------------------------------------
// Intervals

/** A value with a confidence interval. */
export interface Interval {
  readonly value: number;
  readonly low: number;
  readonly high: number;
  /** How the interval was computed. */
  readonly method: "wilson" | "bootstrap";
  /** Tasks the interval is over. */
  readonly tasks: number;
}

/** Wilson score interval for `successes` of `total` (95 % by default). */
export function wilson(successes: number, total: number, z = 1.959964): Interval {
  if (total === 0) return { value: 0, low: 0, high: 1, method: "wilson", tasks: 0 };
  const p = successes / total;
  const z2 = z * z;
  const center = (p + z2 / (2 * total)) / (1 + z2 / total);
  const half = (z / (1 + z2 / total)) * Math.sqrt(p * (1 - p) / total + z2 / (4 * total * total));
  return {
    value: p,
    // Exact at the edges, where rounding would leave 0.9999999999999999.
    low: successes === 0 ? 0 : Math.max(0, center - half),
    high: successes === total ? 1 : Math.min(1, center + half),
    method: "wilson",
    tasks: total,
  };
}

/** Options of the bootstrap functions. */
export interface BootstrapOptions {
  /** @default 2000 */
  readonly resamples?: number;
  /** Seed of the resampling, so that pages and checks are reproducible. @default 1 */
  readonly seed?: number;
  /** @default 0.95 */
  readonly level?: number;
}

/** Percentile bootstrap interval of the mean of `values`. */
export function bootstrapMean(values: readonly number[], options: BootstrapOptions = {}): Interval {
  const { resamples = 2000, seed = 1, level = 0.95 } = options;
  const n = values.length;
  const value = mean(values);
  if (n === 0) return { value: 0, low: 0, high: 0, method: "bootstrap", tasks: 0 };
  const random = mulberry32(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(random() * n)]!;
    means[r] = sum / n;
  }
  means.sort();
  const tail = (1 - level) / 2;
  const low = means[Math.floor(tail * (resamples - 1))]!;
  const high = means[Math.ceil((1 - tail) * (resamples - 1))]!;
  return { value, low, high, method: "bootstrap", tasks: n };
}

/**
 * Confidence interval of `metric` over the run's tasks: Wilson when every task is a plain pass or
 * fail, a bootstrap over tasks otherwise; `undefined` when the metric has no per-task values or
 * their mean is not the reported value (corpus-level BLEU, for instance).
 */
export function metricInterval(report: Report, metric: string): Interval | undefined {
  const values = taskValues(report.tasks, metric);
  const reported = report.metrics[metric];
  if (values === undefined || values.size === 0 || typeof reported !== "number") return undefined;
  const list = [...values.values()];
  if (Math.abs(mean(list) - reported) > 1e-6) return undefined;
  if (list.every((v) => v === 0 || v === 1)) {
    return wilson(list.filter((v) => v === 1).length, list.length);
  }
  return bootstrapMean(list);
}

// ---------------------------------------------------------------------------------------------
// Paired comparison

/** One task whose value changed between two runs. */
export interface TaskFlip {
  readonly taskId: string;
  readonly language: string;
  readonly a: number;
  readonly b: number;
}

/** How run `b` differs from run `a` on `metric`, over the tasks both judged. */
export interface PairedComparison {
  readonly metric: string;
  /** Tasks judged by both runs, and by one only. */
  readonly paired: number;
  readonly onlyA: number;
  readonly onlyB: number;
  /** Mean of the per-task values over the paired tasks. */
  readonly meanA: number;
  readonly meanB: number;
  /** `meanB - meanA`, with a paired bootstrap interval. */
  readonly difference: Interval;
  /** Tasks better in `b`, worse in `b`, unchanged. */
  readonly improved: readonly TaskFlip[];
  readonly regressed: readonly TaskFlip[];
  readonly unchanged: number;
  /** Exact McNemar test when every value is pass or fail; exact sign test otherwise. */
  readonly test: "exact McNemar" | "exact sign test";
  /** Two-sided p-value of "no difference". */
  readonly pValue: number;
  /** One-sided p-value of "b is no worse than a" (small when b regressed). */
  readonly pWorse: number;
}

/**
 * Compares `metric` of run `b` with run `a`, task by task; `undefined` when either run lacks
 * per-task values of the metric. Callers check {@linkcode comparability} first.
 */
export function pairedComparison(
  a: Pick<Report, "tasks">,
  b: Pick<Report, "tasks">,
  metric: string,
  options: BootstrapOptions = {},
): PairedComparison | undefined {
  return pairTasks(a.tasks, b.tasks, metric, options);
}

/** {@linkcode pairedComparison} over given task lists (a language's tasks, for instance). */
export function pairTasks(
  tasksA: readonly TaskOutcome[],
  tasksB: readonly TaskOutcome[],
  metric: string,
  options: BootstrapOptions = {},
): PairedComparison | undefined {
  const va = taskValues(tasksA, metric);
  const vb = taskValues(tasksB, metric);
  if (va === undefined || vb === undefined) return undefined;
  const languages = new Map(tasksB.map((t) => [t.taskId, t.language as string]));
  const improved: TaskFlip[] = [];
  const regressed: TaskFlip[] = [];
  const diffs: number[] = [];
  const pairs: [number, number][] = [];
  for (const [taskId, x] of va) {
    const y = vb.get(taskId);
    if (y === undefined) continue;
    pairs.push([x, y]);
    diffs.push(y - x);
    const flip = { taskId, language: languages.get(taskId) ?? "", a: x, b: y };
    if (y > x + 1e-12) improved.push(flip);
    else if (y < x - 1e-12) regressed.push(flip);
  }
  const binary = pairs.every(([x, y]) => (x === 0 || x === 1) && (y === 0 || y === 1));
  const trials = improved.length + regressed.length;
  return {
    metric,
    paired: pairs.length,
    onlyA: va.size - pairs.length,
    onlyB: vb.size - pairs.length,
    meanA: mean(pairs.map(([x]) => x)),
    meanB: mean(pairs.map(([, y]) => y)),
    difference: bootstrapMean(diffs, options),
    improved,
    regressed,
    unchanged: pairs.length - trials,
    test: binary ? "exact McNemar" : "exact sign test",
    pValue: binomialTwoSided(improved.length, trials),
    pWorse: binomialUpperTail(regressed.length, trials),
  };
}

/** P(X >= x) for X ~ Binomial(n, 1/2). */
export function binomialUpperTail(x: number, n: number): number {
  if (x <= 0) return 1;
  if (x > n) return 0;
  const lf = logFactorials(n);
  let sum = 0;
  for (let i = x; i <= n; i++) sum += Math.exp(lf[n]! - lf[i]! - lf[n - i]! - n * Math.LN2);
  return Math.min(1, sum);
}

/** Two-sided exact binomial (sign) test of x successes in n trials at p = 1/2. */
export function binomialTwoSided(x: number, n: number): number {
  if (n === 0) return 1;
  const tail = binomialUpperTail(Math.max(x, n - x), n);
  return Math.min(1, 2 * tail);
}

function logFactorials(n: number): Float64Array {
  const table = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) table[i] = table[i - 1]! + Math.log(i);
  return table;
}

function mean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Small seeded PRNG (mulberry32), so that bootstrap intervals are reproducible. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
