/**
 * ppocoder's own protocol between the sandbox service and its remote executor
 * (`sandbox/remote.ts`): what a replica says about itself, and the batch endpoint that takes many
 * executions in one request and streams each result back as it finishes.
 *
 * - `GET /v1/info` answers a {@linkcode ServiceInfo} (503 until the executor is up).
 * - `POST /v1/execute` takes a {@linkcode BatchRequest}; the answer is NDJSON: one
 *   {@linkcode BatchLine} per execution, in the order they finish, with empty `{}` lines as a
 *   heartbeat while executions run, so that a client can tell a live replica from a hung one.
 *
 * @module
 */

import type { Execution } from "../../src/types.ts";
import type { Language } from "../languages.ts";
import type { ExecuteRequest, IsolationMode, Limits, ToolchainInfo } from "../types.ts";

/** Bump when a field changes meaning; the remote executor refuses other versions. */
export const PROTOCOL_VERSION = 1;

/** Seconds between heartbeat lines of a batch answer. */
export const HEARTBEAT_MS = 5_000;

/** What a replica says about itself. */
export interface ServiceInfo {
  readonly service: "ppocoder-sandbox";
  readonly protocol: typeof PROTOCOL_VERSION;
  readonly isolation: IsolationMode;
  readonly workers: number;
  /** Executions admitted beyond the workers before a refusal (HTTP 504). */
  readonly maxQueue: number;
  /** `workers + maxQueue`: executions in hand at most. */
  readonly capacity: number;
  readonly limits: Limits;
  readonly compileLimits: Limits | null;
  readonly languages: readonly Language[];
  readonly toolchains: readonly ToolchainInfo[];
  readonly notes: readonly string[];
  /** `MY_POD_NAME`, or null. */
  readonly pod: string | null;
}

/** The body of `POST /v1/execute`. */
export interface BatchRequest {
  readonly requests: readonly ExecuteRequest[];
}

/** An error the executor threw for one request, by class name (e.g. `ToolchainError`). */
export interface RemoteError {
  readonly name: string;
  readonly message: string;
  /** `ToolchainError.apt`, where it is one. */
  readonly apt?: string;
}

/** One line of a batch answer: a result, an error, or a heartbeat (`{}`). */
export type BatchLine =
  | { readonly index: number; readonly execution: Execution }
  | { readonly index: number; readonly error: RemoteError }
  | Record<string, never>;
