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
  /** Bytes of stdout and of stderr kept and allowed; more is `output_limit`. @default 1048576 */
  readonly outputBytes: number;
}

/** One program to compile or run. */
export interface ExecuteRequest {
  readonly language: Language;
  readonly mode: ExecutionMode;
  /** The complete program text (the benchmark has already joined sample, harness and wrapping). */
  readonly code: string;
  /** `run` mode: stdin for each case; one empty case when absent. */
  readonly stdin?: readonly string[];
  /** Overrides of the executor's default limits. */
  readonly limits?: Partial<Limits>;
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
