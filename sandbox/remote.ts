/**
 * An {@linkcode Executor} that judges through one or more sandbox service replicas
 * (`deno task sandbox serve`), or a proxy in front of them, instead of workers of its own. The
 * replicas run the same executor, so verdicts are the in-process executor's.
 *
 * - Executions are sent in batches (`POST /v1/execute`, see `service/protocol.ts`) to the
 *   replica with the most free room, at most four per worker in flight on each (one running,
 *   the rest covering the round trip), within its capacity.
 * - A refusal (HTTP 504: the replica's queue is full, it is starting or draining) puts the batch
 *   back and rests that replica with a growing backoff.
 * - A connection error, a reset, a 5xx or a replica that goes silent (no line, not even a
 *   heartbeat, for `idleMs`) marks the replica down for a while; the executions it had in hand
 *   and had not answered are sent again elsewhere. One execution is given up after it was in hand
 *   of `maxAttempts` failed replicas (a program that brings replicas down).
 * - When no replica has answered for `unavailableMs`, waiting executions fail with
 *   {@linkcode SandboxUnavailableError}: an infrastructure failure is an error that stops the run,
 *   never a verdict.
 *
 * @example Usage
 * ```ts ignore
 * import { createRemoteExecutor } from "./remote.ts";
 *
 * const executor = await createRemoteExecutor({ urls: ["http://10.0.0.5:8080", "http://10.0.0.6:8080"] });
 * const execution = await executor.execute({ language: "python", mode: "test", code: "assert 1 + 1 == 2" });
 * await executor.close();
 * ```
 *
 * @module
 */

import type { Execution } from "../src/types.ts";
import { SandboxUnavailableError, ToolchainError } from "./errors.ts";
import { DEFAULT_LIMITS } from "./executor.ts";
import { type Language, LANGUAGES } from "./languages.ts";
import type { ExecuteRequest, Executor, IsolationMode, Limits, ToolchainInfo } from "./types.ts";
import {
  type BatchLine,
  PROTOCOL_VERSION,
  type RemoteError,
  type ServiceInfo,
} from "./service/protocol.ts";

/** Options of {@linkcode createRemoteExecutor}. */
export interface RemoteExecutorOptions {
  /** Base URLs of the replicas, or of one proxy in front of them. */
  readonly urls: readonly string[];
  /** Limits of every execution, sent in full with each (so the replicas' defaults do not matter). */
  readonly limits?: Partial<Limits>;
  /** Languages every replica must serve. @default ["python"] */
  readonly languages?: readonly Language[];
  /**
   * Executions in flight at once, which callers read as `workers`. @default the replicas' workers
   * summed (behind one proxy URL, give the replicas' total here)
   */
  readonly workers?: number;
  /** Executions per batch request at most. @default 32 */
  readonly batchSize?: number;
  /** How long executions wait while no replica answers before they fail. @default 120000 */
  readonly unavailableMs?: number;
  /** Longest silence of a replica that holds a batch before it is presumed hung. @default 30000 */
  readonly idleMs?: number;
  /** Failed replicas one execution may go through before it fails. @default 5 */
  readonly maxAttempts?: number;
  readonly log?: (message: string) => void;
}

/** Connects to the replicas (waiting up to `unavailableMs` for at least one) and checks them. */
export async function createRemoteExecutor(options: RemoteExecutorOptions): Promise<Executor> {
  const urls = options.urls.map(baseUrl);
  if (urls.length === 0) {
    throw new RangeError(
      "Cannot judge remotely as no sandbox service URL was given: pass --sandbox-url URL[,URL...]",
    );
  }
  const limits = mergeLimits(options.limits);
  const unavailableMs = options.unavailableMs ?? 120_000;
  const infos = await firstInfos(urls, unavailableMs);
  const reference = infos.find((info) => info !== null)!;
  const languages = options.languages ?? ["python"];
  infos.forEach((info, index) => info && checkReplica(urls[index]!, info, reference, languages));
  const workers = options.workers ?? infos.reduce((total, info) => total + (info?.workers ?? 0), 0);
  const replicas = urls.map((url, index) => new Replica(url, infos[index] ?? null));
  return new RemoteExecutor(replicas, reference, { ...options, limits, workers, languages });
}

/** Executions sent to a replica per worker of it, at most. */
const IN_FLIGHT_PER_WORKER = 4;

/** One replica as the executor sees it. */
class Replica {
  readonly url: string;
  info: ServiceInfo | null;
  inFlight = 0;
  /** No batch is sent before this time (ms since the epoch). */
  restUntil = 0;
  /** Consecutive refusals or failures, for the backoff. */
  strikes = 0;
  probing = false;

  constructor(url: string, info: ServiceInfo | null) {
    this.url = url;
    this.info = info;
  }

  /** Executions it may hold: four per worker (one running, three covering the round trip). */
  get room(): number {
    if (!this.info) return 0;
    return Math.max(
      0,
      Math.min(this.info.workers * IN_FLIGHT_PER_WORKER, this.info.capacity) - this.inFlight,
    );
  }

  rest(baseMs: number, maxMs: number): void {
    this.strikes++;
    this.restUntil = Date.now() + Math.min(maxMs, baseMs * 2 ** (this.strikes - 1));
  }
}

interface Job {
  readonly request: ExecuteRequest;
  readonly resolve: (execution: Execution) => void;
  readonly reject: (error: Error) => void;
  /** Failed replicas that held it. */
  attempts: number;
}

type Settings = RemoteExecutorOptions & {
  readonly limits: Limits;
  readonly workers: number;
  readonly languages: readonly Language[];
};

class RemoteExecutor implements Executor {
  readonly isolation: IsolationMode;
  readonly limits: Limits;
  readonly compileLimits?: Limits;
  readonly workers: number;
  readonly notes: readonly string[];
  readonly toolchains: readonly ToolchainInfo[];
  readonly #replicas: Replica[];
  readonly #reference: ServiceInfo;
  readonly #settings: Settings;
  #pending: Job[] = [];
  #inFlight = 0;
  #lastContact = Date.now();
  #wake: ReturnType<typeof setTimeout> | undefined;
  #pumpQueued = false;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(replicas: Replica[], reference: ServiceInfo, settings: Settings) {
    this.#replicas = replicas;
    this.#reference = reference;
    this.#settings = settings;
    this.isolation = reference.isolation;
    this.limits = settings.limits;
    if (reference.compileLimits) this.compileLimits = reference.compileLimits;
    this.workers = Math.max(1, settings.workers);
    this.toolchains = reference.toolchains.filter((t) => settings.languages.includes(t.language));
    const where = replicas.map((r) => r.url).join(", ");
    this.notes = [
      `remote: judged by the sandbox service at ${where} (${reference.isolation} isolation on ` +
      `each replica; ${this.workers} workers in all)`,
      ...reference.notes,
    ];
  }

  execute(request: ExecuteRequest): Promise<Execution> {
    if (this.#closed) return Promise.reject(new Error("Cannot execute as the executor is closed"));
    const { language } = request;
    if (!this.toolchains.some((t) => t.language === language)) {
      const known = this.toolchains.map((t) => t.language).join(", ");
      return Promise.reject(
        new ToolchainError(
          `Cannot execute "${language}" code as the executor was created without it: ` +
            `add it to "languages" (prepared: ${known})`,
          Object.values(LANGUAGES[language].tools)[0]!.apt,
        ),
      );
    }
    // Runs get this executor's limits in full, so that the replicas' defaults do not matter;
    // compile checks use the compile limits only, and without per-request limits they take the
    // replica's fast compile checker, as in-process.
    const sent = request.mode === "compile"
      ? request
      : { ...request, limits: { ...this.limits, ...request.limits } };
    return new Promise((resolve, reject) => {
      this.#pending.push({ request: sent, resolve, reject, attempts: 0 });
      this.#schedule();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pending.length + this.#inFlight > 0) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    clearTimeout(this.#wake);
  }

  /** Pumps once the current burst of `execute()` calls is queued, so they share batches. */
  #schedule(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    setTimeout(() => {
      this.#pumpQueued = false;
      this.#pump();
    }, 0);
  }

  /** Sends waiting executions to replicas with room; arranges to try again when none has. */
  #pump(): void {
    const now = Date.now();
    for (const replica of this.#replicas) {
      if (!replica.info && !replica.probing && replica.restUntil <= now) this.#probe(replica);
    }
    while (this.#pending.length > 0) {
      const replica = this.#replicas
        .filter((r) => r.restUntil <= now && r.room > 0)
        .sort((a, b) => b.room - a.room)[0];
      if (!replica) break;
      const size = Math.min(replica.room, this.#settings.batchSize ?? 32);
      this.#send(replica, this.#pending.splice(0, size));
    }
    if (this.#pending.length === 0) {
      if (this.#inFlight === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
      return;
    }
    if (this.#inFlight > 0) return; // a batch in flight pumps again when it ends
    if (now - this.#lastContact > (this.#settings.unavailableMs ?? 120_000)) {
      this.#failWaiting();
      return;
    }
    const next = Math.min(...this.#replicas.map((r) => r.restUntil));
    clearTimeout(this.#wake);
    this.#wake = setTimeout(() => this.#pump(), Math.max(10, next - now));
  }

  async #send(replica: Replica, jobs: Job[]): Promise<void> {
    replica.inFlight += jobs.length;
    this.#inFlight += jobs.length;
    let held = jobs.length;
    // Each answer frees its slot at once: a slow program does not hold its batch's other slots.
    const release = () => {
      held--;
      replica.inFlight--;
      this.#inFlight--;
      this.#schedule();
    };
    const answered = new Set<number>();
    const progress = { held: false, release };
    let outcome: "done" | "refused" | "failed" = "failed";
    try {
      outcome = await this.#exchange(replica, jobs, answered, progress);
    } catch (error) {
      this.#settings.log?.(`sandbox replica ${replica.url} failed: ${errorText(error)}`);
    } finally {
      replica.inFlight -= held;
      this.#inFlight -= held;
    }
    const unanswered = jobs.filter((_, index) => !answered.has(index));
    if (outcome === "done" && unanswered.length === 0) {
      replica.strikes = 0;
    } else if (outcome === "refused") {
      replica.rest(50, 2_000);
    } else {
      replica.rest(250, 5_000);
      // Only a replica that took the batch (answered 200) held its programs.
      if (progress.held) { for (const job of unanswered) job.attempts++; }
    }
    this.#requeue(unanswered);
    this.#pump();
  }

  /** One batch request; resolves the jobs answered and says how the exchange ended. */
  async #exchange(
    replica: Replica,
    jobs: readonly Job[],
    answered: Set<number>,
    progress: { held: boolean; readonly release: () => void },
  ): Promise<"done" | "refused" | "failed"> {
    const controller = new AbortController();
    const idleMs = this.#settings.idleMs ?? 30_000;
    let timer = setTimeout(() => controller.abort(), idleMs);
    try {
      const response = await fetch(`${replica.url}/v1/execute`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ requests: jobs.map((job) => job.request) }),
        signal: controller.signal,
      });
      if (response.status === 504 || response.status === 503 || response.status === 413) {
        await response.body?.cancel();
        this.#lastContact = Date.now();
        return "refused";
      }
      if (response.status >= 400 && response.status < 500) {
        const detail = await response.text();
        const error = new TypeError(
          `Cannot execute as the sandbox service at ${replica.url} refused the request ` +
            `(HTTP ${response.status}): ${detail.slice(0, 500)}`,
        );
        jobs.forEach((job, index) => (answered.add(index), job.reject(error)));
        return "done";
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      this.#lastContact = Date.now();
      progress.held = true;
      for await (const line of ndjsonLines(response.body)) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), idleMs);
        this.#lastContact = Date.now();
        if (this.#settle(line, jobs, answered)) progress.release();
      }
      return answered.size === jobs.length ? "done" : "failed";
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves the job a line answers; whether it answered one. */
  #settle(line: BatchLine, jobs: readonly Job[], answered: Set<number>): boolean {
    if (!("index" in line)) return false; // a heartbeat
    const job = jobs[line.index];
    if (!job || answered.has(line.index)) return false;
    answered.add(line.index);
    if ("execution" in line) job.resolve(line.execution);
    else job.reject(toError(line.error));
    return true;
  }

  /** Puts unanswered jobs back in front, failing those that went through too many replicas. */
  #requeue(jobs: readonly Job[]): void {
    const maxAttempts = this.#settings.maxAttempts ?? 5;
    const again = jobs.filter((job) => {
      if (job.attempts < maxAttempts) return true;
      job.reject(
        new SandboxUnavailableError(
          `Cannot execute as ${job.attempts} sandbox service replicas failed while holding ` +
            `this ${job.request.language} program: check the replicas' logs`,
        ),
      );
      return false;
    });
    this.#pending.unshift(...again);
  }

  /** Asks a replica that has not described itself yet (it was down at the start). */
  async #probe(replica: Replica): Promise<void> {
    replica.probing = true;
    try {
      const info = await fetchInfo(replica.url, 5_000);
      checkReplica(replica.url, info, this.#reference, this.#settings.languages);
      replica.info = info;
      replica.strikes = 0;
      this.#settings.log?.(`sandbox replica ${replica.url} joined`);
    } catch (error) {
      replica.rest(1_000, 30_000);
      if (error instanceof TypeError && /differs|does not serve/.test(error.message)) {
        this.#settings.log?.(error.message);
      }
    } finally {
      replica.probing = false;
      this.#schedule();
    }
  }

  #failWaiting(): void {
    const seconds = Math.round((Date.now() - this.#lastContact) / 1000);
    const error = new SandboxUnavailableError(
      `Cannot execute as no sandbox service replica has answered for ${seconds} s ` +
        `(${this.#replicas.map((r) => r.url).join(", ")}): start them or fix --sandbox-url`,
    );
    for (const job of this.#pending.splice(0)) job.reject(error);
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}

/** Each replica's description, or null for those that did not answer before the first did. */
async function firstInfos(
  urls: readonly string[],
  unavailableMs: number,
): Promise<(ServiceInfo | null)[]> {
  const started = Date.now();
  const infos: (ServiceInfo | null)[] = urls.map(() => null);
  const errors: string[] = urls.map(() => "no answer");
  while (true) {
    await Promise.all(urls.map(async (url, index) => {
      if (infos[index]) return;
      try {
        infos[index] = await fetchInfo(url, 5_000);
      } catch (error) {
        errors[index] = errorText(error);
      }
    }));
    if (infos.every((info) => info !== null)) return infos;
    // Late replicas get 5 s once one has answered; they join later when they come up.
    if (infos.some((info) => info !== null) && Date.now() - started > 5_000) return infos;
    if (Date.now() - started > unavailableMs) {
      throw new SandboxUnavailableError(
        `Cannot judge remotely as no sandbox service answered within ${unavailableMs} ms: ${
          urls.map((url, i) => `${url}: ${errors[i]}`).join("; ")
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function fetchInfo(url: string, timeoutMs: number): Promise<ServiceInfo> {
  const response = await fetch(`${url}/v1/info`, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.json().catch(() => null);
  if (!response.ok || body?.service !== "ppocoder-sandbox") {
    throw new Error(`HTTP ${response.status}: ${JSON.stringify(body)?.slice(0, 200)}`);
  }
  return body as ServiceInfo;
}

/** Refuses a replica whose verdicts could differ from the reference replica's. */
function checkReplica(
  url: string,
  info: ServiceInfo,
  reference: ServiceInfo,
  languages: readonly Language[],
): void {
  if (info.protocol !== PROTOCOL_VERSION) {
    throw new TypeError(
      `Cannot use the sandbox service at ${url} as its protocol differs: current value is ` +
        `${info.protocol}, this client speaks ${PROTOCOL_VERSION}: run the same ppocoder version`,
    );
  }
  const missing = languages.filter((language) => !info.languages.includes(language));
  if (missing.length > 0) {
    throw new TypeError(
      `Cannot use the sandbox service at ${url} as it does not serve ${missing.join(", ")}: ` +
        `start it with --languages ${[...new Set([...info.languages, ...missing])].join(",")}`,
    );
  }
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const versions = (i: ServiceInfo) =>
    i.toolchains.filter((t) => languages.includes(t.language)).map((t) => [t.language, t.version]);
  const fields: [string, unknown, unknown][] = [
    ["isolation", info.isolation, reference.isolation],
    ["compile limits", info.compileLimits, reference.compileLimits],
    ["toolchain versions", versions(info), versions(reference)],
  ];
  for (const [name, value, expected] of fields) {
    if (same(value, expected)) continue;
    throw new TypeError(
      `Cannot use the sandbox service at ${url} as its ${name} differs from the other ` +
        `replicas': current value is ${JSON.stringify(value)}, expected ${
          JSON.stringify(expected)
        }`,
    );
  }
}

async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<BatchLine> {
  let buffer = "";
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const text = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (text) yield JSON.parse(text) as BatchLine;
    }
  }
}

function toError(error: RemoteError): Error {
  if (error.name === "ToolchainError") return new ToolchainError(error.message, error.apt ?? "");
  const rebuilt = error.name === "RangeError"
    ? new RangeError(error.message)
    : error.name === "TypeError"
    ? new TypeError(error.message)
    : new Error(error.message);
  return rebuilt;
}

function mergeLimits(overrides: Partial<Limits> | undefined): Limits {
  const merged = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new RangeError(
        `Cannot use the limit "${name}" as it must be a positive integer: current value is ${value}`,
      );
    }
  }
  return merged;
}

function baseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new TypeError(
      `Cannot use the sandbox URL "${text}" as it is not a URL: give one like http://host:8080`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
