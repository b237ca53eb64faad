/**
 * The contract every benchmark adapter satisfies.
 *
 * @module
 */

import type { ExecuteRequest } from "../sandbox/types.ts";
import type { Execution, Sample, Task } from "../src/types.ts";

/** The metric a benchmark's leaderboard ranks by. */
export type MetricName =
  | "pass@1"
  | "compile_rate"
  | "codebleu"
  | "bleu"
  | "exact_match";

/**
 * Limits presets (`--limits`): the executor's defaults, or those of an official harness (see
 * `src/limits_presets.ts`).
 */
export type LimitsPresetName = "ppocoder" | "human-eval" | "evalplus";

/** One file of a dataset, pinned by sha256. */
export interface DatasetFile {
  /** File name looked up under `--data`, `PPOCODER_DATA` and the cache. */
  readonly name: string;
  readonly sha256: string;
  /**
   * sha256 of the file's content once gunzipped (of the bytes themselves when it is not
   * gzipped): a copy that differs only in its packing (the unpacked `HumanEval.jsonl` of
   * `HumanEval.jsonl.gz`) is the same data and is accepted without `--allow-unverified`.
   */
  readonly contentSha256?: string;
  /** Canonical download location. */
  readonly url: string;
}

/** A dataset's identity and files. */
export interface DatasetSpec {
  /** Folder name under `PPOCODER_DATA` and the cache, e.g. `mbpp`. */
  readonly name: string;
  /** Human-readable version (upstream revision). */
  readonly version: string;
  readonly files: readonly DatasetFile[];
}

/** Options of {@linkcode Benchmark.load}. */
export interface LoadOptions {
  /** `--data`: a file or folder that holds the dataset. */
  readonly data?: string;
  /** Split name; each benchmark documents its own. */
  readonly split?: string;
  /** Accept dataset files whose sha256 differs from the pinned one (the real one is recorded). */
  readonly allowUnverified?: boolean;
  /**
   * Keep only the first `limit` tasks. The run pipeline does not pass it: it filters on task
   * `meta` (`--filter difficulty=introductory`) and applies `--limit` itself, so an adapter only
   * has to put the fields users filter on into `meta`.
   */
  readonly limit?: number;
  /** Report download progress and the like. */
  readonly log?: (message: string) => void;
}

/** What {@linkcode Benchmark.load} returns: the tasks and how the data was found. */
export interface LoadedTasks {
  readonly tasks: readonly Task[];
  /** sha256 of every dataset file read, by file name. */
  readonly sha256: Readonly<Record<string, string>>;
  /** Where the files were found. */
  readonly source: string;
  readonly split: string;
}

/** Options of {@linkcode Benchmark.prompt}. */
export interface PromptOptions {
  /** Number of few-shot examples to prepend (each benchmark documents its default, usually 0). */
  readonly shots?: number;
}

/** One benchmark adapter. */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  /** Headline metric of the leaderboard. */
  readonly metric: MetricName;
  readonly dataset: DatasetSpec;
  /** Splits this benchmark knows, the default first. */
  readonly splits: readonly string[];
  load(options?: LoadOptions): Promise<LoadedTasks>;
  /** The text given to a model for `task`. Identified in reports by `promptTemplate`. */
  prompt(task: Task, options?: PromptOptions): string;
  /** Name and version of the prompt template, recorded in reports. */
  readonly promptTemplate: string;
  /**
   * Whether a model's completion continues `task.prompt` as code (HumanEval, CodeSearchNet: the
   * program is prompt + completion) rather than standing alone (MBPP, APPS).
   */
  readonly completesPrompt: boolean;
  /** Stop sequences used when `--stop` is not given (the end marker of the prompt template). */
  readonly stop?: readonly string[];
  /** The program the sandbox runs for `code` written for `task`. */
  request(task: Task, code: string): ExecuteRequest;
  /** Turns the sandbox's view into the sample's verdict (stdout comparison, for instance). */
  judge(task: Task, execution: Execution): Execution;
  /** Task meta fields that reports group metrics by (e.g. `difficulty`). */
  readonly groupBy?: readonly string[];
  /** Limits preset used when `--limits` is not given. @default "ppocoder" */
  readonly limitsPreset?: LimitsPresetName;
  /**
   * The task id the benchmark's own harness and published samples use (`HumanEval/0`, `Mbpp/2`),
   * written into exported results. @default the id without the benchmark's prefix
   */
  officialId?(task: Task): string;
  /**
   * Benchmark-specific metrics (BLEU, CodeBLEU, exact match, test-case average, ...) over the
   * judged samples, merged into the report's metrics; per-task scores go into `perTask`.
   */
  summarize?(judged: readonly JudgedTask[]): Promise<BenchmarkSummary>;
}

/** One task with its samples and their results, as {@linkcode Benchmark.summarize} sees it. */
export interface JudgedTask {
  readonly task: Task;
  readonly samples: readonly Sample[];
  readonly results: readonly Execution[];
}

/** What {@linkcode Benchmark.summarize} returns. */
export interface BenchmarkSummary {
  readonly metrics: Readonly<Record<string, number | null>>;
  /** Per-task scores, by task id. */
  readonly perTask?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}
