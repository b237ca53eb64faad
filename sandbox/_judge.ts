/**
 * Turns what the launcher saw into an {@linkcode Execution}. Only what the launcher observed
 * itself (wait status, resource usage, its own kills, the OOM counter, a trusted init's report)
 * and what the program's process said before the program started (a SyntaxError) decide a
 * status; what a
 * program can write (its exit code, stdout, stderr, the exception class it reports) never
 * improves one. The rules, in order, for a step:
 *
 * 1. the launcher could not start it: `sandbox_error`;
 * 2. killed at the wall-clock limit; the CPU time of all its processes together past the CPU
 *    limit (killed, or found at the end); or killed by the CPU-time rlimit (SIGXCPU, or SIGKILL,
 *    which the kernel sends a second after SIGXCPU), with at least half the CPU limit used (as
 *    the kernel's CPU clock and the reported one differ on a loaded virtual machine; a program
 *    that sends itself SIGXCPU early is a crash): `timeout`;
 * 3. stdout or stderr passed `outputBytes` (or the execution's output budget), or a file passed
 *    `fileSizeMb` (SIGXFSZ): `output_limit`;
 * 4. killed by the OOM killer (memory cgroup); or Python's uncaught `MemoryError`, or the
 *    runtime's own out-of-heap message (the JVM's, Mono's, V8's; see the row's `outOfMemory`),
 *    with a peak resident size that backs it (half the limit for Python, a quarter for runtimes
 *    that hold their heap below the limit): `memory_limit`;
 * 5. Python's `SyntaxError` (the launcher compiles before it runs): `compile_error`;
 * 6. exit status 0: `passed`, except in `test` mode with a harness run in-process (Python),
 *    where the tests must also have run to their end (the launcher's token), else `failed`;
 * 7. killed by any other signal (a crash): `runtime_error`, except in `test` mode the signal
 *    with which the language's assertions end (C's `assert()`: SIGABRT after glibc's
 *    "Assertion ... failed." message): `failed`;
 * 8. otherwise a non-zero exit. In `test` mode that is `failed` (an assertion, a test main
 *    that exits 1), except Python's uncaught exceptions other than `AssertionError`, which are
 *    `runtime_error`. In `run` mode it is `runtime_error` (the benchmark compares stdout and
 *    decides what is a wrong answer).
 *
 * A failing `check` or `build` step is a `compile_error` (or its timeout, memory limit, ...).
 * For interpreted languages a failed run is rechecked with the row's `check`, so that a syntax
 * error is a `compile_error` there too.
 *
 * @module
 */

import type {
  BuildResult,
  CaseResult,
  Execution,
  ExecutionMode,
  ExecutionStatus,
} from "../src/types.ts";
import type { Plan } from "./_plan.ts";
import type { Limits } from "./types.ts";
import type { StepResult } from "./_zygote.ts";

const SIGKILL = 9;
const SIGXCPU = 24;
const SIGXFSZ = 25;

/** What {@linkcode stepStatus} needs to know of the plan beyond the step. */
export type StepContext = Partial<Pick<Plan, "assertion" | "outOfMemory" | "needsEnd">>;

/** The status of one step; `mode` is `compile` for `check` and `build` steps. */
export function stepStatus(
  step: StepResult,
  mode: ExecutionMode,
  limits: Limits,
  context: StepContext = {},
): ExecutionStatus {
  const { assertion, outOfMemory, needsEnd } = context;
  if (step.setupError) return "sandbox_error";
  if (timedOut(step, limits)) return "timeout";
  if (step.outputExceeded || step.signal === SIGXFSZ) {
    return mode === "compile" ? "compile_error" : "output_limit";
  }
  if (outOfMemoryKill(step, limits, outOfMemory)) return "memory_limit";
  if (step.pyError === "syntax") return "compile_error";
  if (step.exitCode === 0 && step.signal === null) {
    return mode === "test" && needsEnd && step.ended !== true ? "failed" : "passed";
  }
  if (mode === "compile") return "compile_error";
  if (mode === "test" && assertion && step.signal === assertion.signal) {
    if (assertion.stderr.test(step.stderr)) return "failed";
  }
  if (step.signal !== null) return "runtime_error";
  if (mode === "test" && step.pyError !== "exception") return "failed";
  return "runtime_error";
}

function timedOut(step: StepResult, limits: Limits): boolean {
  if (step.timedOut || step.cpuExceeded || step.cpuMs > limits.cpuMs) return true;
  const byRlimit = step.signal === SIGXCPU ||
    (step.signal === SIGKILL && !step.oomKilled && step.outputExceeded === null);
  return byRlimit && step.cpuMs >= limits.cpuMs / 2;
}

function outOfMemoryKill(
  step: StepResult,
  limits: Limits,
  outOfMemory: RegExp | undefined,
): boolean {
  if (step.oomKilled) return true;
  const limitKb = limits.memoryMb * 1024;
  if (step.pyError === "memory") return step.maxRssKb >= limitKb / 2;
  return outOfMemory !== undefined && step.exitCode !== 0 && outOfMemory.test(step.stderr) &&
    step.maxRssKb >= limitKb / 4;
}

/** Why a run that exited 0 still failed, for the sample's stderr. */
const NOT_ENDED = "ppocoder: the program ended before its tests ran to their end";

/** Whether a failed run is worth the row's syntax check (it exited non-zero on its own). */
export function needsRecheck(plan: Plan, steps: readonly StepResult[]): boolean {
  if (!plan.recheck) return false;
  return steps.some((step) =>
    stepStatus(step, plan.mode, plan.limits) !== "passed" &&
    step.exitCode !== null && step.exitCode !== 0 && !step.timedOut && !step.outputExceeded
  );
}

/** Judges the launcher's results of `plan`; `recheck` is the syntax check's, when one ran. */
export function judge(
  plan: Plan,
  steps: readonly StepResult[],
  recheck: StepResult | null = null,
  files?: Readonly<Record<string, string>>,
): Execution {
  const fetched = files ? { files } : {};
  const totals = {
    wallMs: round(sum(steps, (s) => s.wallMs) + (recheck?.wallMs ?? 0)),
    cpuMs: round(sum(steps, (s) => s.cpuMs) + (recheck?.cpuMs ?? 0)),
    peakMemoryKb: Math.max(0, ...steps.map((s) => s.maxRssKb)),
  };
  if (plan.buildIndex >= 0) {
    const build = steps[plan.buildIndex];
    if (!build) return sandboxError("the launcher returned no result for the build step");
    const status = stepStatus(build, "compile", plan.compileLimits);
    if (plan.mode === "compile" || status !== "passed") {
      const compiled = status === "passed";
      return {
        status,
        compiled,
        casesPassed: plan.mode === "compile" && compiled ? 1 : 0,
        casesTotal: plan.mode === "compile" ? 1 : plan.cases,
        exitCode: build.exitCode,
        ...totals,
        stdout: build.stdout,
        stderr: build.stderr,
        ...(plan.mode === "run" ? { cases: notRun(plan.cases, status) } : {}),
        signal: build.signal,
        build: buildResult(build),
        ...fetched,
      };
    }
  }
  const execution = judgeRuns(plan, steps.slice(plan.buildIndex + 1), recheck, totals);
  const build = plan.buildIndex >= 0 ? steps[plan.buildIndex] : undefined;
  return { ...execution, ...(build ? { build: buildResult(build) } : {}), ...fetched };
}

function judgeRuns(
  plan: Plan,
  runs: readonly StepResult[],
  recheck: StepResult | null,
  totals: { wallMs: number; cpuMs: number; peakMemoryKb: number },
): Execution {
  const syntaxError = recheck !== null &&
    stepStatus(recheck, "compile", plan.compileLimits) === "compile_error";
  const cases: CaseResult[] = runs.map((run) => ({
    status: syntaxError && run.exitCode !== 0
      ? "compile_error"
      : stepStatus(run, plan.mode, plan.limits, plan),
    exitCode: run.exitCode,
    stdout: run.stdout,
    stderr: run.stderr,
    wallMs: run.wallMs,
  }));
  // Cases skipped after a failing one (a syntax error, the output budget spent) share its
  // status; cases missing for any other reason are the sandbox's fault.
  const lastStatus = cases.at(-1)?.status;
  const skipped = lastStatus && lastStatus !== "passed" ? lastStatus : "sandbox_error";
  cases.push(...notRun(plan.cases - cases.length, skipped));
  const failing = cases.find((c) => c.status !== "passed");
  const last = runs.at(-1);
  const compiled = !cases.some((c) => c.status === "compile_error");
  const notEnded = plan.needsEnd && last !== undefined && last.exitCode === 0 &&
    last.signal === null && last.ended !== true && failing?.status === "failed";
  const stderr = syntaxError ? recheck.stderr || recheck.stdout : last?.stderr ?? "";
  return {
    status: failing?.status ?? "passed",
    compiled,
    casesPassed: cases.filter((c) => c.status === "passed").length,
    casesTotal: plan.cases,
    exitCode: last?.exitCode ?? null,
    ...totals,
    stdout: last?.stdout ?? "",
    stderr: notEnded
      ? `${stderr}${stderr && !stderr.endsWith("\n") ? "\n" : ""}${NOT_ENDED}\n`
      : stderr,
    ...(plan.mode === "run" ? { cases } : {}),
    signal: last?.signal ?? null,
  };
}

function buildResult(step: StepResult): BuildResult {
  const { exitCode, signal, timedOut, wallMs, stdout, stderr } = step;
  return { exitCode, signal, timedOut, wallMs, stdout, stderr };
}

/** `count` cases that did not run, with the status of what stopped them. */
function notRun(count: number, status: ExecutionStatus): CaseResult[] {
  return Array.from(
    { length: Math.max(0, count) },
    () => ({ status, exitCode: null, stdout: "", stderr: "", wallMs: 0 }),
  );
}

/** An execution the sandbox could not carry out; `reason` goes to stderr. */
export function sandboxError(reason: string): Execution {
  return {
    status: "sandbox_error",
    compiled: false,
    casesPassed: 0,
    casesTotal: 0,
    exitCode: null,
    wallMs: 0,
    cpuMs: 0,
    peakMemoryKb: 0,
    stdout: "",
    stderr: `sandbox error: ${reason}`,
  };
}

function sum(steps: readonly StepResult[], value: (step: StepResult) => number): number {
  return steps.reduce((total, step) => total + value(step), 0);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
