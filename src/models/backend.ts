/**
 * The interface every generation backend implements.
 *
 * @module
 */

import type { Sample, Task } from "../types.ts";

/** Sampling settings; the ones that define a metric (n) go into the comparability key. */
export interface Sampling {
  /** Samples per task. @default 1 */
  readonly n: number;
  /** @default 0 (greedy) */
  readonly temperature: number;
  /** @default 1 */
  readonly topP: number;
  /** 0 means no top-k cut. PPOCoder's "action space size". @default 0 */
  readonly topK: number;
  /** @default 512 */
  readonly maxTokens: number;
  readonly stop: readonly string[];
  /** @default 0 */
  readonly seed: number;
}

/** What the generation stage asks a backend for: one prompt, `n` completions. */
export interface GenerationRequest {
  readonly task: Task;
  /** The rendered prompt (benchmark template applied). */
  readonly prompt: string;
  readonly sampling: Sampling;
  /** Sample indices still missing (on resume, the ones already generated are skipped). */
  readonly indices: readonly number[];
}

/** One raw completion from a backend. */
export interface Generation {
  readonly index: number;
  /** Completion text (continuation of the prompt, or the chat answer). */
  readonly raw: string;
  /**
   * Whether `raw` is already a whole program (gold code, an EvalPlus `solution`) rather than a
   * completion to join with the prompt and sanitize.
   */
  readonly isProgram?: boolean;
  /** Tokens used, where the backend knows. */
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

/** Identity of a backend, recorded in reports. */
export interface ModelIdentity {
  /** Backend name: `reference`, `samples`, `openai`, `onnx`, `tfjs`. */
  readonly backend: string;
  /** Model id, file or path, as given. */
  readonly id: string;
  /** Backend settings that shape generations (endpoint, dtype, sha256 of a samples file, ...). */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
}

/** Tokens a backend has used since it was opened, summed for the report. */
export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Model calls made: HTTP requests (retries included), or decoder batches. */
  readonly requests: number;
}

/** A generation backend. */
export interface ModelBackend {
  readonly identity: ModelIdentity;
  /**
   * Completions for one task. Backends may batch internally; the caller streams every returned
   * generation to `generations.jsonl` before asking for more, so no generation is paid twice.
   */
  generate(request: GenerationRequest): Promise<readonly Generation[]>;
  /**
   * Requests the backend serves at once (an HTTP server's requests in flight): the generation
   * stage keeps this many tasks in flight. @default 4
   */
  readonly concurrency?: number;
  /** Whether `raw` is already code (reference, samples) rather than text to sanitize. */
  readonly yieldsCode: boolean;
  /**
   * How the raw text reads, for `sanitize()`: a continuation of the prompt, or a chat answer
   * (code usually in a fenced block). @default "completion"
   */
  readonly style?: "completion" | "chat";
  /**
   * Samples per task the backend holds, where that is fixed (a samples file): the default `n`.
   * Throws when some of `tasks` have none.
   */
  samplesPerTask?(tasks: readonly Task[]): number;
  /**
   * Where the samples come from when no sampling settings shaped them ("samples file", "gold
   * code"): reports say the sampling is unknown, and raw text runs verbatim by default. Absent
   * for backends that sample from a model.
   */
  readonly samplingSource?: string;
  /**
   * The tasks of a split this backend has samples for (a samples file), in the split's order;
   * throws when it names a task the split does not have.
   */
  coveredTasks?(tasks: readonly Task[], split: string): readonly Task[];
  /** Token usage summed since the backend was opened, where the backend counts it. */
  usage?(): TokenUsage;
  close(): Promise<void>;
}

/** A sample as stored in `generations.jsonl`. */
export type GenerationRecord = Sample & {
  /** The rendered prompt the backend was given (for the leaderboard's task view). */
  readonly prompt?: string;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
};
