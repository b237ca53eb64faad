/**
 * The sandbox's public contract: what callers ask for and what they get back.
 *
 * @module
 */

import type { Execution, ExecutionMode } from "../src/types.ts";
import type { Language } from "./languages.ts";

/** Resource limits for one execution (each `run` case gets its own). */
export interface Limits {
  /** Wall-clock limit; the whole process group is killed when it passes. @default 10000 */
  readonly wallMs: number;
  /** CPU-time limit. @default 10000 */
  readonly cpuMs: number;
  /** Memory limit in MiB. @default 1024 */
  readonly memoryMb: number;
  /** Processes and threads. @default 64 */
  readonly processes: number;
  /** Largest file the program may write, in MiB. @default 64 */
  readonly fileSizeMb: number;
  /** Open file descriptors. @default 256 */
  readonly openFiles: number;
  /**
   * Bytes of stdout and of stderr allowed per run; more is `output_limit`. All the runs of one
   * execution together may write at most {@linkcode OUTPUT_BUDGET_FACTOR} times this (plus the
   * compile step's own), so that what the harness holds for one sample is bounded however many
   * cases it has. @default 1048576
   */
  readonly outputBytes: number;
}

/** How many times `outputBytes` all the steps of one execution may write together. */
export const OUTPUT_BUDGET_FACTOR = 32;

/** One program to compile or run. */
export interface ExecuteRequest {
  readonly language: Language;
  readonly mode: ExecutionMode;
  /** The program text (the benchmark has joined sample and wrapping). */
  readonly code: string;
  /**
   * `test` mode: the tests, run after `code` as part of the same program; the execution passes
   * only when they ran to their end, not when the program merely exited 0. For Python (run
   * in-process by the launcher) they are compiled and run on their own, in the program's
   * namespace, after the program's top-level code has finished, and are not in the program's
   * files or memory before that; the proof that they ran to their end is a token the program
   * never sees. For other languages they are appended to `code` (one compilation unit) and the
   * exit status decides, as in those languages' own harnesses.
   */
  readonly harness?: string;
  /**
   * With `harness`: the program's function the tests call. The tests see the program's names,
   * but not those that shadow a builtin (a program's own `abs` must not judge it), except this.
   */
  readonly entryPoint?: string;
  /** `run` mode: stdin for each case; one empty case when absent. */
  readonly stdin?: readonly string[];
  /** Overrides of the executor's default limits (for the program's runs). */
  readonly limits?: Partial<Limits>;
  /** Overrides of the executor's compile limits (for `check` and `build` steps). */
  readonly compileLimits?: Partial<Limits>;
  /** More files for the work dir, by relative path, base64-encoded. */
  readonly files?: Readonly<Record<string, string>>;
  /** Work-dir paths to read back after the run (into `Execution.files`). */
  readonly fetchFiles?: readonly string[];
}

/** How executions are isolated; `none` only when asked for, and always recorded. */
export type IsolationMode = "bwrap" | "none";

/** A detected interpreter or compiler. */
export interface ToolchainInfo {
  readonly language: Language;
  /** Resolved real path of the main tool. */
  readonly path: string;
  readonly version: string;
}

/** Options of {@linkcode Executor} creation. */
export interface ExecutorOptions {
  /** @default "bwrap" */
  readonly isolation?: IsolationMode;
  /** Concurrent executions. @default the number of CPU cores */
  readonly workers?: number;
  /** Default limits for every execution. */
  readonly limits?: Partial<Limits>;
  /** Languages to prepare (toolchains resolved once, up front). @default ["python"] */
  readonly languages?: readonly Language[];
  /**
   * Limits of the compile and syntax-check steps (`compile` mode, and the build before `run`
   * and `test`); a request's `limits` apply to the program's runs only.
   * @default wall and CPU 60 s, 2048 MiB, 128 processes, files 256 MiB, 1024 files, 1 MiB output
   */
  readonly compileLimits?: Partial<Limits>;
  /** Folder of the shared read-only build caches (Go). @default ~/.cache/ppocoder/sandbox */
  readonly cacheDir?: string;
  /**
   * Takes requests to another service before the workers see them: returns the execution, or
   * `undefined` to leave the request to the workers. For example compile-mode requests of Java,
   * C#, C and C++ to the fast checker in `sandbox/compile/`.
   */
  readonly route?: (request: ExecuteRequest) => Promise<Execution | undefined> | undefined;
  /**
   * Send compile-mode Java, C#, C and C++ requests (without per-request limits) to the fast
   * compile checker in `sandbox/compile/`, whose verdicts equal the plain compiler's.
   * @default true with bwrap isolation, false with none
   */
  readonly fastCompile?: boolean;
}

/** A pool of isolated workers. */
export interface Executor {
  readonly isolation: IsolationMode;
  readonly limits: Limits;
  /** Limits of compile and syntax-check steps. */
  readonly compileLimits?: Limits;
  readonly workers: number;
  /**
   * How the isolation degraded, for reports: e.g. no memory cgroup, so memory is limited by
   * RLIMIT_DATA instead. Empty when every mechanism is in place.
   */
  readonly notes?: readonly string[];
  /** Toolchains resolved for the prepared languages, with versions (for reports). */
  readonly toolchains: readonly ToolchainInfo[];
  execute(request: ExecuteRequest): Promise<Execution>;
  close(): Promise<void>;
}
