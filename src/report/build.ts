/**
 * Turns judged samples into a {@linkcode Report}: per-task outcomes, then metrics over all tasks,
 * per language and per group.
 *
 * @module
 */

import { meanPassAtK } from "../metrics/pass_at_k.ts";
import { EXECUTION_STATUSES } from "../types.ts";
import { REPORT_SCHEMA_VERSION } from "./schema.ts";
import type { ExecutionStatus, Sample, SampleResult, Task } from "../types.ts";
import type { Metrics, Provenance, Report, RunConfig, TaskOutcome } from "./schema.ts";

/** Everything a report is made of. */
export interface ReportInput {
  readonly id: string;
  readonly comparabilityKey: string;
  readonly keyFields: Readonly<Record<string, unknown>>;
  readonly headline: string;
  readonly provenance: Provenance;
  readonly config: RunConfig;
  readonly tasks: readonly Task[];
  readonly samples: readonly Sample[];
  readonly results: readonly SampleResult[];
  /** Meta fields to group metrics by. */
  readonly groupBy: readonly string[];
  /** Benchmark-specific metrics and per-task scores. */
  readonly extraMetrics?: Readonly<Record<string, number | null>>;
  readonly perTaskScores?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Samples per task whose program parses cleanly (see `TaskOutcome.syntaxOk`). */
  readonly syntaxOk?: ReadonlyMap<string, number>;
  readonly throughput: { readonly executions: number; readonly seconds: number };
  readonly usage?: Report["usage"];
}

/** Builds the report (pure). */
export function buildReport(input: ReportInput): Report {
  const outcomes = taskOutcomes(input);
  return {
    schema: REPORT_SCHEMA_VERSION,
    id: input.id,
    comparabilityKey: input.comparabilityKey,
    keyFields: input.keyFields,
    headline: input.headline,
    provenance: input.provenance,
    config: input.config,
    metrics: { ...outcomeMetrics(outcomes, input.config.k), ...input.extraMetrics },
    metricsByLanguage: groupMetrics(outcomes, (o) => o.language, input.config.k),
    metricsByGroup: Object.fromEntries(
      input.groupBy.map((field) => [
        field,
        groupMetrics(outcomes, (o) => String(o.meta[field] ?? "unknown"), input.config.k),
      ]),
    ),
    statusCounts: countStatuses(outcomes),
    throughput: input.throughput,
    ...(input.usage === undefined ? {} : { usage: input.usage }),
    tasks: outcomes,
  };
}

function taskOutcomes(input: ReportInput): TaskOutcome[] {
  const resultsByTask = Map.groupBy(input.results, (r) => r.taskId);
  return input.tasks.map((task) => {
    const results = (resultsByTask.get(task.id) ?? []).toSorted((a, b) => a.index - b.index);
    const executions = results.map((r) => r.execution);
    const scores = input.perTaskScores?.[task.id];
    return {
      taskId: task.id,
      language: task.language,
      meta: task.meta,
      n: executions.length,
      passed: executions.filter((e) => e.status === "passed").length,
      statuses: executions.map((e) => e.status),
      casesPassed: sum(executions.map((e) => e.casesPassed)),
      casesTotal: sum(executions.map((e) => e.casesTotal)),
      compiled: executions.filter((e) => e.compiled).length,
      ...(input.syntaxOk?.has(task.id) ? { syntaxOk: input.syntaxOk.get(task.id)! } : {}),
      ...(scores === undefined ? {} : { scores }),
    };
  });
}

/** pass@k for every k, compile rate, and the sample pass rate over `outcomes`. */
export function outcomeMetrics(outcomes: readonly TaskOutcome[], ks: readonly number[]): Metrics {
  const samples = sum(outcomes.map((o) => o.n));
  const metrics: Record<string, number | null> = {};
  for (const k of ks) metrics[`pass@${k}`] = meanPassAtK(outcomes, k);
  metrics.compile_rate = samples === 0 ? null : sum(outcomes.map((o) => o.compiled)) / samples;
  if (samples > 0 && outcomes.every((o) => o.syntaxOk !== undefined)) {
    metrics.syntax_rate = sum(outcomes.map((o) => o.syntaxOk!)) / samples;
  }
  metrics.tasks = outcomes.length;
  metrics.samples = samples;
  return metrics;
}

function groupMetrics(
  outcomes: readonly TaskOutcome[],
  keyOf: (outcome: TaskOutcome) => string,
  ks: readonly number[],
): Record<string, Metrics> {
  const groups = Map.groupBy(outcomes, keyOf);
  return Object.fromEntries([...groups].map(([key, group]) => [key, outcomeMetrics(group, ks)]));
}

function countStatuses(outcomes: readonly TaskOutcome[]): Record<ExecutionStatus, number> {
  const counts = Object.fromEntries(EXECUTION_STATUSES.map((s) => [s, 0])) as Record<
    ExecutionStatus,
    number
  >;
  for (const outcome of outcomes) for (const status of outcome.statuses) counts[status]++;
  return counts;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
