/**
 * The comparability key: two runs are ranked together, or compared, only when they measured the
 * same thing the same way.
 *
 * @module
 */

import { canonicalJson, sha256 } from "../util/hash.ts";
import type { Limits } from "../../sandbox/types.ts";

/** What defines a metric: the fields hashed into the key. */
export interface KeyFields {
  readonly benchmark: string;
  /** sha256 of every dataset file read, by name. */
  readonly datasetSha256: Readonly<Record<string, string>>;
  readonly split: string;
  /** Filters applied and the ids of the tasks kept (a `--limit` changes the task set). */
  readonly filter: Readonly<Record<string, string>>;
  readonly taskIds: readonly string[];
  readonly promptTemplate: string;
  readonly shots: number;
  /** Samples per task and the k values of pass@k. */
  readonly n: number;
  readonly k: readonly number[];
  /** Executor limits. */
  readonly limits: Limits;
}

/** Hex sha256 over the canonical JSON of the key fields (task ids hashed first). */
export function comparabilityKey(fields: KeyFields): string {
  const { taskIds, ...rest } = fields;
  return sha256(canonicalJson({ ...rest, taskIds: sha256(taskIds.join("\n")) }));
}

/** The key fields as a report stores them, so a refusal can say which field differs. */
export function keyFieldsSummary(fields: KeyFields): Record<string, unknown> {
  const { taskIds, ...rest } = fields;
  return { ...rest, tasks: `${taskIds.length} tasks, sha256 ${sha256(taskIds.join("\n"))}` };
}
