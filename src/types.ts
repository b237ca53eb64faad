/**
 * The records that join ppocoder's stages: a benchmark yields {@linkcode Task}s, a model backend
 * yields {@linkcode Sample}s, the sandbox yields {@linkcode Execution}s, and the metrics turn
 * {@linkcode SampleResult}s into a report. Every record is plain JSON so that it can be written
 * as one JSONL line and read back on resume.
 *
 * @module
 */

import type { Language } from "../sandbox/languages.ts";

export type { Language };

/** What the sandbox concluded about one execution. */
export type ExecutionStatus =
  | "passed"
  | "failed"
  | "compile_error"
  | "runtime_error"
  | "timeout"
  | "memory_limit"
  | "output_limit"
  | "sandbox_error";

/** Every status, in the order reports list them. */
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  "passed",
  "failed",
  "compile_error",
  "runtime_error",
  "timeout",
  "memory_limit",
  "output_limit",
  "sandbox_error",
];

/** How the sandbox treats a program. */
export type ExecutionMode =
  /** Does it compile (or parse, for interpreted languages)? */
  | "compile"
  /** Build once, then run once per stdin case; stdout of each case is returned. */
  | "run"
  /** Build and run the program once; it passes when it exits with status 0. */
  | "test";

/** One stdin/stdout case; `stdout` is the expected output, compared by the benchmark. */
export interface IoCase {
  readonly stdin: string;
  readonly stdout: string;
}

/**
 * How a task judges a sample. The benchmark adapter builds the program text; the sandbox only
 * compiles and runs it.
 */
export type TaskCheck =
  /** Sample code followed by `harness` (asserts, a test main) run once in `test` mode. */
  | { readonly kind: "program"; readonly harness: string; readonly setup?: string }
  /** Sample code run once per case in `run` mode; stdout compared by the benchmark. */
  | { readonly kind: "stdio"; readonly cases: readonly IoCase[] }
  /** Sample code only compiled (prefix and suffix wrap snippets into a compilable unit). */
  | { readonly kind: "compile"; readonly prefix?: string; readonly suffix?: string };

/** Free-form task facts that metrics group by (split, difficulty, source language, ...). */
export type TaskMeta = Readonly<Record<string, string | number | boolean>>;

/** One benchmark problem. */
export interface Task {
  /** Globally unique id, `<benchmark>/<native id>`, e.g. `mbpp/11`. */
  readonly id: string;
  readonly language: Language;
  /** The text a model continues or answers (before any few-shot template). */
  readonly prompt: string;
  /** Gold code, as the dataset gives it. */
  readonly reference: string;
  /** Function the tests call, where there is one. */
  readonly entryPoint?: string;
  readonly check: TaskCheck;
  readonly meta: TaskMeta;
}

/** One generation for a task: the model's raw text and the code that runs. */
export interface Sample {
  readonly taskId: string;
  /** 0-based index among the task's samples. */
  readonly index: number;
  readonly raw: string;
  readonly code: string;
}

/** Per-case result of a `run` execution. */
export interface CaseResult {
  readonly status: ExecutionStatus;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

/** What the sandbox saw for one execution. */
export interface Execution {
  readonly status: ExecutionStatus;
  /** Whether the compile (or parse) step succeeded. */
  readonly compiled: boolean;
  readonly casesPassed: number;
  readonly casesTotal: number;
  readonly exitCode: number | null;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakMemoryKb: number;
  /** Truncated stdout and stderr of the program (of the last case in `run` mode). */
  readonly stdout: string;
  readonly stderr: string;
  /** Present in `run` mode: one entry per stdin case. */
  readonly cases?: readonly CaseResult[];
  /** The signal that ended the program (the last run step), when one did. */
  readonly signal?: number | null;
  /** The compile or build step, when the language has one and it ran. */
  readonly build?: BuildResult;
  /** Files asked back with `fetchFiles` (path to base64), those that existed. */
  readonly files?: Readonly<Record<string, string>>;
}

/** What the sandbox saw of a compile or build step. */
export interface BuildResult {
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly timedOut: boolean;
  readonly wallMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One judged sample: the record written to `executions.jsonl`. */
export interface SampleResult {
  readonly taskId: string;
  readonly index: number;
  readonly execution: Execution;
}
