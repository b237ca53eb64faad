/**
 * Turns what the launcher saw into an {@linkcode Execution}. The rules, in order, for a step:
 *
 * 1. the launcher could not start it: `sandbox_error`;
 * 2. killed at the wall-clock limit, or by the CPU-time limit (SIGXCPU; or SIGKILL, which
 *    the kernel sends a second after SIGXCPU, with at least half the CPU limit used, as the
 *    kernel's CPU clock and the reported one differ on a loaded virtual machine): `timeout`;
 * 3. stdout or stderr passed `outputBytes`, or a file passed `fileSizeMb` (SIGXFSZ):
 *    `output_limit`;
 * 4. killed by the OOM killer (memory cgroup), Python's uncaught `MemoryError`, or the
 *    runtime's own out-of-heap message (the JVM's, Mono's, V8's; see the row's `outOfMemory`):
 *    `memory_limit`;
 * 5. Python's `SyntaxError` (the launcher compiles before it runs): `compile_error`;
 * 6. exit status 0: `passed`;
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

import type { CaseResult, Execution, ExecutionMode, ExecutionStatus } from "../src/types.ts";
import type { Plan } from "./_plan.ts";
import type { Limits } from "./types.ts";
import type { StepResult } from "./_zygote.ts";

const SIGKILL = 9;
const SIGXCPU = 24;
const SIGXFSZ = 25;

/** The status of one step; `mode` is `compile` for `check` and `build` steps. */
export function stepStatus(
  step: StepResult,
  mode: ExecutionMode,
  limits: Limits,
  language: Partial<Pick<Plan, "assertion" | "outOfMemory">> = {},
): ExecutionStatus {
  const { assertion, outOfMemory } = language;
  if (step.setupError) return "sandbox_error";
  if (step.timedOut || step.signal === SIGXCPU || step.pyError === "cpu") return "timeout";
  const killedByUs = step.oomKilled || step.outputExceeded !== null;
  if (step.signal === SIGKILL && !killedByUs && step.cpuMs >= limits.cpuMs / 2) {
    return "timeout";
  }
  if (step.outputExceeded || step.signal === SIGXFSZ) {
    return mode === "compile" ? "compile_error" : "output_limit";
  }
  if (step.oomKilled || step.pyError === "memory") return "memory_limit";
  if (outOfMemory && step.exitCode !== 0 && outOfMemory.test(step.stderr)) return "memory_limit";
  if (step.pyError === "syntax") return "compile_error";
  if (step.exitCode === 0 && step.signal === null) return "passed";
  if (mode === "compile") return "compile_error";
  if (mode === "test" && assertion && step.signal === assertion.signal) {
    if (assertion.stderr.test(step.stderr)) return "failed";
  }
  if (step.signal !== null) return "runtime_error";
  if (mode === "test" && step.pyError !== "exception") return "failed";
  return "runtime_error";
}

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
): Execution {
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
      };
    }
  }
  return judgeRuns(plan, steps.slice(plan.buildIndex + 1), recheck, totals);
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
  // Cases skipped after a syntax error share its status.
  const skipped = cases.at(-1)?.status === "compile_error" ? "compile_error" : "sandbox_error";
  cases.push(...notRun(plan.cases - cases.length, skipped));
  const failing = cases.find((c) => c.status !== "passed");
  const last = runs.at(-1);
  const compiled = !cases.some((c) => c.status === "compile_error");
  return {
    status: failing?.status ?? "passed",
    compiled,
    casesPassed: cases.filter((c) => c.status === "passed").length,
    casesTotal: plan.cases,
    exitCode: last?.exitCode ?? null,
    ...totals,
    stdout: last?.stdout ?? "",
    stderr: syntaxError ? recheck.stderr || recheck.stdout : last?.stderr ?? "",
    ...(plan.mode === "run" ? { cases } : {}),
  };
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
