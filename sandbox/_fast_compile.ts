/**
 * Routes the executor's `compile` requests for Java, C#, C and C++ to the fast compile checker
 * (`compile/`), whose verdict equals the plain compiler's under the same limits. The checker is
 * started on the first such request, so runs that never compile those languages pay nothing.
 *
 * @module
 */

import { createCompileChecker, isCompileLanguage } from "./compile/mod.ts";
import type { CompileChecker, CompileVerdict } from "./compile/mod.ts";
import type { Execution } from "../src/types.ts";
import type { ExecuteRequest, Limits } from "./types.ts";

/** A route for the executor plus the close of what it started. */
export interface FastCompileRoute {
  route(request: ExecuteRequest): Promise<Execution | undefined> | undefined;
  close(): Promise<void>;
}

/** Creates the route; `compileLimits` are the executor's limits of compile steps. */
export function fastCompileRoute(compileLimits: Limits, workers: number): FastCompileRoute {
  let checker: Promise<CompileChecker> | undefined;
  const limits = {
    wallMs: compileLimits.wallMs,
    memoryMb: compileLimits.memoryMb,
    fileSizeMb: compileLimits.fileSizeMb,
  };
  return {
    route(request) {
      if (request.mode !== "compile" || !isCompileLanguage(request.language)) return undefined;
      if (request.limits !== undefined) return undefined; // Per-request limits: the plain path.
      checker ??= createCompileChecker({ workers, limits });
      const language = request.language;
      return checker.then((c) => c.check(language, request.code)).then(toExecution);
    },
    async close() {
      if (checker !== undefined) await (await checker).close();
    },
  };
}

function toExecution(verdict: CompileVerdict): Execution {
  const statuses = {
    compiled: "passed",
    compile_error: "compile_error",
    timeout: "timeout",
  } as const;
  return {
    status: statuses[verdict.status],
    compiled: verdict.compiled,
    casesPassed: verdict.compiled ? 1 : 0,
    casesTotal: 1,
    exitCode: verdict.status === "timeout" ? null : verdict.compiled ? 0 : 1,
    wallMs: verdict.wallMs,
    cpuMs: 0,
    peakMemoryKb: 0,
    stdout: "",
    stderr: verdict.diagnostics,
  };
}
