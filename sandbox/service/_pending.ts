/**
 * The executor fields the service codes against before they land in `sandbox/types.ts` and
 * `src/types.ts` (removed once they have).
 *
 * @module
 */

import type { Execution } from "../../src/types.ts";
import type { ExecuteRequest, Limits } from "../types.ts";

/** The build step of an execution whose plan had one. */
export interface BuildResult {
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly timedOut: boolean;
  readonly wallMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** {@linkcode ExecuteRequest} with files, fetched files and per-request compile limits. */
export type ServiceRequest = ExecuteRequest & {
  readonly files?: Readonly<Record<string, string>>;
  readonly fetchFiles?: readonly string[];
  readonly compileLimits?: Partial<Limits>;
};

/** {@linkcode Execution} with fetched files, the ending signal and the build step. */
export type ServiceExecution = Execution & {
  readonly files?: Readonly<Record<string, string>>;
  readonly signal?: number | null;
  readonly build?: BuildResult;
};
