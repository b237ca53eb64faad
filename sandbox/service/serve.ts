/**
 * Runs one replica of the sandbox service: listens at once (so that liveness answers while the
 * workers start), creates the executor, runs the canary, then serves. SIGTERM (and SIGINT) drain
 * it: readiness fails and new work is refused with 504, the executions in hand finish, the
 * server closes its connections and the process exits 0.
 *
 * @module
 */

import { createExecutor } from "../executor.ts";
import type { Executor, ExecutorOptions } from "../types.ts";
import { SandboxService, type SandboxServiceOptions } from "./app.ts";

/** Options of {@linkcode serveSandbox}. */
export interface ServeSandboxOptions extends SandboxServiceOptions {
  /** @default 8080 (SandboxFusion's) */
  readonly port?: number;
  /** @default "127.0.0.1" (SandboxFusion binds to localhost unless told otherwise) */
  readonly hostname?: string;
  readonly executor?: ExecutorOptions;
  /** How long a drain waits for the work in hand before closing anyway. @default 120000 */
  readonly drainTimeoutMs?: number;
  /** Called once the port is open. */
  readonly onListen?: (address: { hostname: string; port: number }) => void;
}

/** A running replica. */
export interface RunningSandbox {
  readonly service: SandboxService;
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** Resolves when the executor is up and the canary has passed (rejects if it cannot start). */
  readonly ready: Promise<void>;
  /** Drains, closes the server and the executor; what `SIGTERM` does. */
  stop(): Promise<void>;
  /** Resolves when the replica has stopped. */
  readonly finished: Promise<void>;
}

/** Starts a replica; see the module documentation for its life cycle. */
export function serveSandbox(options: ServeSandboxOptions = {}): RunningSandbox {
  const log = options.log ?? ((message: string) => console.error(message));
  const service = new SandboxService({ ...options, log });
  let executor: Executor | null = null;
  const server = Deno.serve({
    port: options.port ?? 8080,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: (address) => options.onListen?.(address),
  }, service.app.fetch);
  const ready = (async () => {
    executor = await createExecutor(options.executor);
    await service.attach(executor);
  })();
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      const drained = service.drain();
      const timeoutMs = options.drainTimeoutMs ?? 120_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), timeoutMs));
      if (await Promise.race([drained, late]) === "late") {
        log(`drain: executions still in hand after ${timeoutMs} ms, closing anyway`);
      }
      clearTimeout(timer);
      await server.shutdown();
      await ready.catch(() => {});
      await executor?.close();
    })();
    return stopping;
  };
  const finished = server.finished.then(() => stopping ?? undefined);
  return { service, port: server.addr.port, ready, stop, finished };
}
