/**
 * The sandbox as an HTTP service (Hono): SandboxFusion's `POST /run_code` and `GET /v1/ping`, so
 * that verl's and SandboxFusion's own clients work unchanged, plus readiness, a description of the
 * replica and a batch endpoint for ppocoder's remote executor (`protocol.ts`).
 *
 * Admission is bounded: a replica holds at most `workers + maxQueue` executions, and refuses the
 * rest at once with HTTP 504 (the code verl's client retries on, and the proxy retries on another
 * replica). Draining refuses new work the same way and waits for the work in hand.
 *
 * @example Usage
 * ```ts ignore
 * import { createExecutor } from "../mod.ts";
 * import { SandboxService } from "./app.ts";
 *
 * const service = new SandboxService({ maxQueue: 32 });
 * Deno.serve({ port: 8080 }, service.app.fetch);
 * await service.attach(await createExecutor({ languages: ["python", "cpp"] }));
 * ```
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Execution } from "../../src/types.ts";
import { ToolchainError } from "../errors.ts";
import { isLanguage, type Language } from "../languages.ts";
import type { ExecuteRequest, Executor } from "../types.ts";
import { Admission } from "./admission.ts";
import { runCanary } from "./_canary.ts";
import {
  FUSION_LANGUAGES,
  parseRunCode,
  type RunCodeResponse,
  sandboxErrorResponse,
  toRunCodeResponse,
  unsupportedResponse,
} from "./fusion.ts";
import {
  type BatchLine,
  HEARTBEAT_MS,
  PROTOCOL_VERSION,
  type RemoteError,
  type ServiceInfo,
} from "./protocol.ts";

/** Options of a {@linkcode SandboxService}. */
export interface SandboxServiceOptions {
  /**
   * Executions admitted beyond the workers before a refusal. verl's client retries a 504 twice (1 s,
   * then 2 s later), so a burst of up to three times `workers + maxQueue` quick programs gets
   * through it. @default 16 per worker
   */
  readonly maxQueue?: number;
  /** Reported as `executor_pod_name` (SandboxFusion reads `MY_POD_NAME`). @default null */
  readonly podName?: string | null;
  /** Run a hello world per language before saying ready. @default true */
  readonly canary?: boolean;
  /** Consecutive sandbox errors after which the replica checks itself again. @default 3 */
  readonly unhealthyAfter?: number;
  readonly log?: (message: string) => void;
}

/** Where a replica stands. */
export type ServiceState = "starting" | "ready" | "unhealthy" | "draining";

/** Counters of a replica, served at `GET /v1/stats`. */
export interface ServiceStats {
  readonly state: ServiceState;
  readonly reason: string;
  readonly inFlight: number;
  readonly capacity: number;
  /** Executions admitted, refused (HTTP 504) and finished since the start. */
  readonly admitted: number;
  readonly refused: number;
  readonly finished: number;
}

/** One replica of the sandbox service; `app` is its Hono app. */
export class SandboxService {
  readonly app: Hono;
  readonly #options: SandboxServiceOptions;
  #executor: Executor | null = null;
  #admission: Admission | null = null;
  #state: ServiceState = "starting";
  #reason = "the executor is starting";
  #counts = { admitted: 0, refused: 0, finished: 0 };
  #sandboxErrors = 0;
  #checking: Promise<void> | null = null;

  constructor(options: SandboxServiceOptions = {}) {
    this.#options = options;
    this.app = this.#routes();
  }

  /** Serves `executor` from now on, once its canary has passed. */
  async attach(executor: Executor): Promise<void> {
    const maxQueue = this.#options.maxQueue ?? executor.workers * 16;
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw new RangeError(
        `Cannot serve as "maxQueue" must be a non-negative integer: current value is ${maxQueue}`,
      );
    }
    this.#executor = executor;
    this.#admission = new Admission(executor.workers + maxQueue);
    await this.#check();
  }

  /** Refuses new work from now on and resolves when the work in hand is done. */
  async drain(): Promise<void> {
    this.#state = "draining";
    this.#reason = "the replica is draining";
    await this.#admission?.drain();
  }

  get state(): ServiceState {
    return this.#state;
  }

  stats(): ServiceStats {
    return {
      state: this.#state,
      reason: this.#reason,
      inFlight: this.#admission?.inFlight ?? 0,
      capacity: this.#admission?.capacity ?? 0,
      ...this.#counts,
    };
  }

  #routes(): Hono {
    const app = new Hono();
    app.get("/v1/ping", (c) => c.json("pong"));
    app.get("/v1/ready", (c) => {
      const ready = this.#state === "ready";
      return c.json({ ready, state: this.#state, reason: this.#reason }, ready ? 200 : 503);
    });
    app.get("/v1/stats", (c) => c.json(this.stats()));
    app.get("/v1/info", (c) => {
      const info = this.#info();
      return info ? c.json(info) : c.json({ detail: this.#reason }, 503);
    });
    app.post("/run_code", (c) => this.#runCode(c));
    app.post("/v1/execute", (c) => this.#batch(c));
    app.onError((error, c) => c.json({ detail: errorText(error) }, 500));
    return app;
  }

  async #runCode(c: Context): Promise<Response> {
    const body = await readJson(c);
    if (!body.ok) return c.json({ detail: [body.issue] }, 422);
    const parsed = parseRunCode(body.value);
    if (parsed.kind === "invalid") return c.json({ detail: parsed.issues }, 422);
    const executor = this.#executor;
    const served = this.#servedNames();
    if (parsed.kind === "unsupported" || (executor && !served.includes(parsed.name))) {
      const name = parsed.kind === "unsupported" ? parsed.language : parsed.name;
      return c.json(unsupportedResponse(name, served, this.#podName()));
    }
    const admitted = this.#admit(c, 1);
    if (admitted instanceof Response) return admitted;
    let response: RunCodeResponse;
    try {
      const execution = await admitted.execute(parsed.request);
      this.#observe(execution);
      response = toRunCodeResponse(execution, parsed.request.language, {
        isolation: admitted.isolation,
        limits: { ...admitted.limits, ...parsed.request.limits },
        compileLimits: { ...admitted.compileLimits, ...parsed.request.compileLimits },
        podName: this.#podName(),
      });
    } catch (error) {
      response = sandboxErrorResponse(errorText(error), this.#podName());
    } finally {
      this.#leave(1);
    }
    return c.json(response);
  }

  async #batch(c: Context): Promise<Response> {
    const body = await readJson(c);
    if (!body.ok) return c.json({ detail: [body.issue] }, 422);
    const requests = batchRequests(body.value);
    if (typeof requests === "string") return c.json({ detail: requests }, 422);
    const capacity = this.#admission?.capacity ?? 0;
    if (this.#admission && requests.length > capacity) {
      return c.json({
        detail: `Cannot take a batch of ${requests.length} executions as this replica holds ` +
          `at most ${capacity}: send batches of ${capacity} or fewer`,
      }, 413);
    }
    const admitted = this.#admit(c, requests.length);
    if (admitted instanceof Response) return admitted;
    return new Response(this.#stream(admitted, requests), {
      headers: { "content-type": "application/x-ndjson" },
    });
  }

  /** Runs `requests` at once and streams each result as it finishes, with heartbeats. */
  #stream(executor: Executor, requests: readonly ExecuteRequest[]): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    let open = true;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const send = (line: BatchLine) => {
          if (open) controller.enqueue(encoder.encode(JSON.stringify(line) + "\n"));
        };
        heartbeat = setInterval(() => send({}), HEARTBEAT_MS);
        const runs = requests.map(async (request, index) => {
          try {
            const execution = await executor.execute(request);
            this.#observe(execution);
            send({ index, execution });
          } catch (error) {
            send({ index, error: remoteError(error) });
          } finally {
            this.#leave(1);
          }
        });
        Promise.all(runs).then(() => {
          clearInterval(heartbeat);
          if (open) controller.close();
          open = false;
        });
      },
      cancel: () => {
        // The client went away; the executions run on and leave the admission as they end.
        open = false;
        clearInterval(heartbeat);
      },
    });
  }

  /** Admits `count` executions (the executor to run them), or answers the refusal. */
  #admit(c: Context, count: number): Executor | Response {
    const executor = this.#executor;
    const serving = this.#state === "ready" || this.#state === "unhealthy";
    if (!executor || !serving || !this.#admission?.tryEnter(count)) return this.#refuse(c, count);
    this.#counts.admitted += count;
    return executor;
  }

  #refuse(c: Context, count: number): Response {
    this.#counts.refused += count;
    const admission = this.#admission;
    const why = this.#state === "ready" || this.#state === "unhealthy"
      ? `this replica has ${admission?.inFlight} executions in hand of ${admission?.capacity}`
      : this.#reason;
    if (this.#state === "draining") c.header("connection", "close");
    return c.json({
      detail: `Cannot run ${count} execution(s) now as ${why}: retry later or on another replica`,
    }, 504 as ContentfulStatusCode);
  }

  #leave(count: number): void {
    this.#counts.finished += count;
    this.#admission?.leave(count);
  }

  /** Counts consecutive sandbox errors; enough of them send the replica back to its canary. */
  #observe(execution: Execution): void {
    if (execution.status !== "sandbox_error") {
      this.#sandboxErrors = 0;
      return;
    }
    this.#sandboxErrors++;
    if (this.#sandboxErrors >= (this.#options.unhealthyAfter ?? 3) && this.#state === "ready") {
      this.#options.log?.(`${this.#sandboxErrors} sandbox errors in a row: checking the pool`);
      this.#check();
    }
  }

  /** Runs the canary; the replica is ready when it passes, else checks again in 10 s. */
  #check(): Promise<void> {
    if (this.#checking) return this.#checking;
    this.#checking = (async () => {
      const executor = this.#executor!;
      const failures = this.#options.canary === false ? [] : await runCanary(executor);
      this.#checking = null;
      if (this.#state === "draining") return;
      if (failures.length === 0) {
        this.#state = "ready";
        this.#reason = "";
        this.#sandboxErrors = 0;
        return;
      }
      this.#state = "unhealthy";
      this.#reason = `the canary failed: ${failures.join("; ")}`;
      this.#options.log?.(this.#reason);
      setTimeout(() => this.#state === "unhealthy" && this.#check(), 10_000);
    })();
    return this.#checking;
  }

  #info(): ServiceInfo | null {
    const executor = this.#executor;
    const admission = this.#admission;
    if (!executor || !admission) return null;
    return {
      service: "ppocoder-sandbox",
      protocol: PROTOCOL_VERSION,
      isolation: executor.isolation,
      workers: executor.workers,
      maxQueue: admission.capacity - executor.workers,
      capacity: admission.capacity,
      limits: executor.limits,
      compileLimits: executor.compileLimits ?? null,
      languages: executor.toolchains.map((t) => t.language),
      toolchains: executor.toolchains,
      notes: executor.notes ?? [],
      pod: this.#podName(),
    };
  }

  /** SandboxFusion names of the languages the executor prepared. */
  #servedNames(): string[] {
    const prepared = new Set<Language>(this.#executor?.toolchains.map((t) => t.language) ?? []);
    return Object.entries(FUSION_LANGUAGES)
      .filter(([, row]) => prepared.has(row.language))
      .map(([name]) => name);
  }

  #podName(): string | null {
    return this.#options.podName ?? null;
  }
}

type JsonBody =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly issue: Record<string, unknown> };

async function readJson(c: Context): Promise<JsonBody> {
  const text = await c.req.text();
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return {
      ok: false,
      issue: {
        type: "json_invalid",
        loc: ["body"],
        msg: "JSON decode error",
        input: {},
        ctx: {
          error: errorText(error),
        },
      },
    };
  }
}

const MODES = new Set(["compile", "run", "test"]);

/** The requests of a batch body, or why it is not one. */
function batchRequests(body: unknown): readonly ExecuteRequest[] | string {
  const requests = (body as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests) || requests.length === 0) {
    return `Cannot run the batch as "requests" must be a non-empty array: current value is ${
      JSON.stringify(requests)
    }`;
  }
  for (const [index, request] of requests.entries()) {
    const r = request as Partial<Record<keyof ExecuteRequest, unknown>> | null;
    if (typeof r?.code !== "string" || typeof r.language !== "string" || !isLanguage(r.language)) {
      return `Cannot run request ${index} as it needs "code" and a known "language": ` +
        `current language is ${JSON.stringify(r?.language)}`;
    }
    if (typeof r.mode !== "string" || !MODES.has(r.mode)) {
      return `Cannot run request ${index} as "mode" must be compile, run or test: ` +
        `current value is ${JSON.stringify(r.mode)}`;
    }
  }
  return requests as ExecuteRequest[];
}

function remoteError(error: unknown): RemoteError {
  if (error instanceof ToolchainError) {
    return { name: error.name, message: error.message, apt: error.apt };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
