/**
 * SandboxFusion's `/run_code` API, spoken over ppocoder's executor: the request and response
 * models of `sandbox/server/sandbox_api.py` and `sandbox/runners/types.py` in
 * bytedance/SandboxFusion, the shape rules its runners follow (`sandbox/runners/base.py`), and the
 * translation to and from {@linkcode ExecuteRequest} and {@linkcode Execution}. Pure: no I/O.
 *
 * The shape rules, as SandboxFusion's runners produce them and verl's `sandbox_fusion` client and
 * the `sandbox-fusion` PyPI client read them:
 *
 * 1. `compile_result` is present only for languages with a build step; `run_result` is null when
 *    that build did not finish with return code 0.
 * 2. A command that hit its time limit is `TimeLimitExceeded` with `return_code` null; one that
 *    finished is `Finished` with its return code, negative (`-N`) when signal N ended it, and
 *    `stdout` and `stderr` always strings.
 * 3. The top-level `status` is `SandboxError` when a command could not run (`message` says why),
 *    else `Failed` when a command timed out or returned non-zero, else `Success`; `message` is
 *    empty unless `SandboxError`.
 *
 * ppocoder's own verdict and measurements travel in an added `ppocoder` field, which both clients
 * ignore (pydantic's default, and verl reads only the fields it knows).
 *
 * @module
 */

import type { Execution, ExecutionStatus } from "../../src/types.ts";
import { type Language, LANGUAGES, type LanguageSpec } from "../languages.ts";
import type { ExecuteRequest, IsolationMode, Limits } from "../types.ts";

/**
 * SandboxFusion's language names (its `Language` literal: the server's, in its order, then those
 * the `sandbox-fusion` 0.3.7 client adds). A name outside this list (and ppocoder's `c`) is a
 * validation error (HTTP 422), as in SandboxFusion; a name in it that this service does not run
 * is a `SandboxError`.
 */
export const FUSION_LANGUAGE_NAMES = [
  "python",
  "cpp",
  "nodejs",
  "go",
  "go_test",
  "java",
  "php",
  "csharp",
  "bash",
  "typescript",
  "sql",
  "rust",
  "cuda",
  "lua",
  "R",
  "perl",
  "D_ut",
  "ruby",
  "scala",
  "julia",
  "pytest",
  "junit",
  "kotlin_script",
  "jest",
  "verilog",
  "python_gpu",
  "lean",
  "swift",
  "racket",
  "python2",
  "gtest",
  "react",
] as const;

/** How one SandboxFusion language name maps onto an executor language. */
export interface FusionLanguage {
  readonly language: Language;
  /** Prepended (after leading whitespace is dropped) when the code does not start with it. */
  readonly openTag?: string;
}

/** The names this service runs: SandboxFusion's, and `c` as ppocoder's extension. */
export const FUSION_LANGUAGES = {
  python: { language: "python" },
  cpp: { language: "cpp" },
  nodejs: { language: "javascript" },
  go: { language: "go" },
  java: { language: "java" },
  // SandboxFusion's PHP runner adds the opening tag when the snippet lacks it.
  php: { language: "php", openTag: "<?php" },
  csharp: { language: "csharp" },
  typescript: { language: "typescript" },
  rust: { language: "rust" },
  c: { language: "c" },
} as const satisfies Record<string, FusionLanguage>;

/** A language name this service runs. */
export type FusionLanguageName = keyof typeof FUSION_LANGUAGES;

/** SandboxFusion's default compile and run timeouts, in seconds. */
export const FUSION_DEFAULT_TIMEOUT_S = 10;

/** The body of `POST /run_code` (fields as SandboxFusion names them). */
export interface RunCodeRequest {
  readonly code: string;
  readonly language: string;
  /** Seconds. @default 10 */
  readonly compile_timeout?: number;
  /** Seconds. @default 10 */
  readonly run_timeout?: number;
  /** Megabytes; -1 (the default) leaves the executor's own limit. */
  readonly memory_limit_MB?: number;
  readonly stdin?: string | null;
  /** Path to base64 content; null values are skipped. */
  readonly files?: Readonly<Record<string, string | null>>;
  readonly fetch_files?: readonly string[];
}

/** How one command ended, as SandboxFusion's `CommandRunStatus`. */
export type CommandRunStatus = "Finished" | "Error" | "TimeLimitExceeded";

/** One command's result, as SandboxFusion's `CommandRunResult`. */
export interface CommandRunResult {
  readonly status: CommandRunStatus;
  /** Seconds. */
  readonly execution_time: number | null;
  readonly return_code: number | null;
  readonly stdout: string | null;
  readonly stderr: string | null;
}

/** The top-level outcome, as SandboxFusion's `RunStatus`. */
export type RunStatus = "Success" | "Failed" | "SandboxError";

/** ppocoder's own fields of a response, which SandboxFusion's clients ignore. */
export interface PpocoderExtras {
  /** The executor's verdict (`memory_limit`, `output_limit`, ... which SandboxFusion lacks). */
  readonly status: ExecutionStatus;
  /** Signal that ended the run, where one did. */
  readonly signal: number | null;
  readonly wall_ms: number;
  readonly cpu_ms: number;
  readonly peak_memory_kb: number;
  readonly isolation: IsolationMode;
  /** The limits the run had (the compile step had `compile_limits`). */
  readonly limits: Limits;
  readonly compile_limits: Partial<Limits>;
}

/** The answer of `POST /run_code`, as SandboxFusion's `RunCodeResponse`, plus `ppocoder`. */
export interface RunCodeResponse {
  readonly status: RunStatus;
  readonly message: string;
  readonly compile_result: CommandRunResult | null;
  readonly run_result: CommandRunResult | null;
  readonly executor_pod_name: string | null;
  readonly files: Readonly<Record<string, string>>;
  readonly ppocoder?: PpocoderExtras;
}

/** One entry of a validation error, in the shape FastAPI gives a 422 answer. */
export interface ValidationIssue {
  readonly type: string;
  readonly loc: readonly (string | number)[];
  readonly msg: string;
  readonly input: unknown;
}

/** What {@linkcode parseRunCode} makes of a body. */
export type ParsedRunCode =
  | {
    readonly kind: "request";
    readonly request: ExecuteRequest;
    readonly name: FusionLanguageName;
  }
  /** A language SandboxFusion knows but this service does not run: a `SandboxError`. */
  | { readonly kind: "unsupported"; readonly language: string }
  /** A body that does not fit the model: HTTP 422 with these issues. */
  | { readonly kind: "invalid"; readonly issues: readonly ValidationIssue[] };

/**
 * Validates a `/run_code` body and turns it into one `run` execution with one stdin case.
 * `run_timeout` becomes the wall-clock and (in whole seconds, at least one) CPU-time limit of the
 * run, `compile_timeout` the same of the build, `memory_limit_MB` > 0 the memory limit.
 */
export function parseRunCode(body: unknown): ParsedRunCode {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return invalid([
      issue("model_attributes_type", [], "Input should be a valid dictionary", body),
    ]);
  }
  const fields = body as Record<string, unknown>;
  const issues: ValidationIssue[] = [];
  const code = requiredString(fields, "code", issues);
  const language = requiredString(fields, "language", issues);
  const compileS = positiveSeconds(fields, "compile_timeout", issues);
  const runS = positiveSeconds(fields, "run_timeout", issues);
  const memoryMb = integerField(fields, "memory_limit_MB", issues) ?? -1;
  const stdin = optionalString(fields, "stdin", issues);
  const files = fileMap(fields, issues);
  const fetchFiles = stringList(fields, "fetch_files", issues);
  if (language !== undefined && !isKnownName(language)) {
    const expected = [...FUSION_LANGUAGE_NAMES, "c"].map((n) => `'${n}'`).join(", ");
    issues.push(issue("literal_error", ["language"], `Input should be ${expected}`, language));
  }
  if (issues.length > 0 || code === undefined || language === undefined) return invalid(issues);
  if (!isServedName(language)) return { kind: "unsupported", language };
  const row: FusionLanguage = FUSION_LANGUAGES[language];
  const runMs = toMs(runS);
  const compileMs = toMs(compileS);
  const request: ExecuteRequest = {
    language: row.language,
    mode: "run",
    code: withOpenTag(code, row.openTag),
    stdin: [stdin ?? ""],
    limits: {
      wallMs: runMs,
      cpuMs: cpuMsFor(runMs),
      ...(memoryMb > 0 ? { memoryMb } : {}),
    },
    compileLimits: { wallMs: compileMs, cpuMs: cpuMsFor(compileMs) },
    ...(Object.keys(files).length > 0 ? { files } : {}),
    ...(fetchFiles.length > 0 ? { fetchFiles } : {}),
  };
  return { kind: "request", request, name: language };
}

/** Context of one answer: where it ran and under which limits. */
export interface ResponseContext {
  readonly isolation: IsolationMode;
  readonly limits: Limits;
  readonly compileLimits: Partial<Limits>;
  /** `MY_POD_NAME`, as SandboxFusion reports it (null outside Kubernetes). */
  readonly podName: string | null;
}

/** Turns one `run` execution of `language` into SandboxFusion's answer. */
export function toRunCodeResponse(
  execution: Execution,
  language: Language,
  context: ResponseContext,
): RunCodeResponse {
  const extras = extrasOf(execution, context);
  if (execution.status === "sandbox_error") {
    return {
      status: "SandboxError",
      message: execution.stderr,
      compile_result: null,
      run_result: null,
      executor_pod_name: context.podName,
      files: {},
      ppocoder: extras,
    };
  }
  const spec: LanguageSpec = LANGUAGES[language];
  const compile = spec.build === undefined ? null : compileResult(execution);
  const built = compile === null ||
    (compile.status === "Finished" && compile.return_code === 0);
  const run = built ? runResult(execution) : null;
  return {
    status: runStatus(compile, run),
    message: "",
    compile_result: compile,
    run_result: run,
    executor_pod_name: context.podName,
    files: { ...execution.files },
    ppocoder: extras,
  };
}

/** An answer for a language SandboxFusion knows but this service does not run. */
export function unsupportedResponse(
  language: string,
  served: readonly string[],
  podName: string | null,
): RunCodeResponse {
  return sandboxErrorResponse(
    `Cannot run "${language}" code as this sandbox does not run it: use one of ${
      served.join(", ")
    }`,
    podName,
  );
}

/** An answer for a request the sandbox could not carry out (`message` says why). */
export function sandboxErrorResponse(message: string, podName: string | null): RunCodeResponse {
  return {
    status: "SandboxError",
    message,
    compile_result: null,
    run_result: null,
    executor_pod_name: podName,
    files: {},
  };
}

/**
 * SandboxFusion's rule for the top-level status: `Failed` when a command timed out or returned
 * non-zero, else `Success` (an `Error` command makes the whole answer a `SandboxError`).
 */
export function runStatus(
  compile: CommandRunResult | null,
  run: CommandRunResult | null,
): RunStatus {
  const results = [compile, run].filter((r): r is CommandRunResult => r !== null);
  if (results.some((r) => r.status === "Error")) return "SandboxError";
  if (results.some((r) => r.status === "TimeLimitExceeded")) return "Failed";
  if (results.some((r) => r.return_code !== null && r.return_code !== 0)) return "Failed";
  return "Success";
}

/** The build step: from `execution.build` where the executor reports it. */
function compileResult(execution: Execution): CommandRunResult {
  const build = execution.build;
  if (build) {
    return command(build.timedOut, build.wallMs, build.exitCode, build.signal, build);
  }
  // An executor without `build` records the build's own outcome when the build failed.
  if (!execution.compiled) {
    const timedOut = execution.status === "timeout";
    return command(timedOut, execution.wallMs, execution.exitCode, null, execution);
  }
  const runMs = execution.cases?.[0]?.wallMs ?? 0;
  return command(false, Math.max(0, execution.wallMs - runMs), 0, null, { stdout: "", stderr: "" });
}

/** The run step: the execution's single case. */
function runResult(execution: Execution): CommandRunResult {
  const only = execution.cases?.[0];
  const timedOut = (only?.status ?? execution.status) === "timeout";
  const exitCode = only ? only.exitCode : execution.exitCode;
  const wallMs = only ? only.wallMs : execution.wallMs;
  return command(timedOut, wallMs, exitCode, execution.signal ?? null, only ?? execution);
}

function command(
  timedOut: boolean,
  wallMs: number,
  exitCode: number | null,
  signal: number | null | undefined,
  output: { readonly stdout: string; readonly stderr: string },
): CommandRunResult {
  const seconds = Math.round(wallMs) / 1000;
  const { stdout, stderr } = output;
  if (timedOut) {
    return {
      status: "TimeLimitExceeded",
      execution_time: seconds,
      return_code: null,
      stdout,
      stderr,
    };
  }
  const code = signal ? -signal : exitCode;
  return { status: "Finished", execution_time: seconds, return_code: code, stdout, stderr };
}

function extrasOf(execution: Execution, context: ResponseContext): PpocoderExtras {
  return {
    status: execution.status,
    signal: execution.signal ?? null,
    wall_ms: execution.wallMs,
    cpu_ms: execution.cpuMs,
    peak_memory_kb: execution.peakMemoryKb,
    isolation: context.isolation,
    limits: context.limits,
    compile_limits: context.compileLimits,
  };
}

function isKnownName(name: string): boolean {
  return (FUSION_LANGUAGE_NAMES as readonly string[]).includes(name) || isServedName(name);
}

function isServedName(name: string): name is FusionLanguageName {
  return Object.hasOwn(FUSION_LANGUAGES, name);
}

function withOpenTag(code: string, tag: string | undefined): string {
  if (tag === undefined) return code;
  const trimmed = code.trimStart();
  return trimmed.startsWith(tag) ? trimmed : `${tag}\n${trimmed}`;
}

/** Seconds to whole milliseconds, at least 1. */
function toMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000));
}

/** RLIMIT_CPU counts whole seconds: the CPU limit is the wall limit rounded up, at least 1 s. */
function cpuMsFor(wallMs: number): number {
  return Math.max(1, Math.ceil(wallMs / 1000)) * 1000;
}

function invalid(issues: readonly ValidationIssue[]): ParsedRunCode {
  return { kind: "invalid", issues };
}

function issue(type: string, field: (string | number)[], msg: string, input: unknown) {
  return { type, loc: ["body", ...field], msg, input };
}

function requiredString(
  fields: Record<string, unknown>,
  name: string,
  issues: ValidationIssue[],
): string | undefined {
  const value = fields[name];
  if (value === undefined) {
    issues.push(issue("missing", [name], "Field required", fields));
    return undefined;
  }
  if (typeof value !== "string") {
    issues.push(issue("string_type", [name], "Input should be a valid string", value));
    return undefined;
  }
  return value;
}

function optionalString(
  fields: Record<string, unknown>,
  name: string,
  issues: ValidationIssue[],
): string | null {
  const value = fields[name];
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  issues.push(issue("string_type", [name], "Input should be a valid string", value));
  return null;
}

function positiveSeconds(
  fields: Record<string, unknown>,
  name: string,
  issues: ValidationIssue[],
): number {
  const value = fields[name];
  if (value === undefined || value === null) return FUSION_DEFAULT_TIMEOUT_S;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    issues.push(issue("float_type", [name], "Input should be a valid number", value));
    return FUSION_DEFAULT_TIMEOUT_S;
  }
  if (value <= 0) {
    issues.push(issue("greater_than", [name], "Input should be greater than 0", value));
  }
  return value;
}

function integerField(
  fields: Record<string, unknown>,
  name: string,
  issues: ValidationIssue[],
): number | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    issues.push(issue("int_type", [name], "Input should be a valid integer", value));
    return undefined;
  }
  return value;
}

function fileMap(fields: Record<string, unknown>, issues: ValidationIssue[]) {
  const value = fields.files;
  const files: Record<string, string> = {};
  if (value === undefined || value === null) return files;
  if (typeof value !== "object" || Array.isArray(value)) {
    issues.push(issue("dict_type", ["files"], "Input should be a valid dictionary", value));
    return files;
  }
  for (const [path, content] of Object.entries(value)) {
    if (content === null) continue;
    if (typeof content === "string") files[path] = content;
    else {issues.push(
        issue("string_type", ["files", path], "Input should be a valid string", content),
      );}
  }
  return files;
}

function stringList(
  fields: Record<string, unknown>,
  name: string,
  issues: ValidationIssue[],
): string[] {
  const value = fields[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    issues.push(issue("list_type", [name], "Input should be a valid list", value));
    return [];
  }
  return value.filter((item, index) => {
    if (typeof item === "string") return true;
    issues.push(issue("string_type", [name, index], "Input should be a valid string", item));
    return false;
  });
}
