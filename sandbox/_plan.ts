/**
 * Turns an {@linkcode ExecuteRequest} into the launcher's steps, from the language's row alone.
 *
 * - `compile`: the row's `check`, under the compile limits.
 * - `test`: `build` (when the row has one) under the compile limits, then `run` once.
 * - `run`: `build`, then `run` once per stdin case, each case under the request's limits.
 *
 * @module
 */

import type { ExecutionMode } from "../src/types.ts";
import type { CommandTemplate, LanguageSpec } from "./languages.ts";
import { LANGUAGES } from "./languages.ts";
import type { Toolchain } from "./toolchains.ts";
import { type ExecuteRequest, type Limits, OUTPUT_BUDGET_FACTOR } from "./types.ts";
import type { ZygoteRequest, ZygoteStep } from "./_zygote.ts";

/** What the executor needs to know to run and then judge one request. */
export interface Plan {
  readonly mode: ExecutionMode;
  readonly request: ZygoteRequest;
  /** Index of the step whose failure is a compile error (`check` or `build`), or -1. */
  readonly buildIndex: number;
  /** Number of run steps (cases) planned after the build. */
  readonly cases: number;
  readonly limits: Limits;
  readonly compileLimits: Limits;
  /** For interpreted rows: the syntax check to run when a run fails, to tell compile errors. */
  readonly recheck: ZygoteRequest | null;
  /** How the language's failed assertions end, where that is by a signal. */
  readonly assertion: LanguageSpec["assertion"];
  /** What the runtime prints when it runs out of its own heap. */
  readonly outOfMemory: LanguageSpec["outOfMemory"];
  /**
   * Whether a run passes only with the launcher's proof that the tests ran to their end (a
   * `test`-mode request with a harness, run in-process by the Python launcher).
   */
  readonly needsEnd: boolean;
}

/** Settings of the executor that every plan uses. */
export interface PlanContext {
  readonly toolchain: Toolchain;
  readonly limits: Limits;
  readonly compileLimits: Limits;
  /** Whether a memory cgroup holds the memory limit; else RLIMIT_DATA does. */
  readonly memoryCgroup: boolean;
  /** PATH of every step (the toolchains' folders first). */
  readonly path: string;
}

/** Plans `request`; `limits` are the executor's defaults merged with the request's own. */
export function planExecution(request: ExecuteRequest, context: PlanContext): Plan {
  const spec: LanguageSpec = LANGUAGES[request.language];
  const { limits, compileLimits } = context;
  const inProcess = spec.run === "python:run";
  const harness = request.mode === "test" ? request.harness : undefined;
  // Elsewhere than in-process Python, the tests and the program are one compilation unit.
  const code = harness !== undefined && !inProcess ? `${request.code}\n${harness}` : request.code;
  const files = { ...extraFiles(request), [spec.sourceFile]: code };
  const boxMb = Math.max(256, 2 * Math.max(limits.fileSizeMb, compileLimits.fileSizeMb));
  const outputBudget = OUTPUT_BUDGET_FACTOR * limits.outputBytes + compileLimits.outputBytes;
  const common = {
    files,
    boxMb,
    outputBudget,
    ...(request.fetchFiles?.length ? { fetchFiles: request.fetchFiles } : {}),
  };
  const step = (template: CommandTemplate, stepLimits: Limits, stdin: string | null = null) =>
    makeStep(template, spec, context, stepLimits, stdin);
  const buildStep = (template: CommandTemplate): ZygoteStep => ({
    ...step(template, compileLimits),
    ...(spec.buildCache ? { cache: spec.buildCache } : {}),
  });
  const base = {
    mode: request.mode,
    limits,
    compileLimits,
    assertion: spec.assertion,
    outOfMemory: spec.outOfMemory,
  };
  if (request.mode === "compile") {
    return {
      ...base,
      request: { ...common, steps: [buildStep(spec.check)] },
      buildIndex: 0,
      cases: 0,
      recheck: null,
      needsEnd: false,
    };
  }
  const needsEnd = harness !== undefined && inProcess;
  const steps: ZygoteStep[] = [];
  if (spec.build) steps.push({ ...buildStep(spec.build), stopUnlessOk: true });
  const inputs = request.mode === "run" ? (request.stdin?.length ? request.stdin : [""]) : [null];
  const withHarness = needsEnd
    ? { harness: true, ...(request.entryPoint ? { entryPoint: request.entryPoint } : {}) }
    : {};
  for (const input of inputs) steps.push({ ...step(spec.run, limits, input), ...withHarness });
  const interpreted = !spec.build && typeof spec.check !== "string";
  return {
    ...base,
    request: {
      ...common,
      steps,
      stopOnSyntaxError: true,
      ...(needsEnd ? { harness } : {}),
    },
    buildIndex: spec.build ? 0 : -1,
    cases: inputs.length,
    recheck: interpreted ? { files, boxMb, steps: [buildStep(spec.check)] } : null,
    needsEnd,
  };
}

/** The request's extra files, decoded; a path must stay inside the work dir. */
function extraFiles(request: ExecuteRequest): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const [path, base64] of Object.entries(request.files ?? {})) {
    const parts = path.split("/");
    if (path.startsWith("/") || parts.some((p) => p === ".." || p === "." || p === "")) {
      throw new RangeError(
        `Cannot write the file "${path}" as its path must be relative and stay in the work ` +
          `dir: use a path such as "data/input.txt"`,
      );
    }
    files[path] = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }
  return files;
}

function makeStep(
  template: CommandTemplate,
  spec: LanguageSpec,
  context: PlanContext,
  limits: Limits,
  stdin: string | null,
): ZygoteStep {
  const env = { PATH: context.path, LANG: "C.UTF-8", ...spec.env };
  const byRlimit = !context.memoryCgroup && spec.rlimitData !== false;
  const stepLimits = byRlimit ? { ...limits, dataMb: limits.memoryMb } : limits;
  const common = { env, limits: stepLimits, stdin };
  if (template === "python:compile") {
    return { ...common, python: spec.sourceFile, compileOnly: true };
  }
  if (template === "python:run") return { ...common, python: spec.sourceFile };
  const values: Record<string, string> = {
    file: spec.sourceFile,
    heapMb: String(Math.max(16, Math.floor(limits.memoryMb * 3 / 4))),
  };
  for (const [name, tool] of Object.entries(context.toolchain.tools)) values[name] = tool.path;
  const argv = template.map((arg) =>
    arg.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole)
  );
  return { ...common, argv };
}
