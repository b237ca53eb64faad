/**
 * `deno task check --baseline PATH --current PATH`: the regression check. Compares a run with a
 * baseline report on compilation rate and the headline metric (or the metrics asked), overall and
 * per language, and fails only on a drop that is both beyond the tolerance and significant on the
 * paired per-task outcomes, so that noise does not fail CI.
 *
 * Exit status: 0 when nothing regressed, 1 on a regression, 2 when the check cannot be made
 * (runs not comparable, malformed or missing report, unknown metric, bad arguments).
 *
 * @module
 */

import { join } from "node:path";
import {
  comparability,
  type FieldDifference,
  type PairedComparison,
  pairTasks,
} from "../report/compare.ts";
import type { Report, TaskOutcome } from "../report/schema.ts";
import { createFolderStore, headlineMetric, parseReport } from "../report/store.ts";
import { formatDelta, formatMetric, formatP, isCount } from "../leaderboard/format.ts";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { table } from "./_summary.ts";
import {
  type CommandSpec,
  execute,
  number,
  parseCommand,
  type Parsed,
  runCommand,
  UsageError,
} from "./_args.ts";

/** Options of {@linkcode runCheck}. */
export interface CheckOptions {
  /** Baseline report: a `report.json` or the run folder that holds one. */
  readonly baseline: string;
  /** Current report, the same way, or a reports folder: its newest run comparable with the baseline. */
  readonly current: string;
  /** Metrics to check. @default ["compile_rate", the baseline's headline metric] */
  readonly metrics?: readonly string[];
  /** Largest absolute drop that passes (0.02 is 2 points of a rate). @default 0.02 */
  readonly tolerance?: number;
  /** A drop beyond the tolerance fails only when its one-sided p-value is below this. @default 0.05 */
  readonly alpha?: number;
}

/** What one row of the check concluded. */
export type Verdict =
  | "regressed"
  | "drop not significant"
  | "drop within tolerance"
  | "unchanged"
  | "improved";

/** One metric over one scope: all tasks, or one language's. */
export interface CheckRow {
  readonly metric: string;
  /** `all`, or a language. */
  readonly scope: string;
  readonly baseline: number;
  readonly current: number;
  readonly delta: number;
  /** Paired tasks, and how many got worse and better; absent without per-task values. */
  readonly paired?: PairedComparison;
  /** One-sided p-value of the drop; `null` without per-task values. */
  readonly pWorse: number | null;
  readonly verdict: Verdict;
}

/** The check's outcome. */
export interface CheckResult {
  readonly passed: boolean;
  readonly rows: readonly CheckRow[];
  readonly baseline: { readonly path: string; readonly report: Report };
  readonly current: { readonly path: string; readonly report: Report };
  readonly tolerance: number;
  readonly alpha: number;
  /** Things worth saying that are not failures (tasks left out of the pairing). */
  readonly notes: readonly string[];
}

/** The check cannot be made: the reason is in the message, field differences alongside. */
export class CheckRefusedError extends Error {
  override name = "CheckRefusedError";
  readonly differences: readonly FieldDifference[];
  constructor(message: string, differences: readonly FieldDifference[] = []) {
    super(message);
    this.differences = differences;
  }
}

/** Runs the check; throws {@linkcode CheckRefusedError} when it cannot be made. */
export async function runCheck(options: CheckOptions): Promise<CheckResult> {
  const { tolerance = 0.02, alpha = 0.05 } = options;
  const baseline = await readReport(options.baseline, "baseline");
  const current = await readReport(
    await resolveCurrent(options.current, baseline.report),
    "current",
  );
  const verdict = comparability(baseline.report, current.report);
  if (!verdict.comparable) {
    const lines = verdict.differences.map((d) => `  ${d.field}: baseline ${d.a}, current ${d.b}`);
    throw new CheckRefusedError(
      `Cannot check "${current.path}" against "${baseline.path}": ${lowerFirst(verdict.reason)}` +
        (lines.length > 0 ? `\n${lines.join("\n")}` : ""),
      verdict.differences,
    );
  }
  const metrics = options.metrics?.length
    ? [...new Set(options.metrics)]
    : [...new Set(["compile_rate", headlineMetric(baseline.report)])];
  for (const metric of metrics) requireMetric(metric, baseline, current);
  const rows = metrics.flatMap((metric) =>
    scopes(baseline.report, current.report).flatMap((scope) =>
      checkRow(metric, scope, { baseline: baseline.report, current: current.report }, {
        tolerance,
        alpha,
      }) ?? []
    )
  );
  return {
    passed: rows.every((r) => r.verdict !== "regressed"),
    rows,
    baseline,
    current,
    tolerance,
    alpha,
    notes: pairingNotes(baseline.report, current.report),
  };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/**
 * `path` itself when it is a report or a run folder; when it is a reports folder
 * (`<folder>/<run>/report.json` below it), the newest run there comparable with the baseline.
 */
async function resolveCurrent(path: string, baseline: Report): Promise<string> {
  const isFolder = await Deno.stat(path).then((info) => info.isDirectory, () => false);
  if (!isFolder || await exists(join(path, "report.json"))) return path;
  const { runs } = await createFolderStore(path).list();
  const candidates = runs
    .filter((r) => r.summary.comparabilityKey === baseline.comparabilityKey)
    .filter((r) => !isSameRun(r.summary, baseline))
    .sort((a, b) => b.summary.provenance.startedAt.localeCompare(a.summary.provenance.startedAt));
  const newest = candidates[0];
  if (newest === undefined) {
    throw new CheckRefusedError(
      `Cannot find a run comparable with the baseline in "${path}": it holds ${runs.length} ` +
        `readable run${runs.length === 1 ? "" : "s"}, none but the baseline itself with ` +
        `comparability key ` +
        `"${baseline.comparabilityKey}"`,
    );
  }
  return join(path, newest.ref.folder, newest.ref.run, "report.json");
}

/** The baseline itself, when the reports folder holds it (`reports/baseline/`). */
function isSameRun(a: Pick<Report, "id" | "provenance">, b: Pick<Report, "id" | "provenance">) {
  return a.id === b.id && a.provenance.startedAt === b.provenance.startedAt;
}

function exists(path: string): Promise<boolean> {
  return Deno.stat(path).then(() => true, () => false);
}

async function readReport(path: string, role: string): Promise<CheckResult["baseline"]> {
  let file = path;
  try {
    if ((await Deno.stat(path)).isDirectory) file = join(path, "report.json");
  } catch {
    throw new CheckRefusedError(`Cannot read the ${role} report "${path}": no such file or folder`);
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new CheckRefusedError(
      `Cannot read the ${role} report "${file}": ${(error as Error).message}`,
    );
  }
  try {
    return { path: file, report: parseReport(text, file) };
  } catch (error) {
    const problems = (error as { problems?: readonly string[] }).problems ?? [];
    const details = problems.slice(0, 10).map((p) => `\n  ${p}`).join("");
    throw new CheckRefusedError(`${(error as Error).message}${details}`);
  }
}

function requireMetric(metric: string, ...runs: CheckResult["baseline"][]): void {
  for (const { path, report } of runs) {
    if (typeof report.metrics[metric] !== "number") {
      const available = Object.keys(report.metrics)
        .filter((m) => typeof report.metrics[m] === "number" && !isCount(m));
      throw new CheckRefusedError(
        `Cannot check metric "${metric}" as "${path}" has no value for it: available metrics ` +
          `are ${available.join(", ")}`,
      );
    }
  }
}

/** `all`, then each language both runs have, when there are several. */
function scopes(a: Report, b: Report): string[] {
  const languages = Object.keys(a.metricsByLanguage)
    .filter((l) => l in b.metricsByLanguage)
    .sort();
  return languages.length > 1 ? ["all", ...languages] : ["all"];
}

interface Threshold {
  readonly tolerance: number;
  readonly alpha: number;
}

function checkRow(
  metric: string,
  scope: string,
  runs: { readonly baseline: Report; readonly current: Report },
  threshold: Threshold,
): CheckRow | undefined {
  const only = (tasks: readonly TaskOutcome[]) =>
    scope === "all" ? tasks : tasks.filter((t) => t.language === scope);
  const paired = pairTasks(only(runs.baseline.tasks), only(runs.current.tasks), metric);
  if (paired !== undefined && paired.paired > 0) {
    const delta = paired.meanB - paired.meanA;
    const verdict = judge(delta, paired.pWorse, threshold);
    return {
      metric,
      scope,
      baseline: paired.meanA,
      current: paired.meanB,
      delta,
      paired,
      pWorse: paired.pWorse,
      verdict,
    };
  }
  // No per-task values (a corpus-level metric): compare the reported values, tolerance only.
  const value = (r: Report) =>
    scope === "all" ? r.metrics[metric] : r.metricsByLanguage[scope]?.[metric];
  const before = value(runs.baseline);
  const after = value(runs.current);
  if (typeof before !== "number" || typeof after !== "number") return undefined;
  const delta = after - before;
  return {
    metric,
    scope,
    baseline: before,
    current: after,
    delta,
    pWorse: null,
    verdict: judge(delta, null, threshold),
  };
}

/** A drop fails when it is beyond the tolerance and significant (or untestable). */
function judge(delta: number, pWorse: number | null, threshold: Threshold): Verdict {
  const epsilon = 1e-12;
  if (delta < -threshold.tolerance - epsilon) {
    return pWorse === null || pWorse < threshold.alpha ? "regressed" : "drop not significant";
  }
  if (delta < -epsilon) return "drop within tolerance";
  return delta > epsilon ? "improved" : "unchanged";
}

function pairingNotes(a: Report, b: Report): string[] {
  const ids = new Set(a.tasks.map((t) => t.taskId));
  const common = b.tasks.filter((t) => ids.has(t.taskId)).length;
  if (common === a.tasks.length && common === b.tasks.length) return [];
  return [
    `Paired on ${common} tasks: ${a.tasks.length - common} only in the baseline, ` +
    `${b.tasks.length - common} only in the current run`,
  ];
}

// ---------------------------------------------------------------------------------------------
// Output

function rowCells(row: CheckRow): string[] {
  const p = row.paired;
  return [
    row.metric,
    row.scope,
    formatMetric(row.metric, row.baseline),
    formatMetric(row.metric, row.current),
    formatDelta(row.metric, row.delta),
    p ? `${p.regressed.length}/${p.improved.length}` : "–",
    row.pWorse === null ? "–" : formatP(row.pWorse),
    row.verdict === "regressed" ? "REGRESSED" : row.verdict,
  ];
}

const HEADER = [
  "metric",
  "scope",
  "baseline",
  "current",
  "change",
  "worse/better",
  "p (drop)",
  "verdict",
];

function headline(result: CheckResult): string {
  const failed = result.rows.filter((r) => r.verdict === "regressed");
  if (failed.length === 0) {
    return `PASS: no metric dropped by more than ${tolerance(result)} with significance`;
  }
  const parts = failed.map((r) =>
    `${r.metric} on ${r.scope === "all" ? "all tasks" : r.scope} ` +
    `(${formatMetric(r.metric, r.baseline)} -> ${formatMetric(r.metric, r.current)}` +
    (r.paired
      ? `, ${r.paired.regressed.length} tasks worse, ${r.paired.improved.length} better`
      : "") +
    (r.pWorse === null
      ? ""
      : `, p ${formatP(r.pWorse).startsWith("<") ? "" : "= "}${formatP(r.pWorse)}`) +
    ")"
  );
  return `FAIL: regression beyond ${tolerance(result)}: ${parts.join("; ")}`;
}

function tolerance(result: CheckResult): string {
  return `${(result.tolerance * 100).toFixed(1)} points`;
}

function method(result: CheckResult): string {
  return `A drop fails when it exceeds ${tolerance(result)} and its one-sided p-value on the ` +
    `paired per-task outcomes (exact McNemar / sign test) is below ${result.alpha}.`;
}

/** The verdict as plain text for a terminal. */
export function formatCheck(result: CheckResult): string {
  const worst = result.rows.filter((r) => r.verdict === "regressed")
    .flatMap((r) => r.paired?.regressed.slice(0, 10).map((f) => `  ${f.taskId}`) ?? []);
  return [
    `baseline: ${result.baseline.path} (${describe(result.baseline.report)})`,
    `current:  ${result.current.path} (${describe(result.current.report)})`,
    "",
    table(HEADER, result.rows.map(rowCells)),
    "",
    ...result.notes,
    method(result),
    headline(result),
    ...(worst.length > 0 ? ["Some tasks that got worse:", ...new Set(worst)] : []),
  ].join("\n");
}

/** The verdict as Markdown, for a CI job summary. */
export function formatCheckMarkdown(result: CheckResult): string {
  const cells = (row: string[]) => `| ${row.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [
    `### Regression check: ${result.passed ? "passed" : "failed"}`,
    "",
    `- baseline: \`${result.baseline.path}\` (${describe(result.baseline.report)})`,
    `- current: \`${result.current.path}\` (${describe(result.current.report)})`,
    "",
    cells(HEADER),
    cells(HEADER.map(() => "---")),
    ...result.rows.map((r) => cells(rowCells(r))),
    "",
    ...result.notes.map((n) => `> ${n}`),
    method(result),
    "",
    `**${headline(result)}**`,
    "",
  ].join("\n");
}

function describe(report: Report): string {
  const { model } = report.config;
  return `${report.config.benchmark}, ${model.backend}:${model.id}, ${report.provenance.startedAt}`;
}

// ---------------------------------------------------------------------------------------------
// Command line

/** The `check` command line. */
export const CHECK = {
  name: "check",
  usage: "--baseline PATH --current PATH [options]",
  summary: "Compares a run with a baseline report. PATH is a report.json or the run folder that " +
    "holds one; --current may also be a reports folder, where the newest run comparable with " +
    "the baseline is used. A metric fails when it drops by more than the tolerance and the drop " +
    "is significant on the paired per-task outcomes.",
  options: {
    baseline: { type: "string", value: "PATH", help: "the baseline report (required)" },
    current: { type: "string", value: "PATH", help: "the report to check (required)" },
    metric: {
      type: "string",
      multiple: true,
      value: "NAME",
      help: "metric to check (default: compile_rate and the baseline's headline metric)",
    },
    tolerance: {
      type: "string",
      value: "X",
      help: "largest absolute drop that passes: 0.02 or 2% (default 0.02)",
    },
    alpha: {
      type: "string",
      value: "P",
      help: "significance level of the one-sided paired test (default 0.05); 1 fails on any " +
        "drop beyond the tolerance",
    },
    summary: {
      type: "string",
      value: "FILE",
      help: "also write the verdict as Markdown to FILE (for CI job summaries)",
    },
  },
  exitCodes: {
    1: "regression: a metric dropped beyond the tolerance, significantly",
    2: "the check cannot be made (runs not comparable, a malformed or missing report, an " +
      "unknown metric, a wrong command line)",
  },
  errorExit: 2,
} as const satisfies CommandSpec;

/** Parsed command line of `check`. */
export interface CheckArgs extends CheckOptions {
  readonly summary?: string;
}

/** Turns a parsed command line into check options; throws `UsageError` on bad input. */
export function checkArgs({ values }: Parsed<typeof CHECK>): CheckArgs {
  if (!values.baseline || !values.current) {
    throw new UsageError(
      `missing ${values.baseline ? "--current" : "--baseline"}: the check needs both reports`,
    );
  }
  return {
    baseline: values.baseline,
    current: values.current,
    metrics: values.metric ?? [],
    tolerance: parseFraction(values.tolerance ?? "0.02", "tolerance"),
    alpha: parseFraction(values.alpha ?? "0.05", "alpha"),
    ...(values.summary ? { summary: values.summary } : {}),
  };
}

/** {@linkcode checkArgs} from raw arguments, or `"help"` or `"version"` when asked for. */
export function parseCheckArgs(args: readonly string[]): CheckArgs | "help" | "version" {
  const parsed = parseCommand(CHECK, args);
  return typeof parsed === "string" ? parsed : checkArgs(parsed);
}

function parseFraction(text: string, name: string): number {
  const percent = text.endsWith("%");
  const value = number(name, percent ? text.slice(0, -1) : text)! / (percent ? 100 : 1);
  if (value < 0 || value > 1) {
    throw new UsageError(
      `option --${name} must be a number from 0 to 1, or a percentage like 2%: current value ` +
        `is "${text}"`,
    );
  }
  return value;
}

async function check(parsed: Parsed<typeof CHECK>): Promise<number> {
  const options = checkArgs(parsed);
  let result: CheckResult;
  try {
    result = await runCheck(options);
  } catch (error) {
    if (!(error instanceof CheckRefusedError)) throw error;
    console.error(`REFUSED: ${error.message}`);
    return 2;
  }
  console.log(formatCheck(result));
  if (options.summary) await writeFileAtomic(options.summary, formatCheckMarkdown(result));
  return result.passed ? 0 : 1;
}

/** Runs the command line; returns the exit status. */
export function main(args: readonly string[]): Promise<number> {
  return execute(CHECK, check, args);
}

if (import.meta.main) await runCommand(CHECK, check);
