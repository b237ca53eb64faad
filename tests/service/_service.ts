/**
 * What the service tests start and drive: replicas of `deno task sandbox serve` as processes of
 * their own (so that they can be SIGKILLed and SIGTERMed), haproxy in front of them with the
 * deployed configuration, and the real Python clients installed by `scripts/service_clients.sh`.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasShared, sharedPath } from "../_shared.ts";

/** Absolute path of the repository root. */
export const REPO_DIR: string = fileURLToPath(new URL("../../", import.meta.url)).replace(
  /\/$/,
  "",
);

/** A replica process. */
export interface ReplicaProcess {
  readonly url: string;
  readonly pid: number;
  /** stderr lines so far. */
  readonly log: string[];
  readonly status: Promise<Deno.CommandStatus>;
  kill(signal: Deno.Signal): void;
}

/** Options of {@linkcode startReplica}. */
export interface ReplicaOptions {
  readonly workers?: number;
  readonly maxQueue?: number;
  readonly languages?: readonly string[];
}

/** Starts `deno task sandbox serve` on a free port and waits until it says it is ready. */
export async function startReplica(options: ReplicaOptions = {}): Promise<ReplicaProcess> {
  const args = [
    "run",
    "--allow-all",
    join(REPO_DIR, "src/cli/sandbox.ts"),
    "serve",
    "--port",
    "0",
    "--workers",
    String(options.workers ?? 1),
    "--languages",
    (options.languages ?? ["python"]).join(","),
    ...(options.maxQueue === undefined ? [] : ["--max-queue", String(options.maxQueue)]),
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_DIR,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const url = await readUntilReady(child, log);
  return {
    url,
    pid: child.pid,
    log,
    status: child.status,
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}

async function readUntilReady(child: Deno.ChildProcess, log: string[]): Promise<string> {
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter());
  const reader = lines.getReader();
  let url = "";
  const timeout = setTimeout(() => child.kill("SIGKILL"), 120_000);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`The replica exited before it was ready: ${log.join("\n")}`);
      log.push(value);
      url ||= /listening at (http:\/\/[^/ ]+)\//.exec(value)?.[1] ?? "";
      if (value.startsWith("ready:")) break;
    }
  } finally {
    clearTimeout(timeout);
  }
  // Keep reading so that the pipe never fills.
  (async () => {
    while (true) {
      const { value, done } = await reader.read().catch(() => ({ value: "", done: true }));
      if (done) return;
      log.push(value);
    }
  })();
  return url;
}

function lineSplitter(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) controller.enqueue(line);
    },
    flush(controller) {
      if (buffer) controller.enqueue(buffer);
    },
  });
}

/** A port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Why haproxy cannot be used here, or undefined. */
export function missingHaproxy(): string | undefined {
  const found = ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"]
    .find(existsSync);
  return found ? undefined : `haproxy is not installed: apt-get install haproxy (.ci/setup does)`;
}

/** A running haproxy. */
export interface Proxy {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Runs `deploy/haproxy/haproxy.cfg` on loopback in front of `servers`; `retries: false` replaces
 * its `retry-on` with haproxy's default (`conn-failure`: nothing is resent once sent).
 */
export async function startHaproxy(
  servers: readonly string[],
  options: { readonly retries: boolean },
): Promise<Proxy> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-haproxy-" });
  let config = readFileSync(join(REPO_DIR, "deploy/haproxy/haproxy.cfg"), "utf8")
    .replace("bind :8080", `bind 127.0.0.1:${port}`)
    .replace("/etc/haproxy/errors/", `${join(REPO_DIR, "deploy/haproxy/errors")}/`)
    .replace(
      /^ *server-template .*$/m,
      servers.map((url, i) => `    server r${i} ${new URL(url).host}`).join("\n"),
    );
  if (!options.retries) config = config.replace(/^ *retry-on .*$/m, "    retry-on conn-failure");
  await Deno.writeTextFile(join(dir, "haproxy.cfg"), config);
  const binary = ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"]
    .find(existsSync)!;
  const child = new Deno.Command(binary, {
    args: ["-db", "-f", join(dir, "haproxy.cfg")],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/v1/ready`).then((r) => r.text())).length > 0);
  // Every server up (rise 2 checks of 500 ms).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Polls `check` until it returns true (errors count as false), for up to `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for a condition`);
}

/** The real clients, installed by `scripts/service_clients.sh`. */
export interface Clients {
  readonly python: string;
  readonly dir: string;
}

/** Installs the clients (once; cached under `.ppocoder/`), or says why they cannot be. */
export async function serviceClients(): Promise<Clients | { readonly reason: string }> {
  const output = await new Deno.Command("bash", {
    args: [join(REPO_DIR, "scripts/service_clients.sh")],
    cwd: REPO_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output().catch((error) => error as Error);
  if (output instanceof Error || !output.success) {
    const detail = output instanceof Error
      ? output.message
      : new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join(" ");
    return {
      reason: `the SandboxFusion and verl clients could not be installed from PyPI ` +
        `(scripts/service_clients.sh): ${detail}`,
    };
  }
  const dir = join(REPO_DIR, new TextDecoder().decode(output.stdout).trim());
  return { python: join(dir, "venv/bin/python"), dir };
}

/** Runs `tests/service/fusion_clients.py` with `args` and `input` on stdin; its JSON output. */
export async function runClients<T>(
  clients: Clients,
  args: readonly string[],
  input: string,
): Promise<T> {
  const child = new Deno.Command(clients.python, {
    args: [join(REPO_DIR, "tests/service/fusion_clients.py"), ...args, "--clients", clients.dir],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const output = await child.output();
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(
      `fusion_clients.py ${args[0]} failed: ${
        new TextDecoder().decode(output.stderr).slice(-2000)
      }`,
    );
  }
  return JSON.parse(stdout) as T;
}

/** The 974 MBPP gold programs (code, setup, asserts), or null where the dataset is absent. */
export function mbppPrograms(): { id: string; code: string }[] | null {
  if (!hasShared("datasets/mbpp/mbpp.jsonl")) return null;
  const text = readFileSync(sharedPath("datasets/mbpp/mbpp.jsonl"), "utf8");
  return text.split("\n").filter((line) => line.trim()).map((line) => {
    const r = JSON.parse(line) as {
      task_id: number;
      code: string;
      test_setup_code: string;
      test_list: string[];
    };
    return {
      id: String(r.task_id),
      code: `${r.code}\n${r.test_setup_code}\n${r.test_list.join("\n")}`,
    };
  });
}
