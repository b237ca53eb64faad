/**
 * `deno task perf:service`: the sandbox service against the in-process executor on the same
 * machine, with the same workers:
 *
 * 1. MBPP gold programs (`test` mode): in-process; through one replica process with the remote
 *    executor (`/v1/execute` batches); and through SandboxFusion's `/run_code`, one HTTP request
 *    per program (executions per second).
 * 2. A compile-mode workload: `bench codexglue-translation --model reference` in-process and with
 *    `--sandbox-url` (the report's judging throughput).
 * 3. The per-request overhead: a trivial Python program sent one at a time, in-process and as a
 *    `/run_code` request (directly, and through haproxy with the deployed config when it is
 *    installed); the difference is what the HTTP layer adds (SandboxFusion states < 100 ms for its
 *    lite isolation).
 *
 * Usage: `deno task perf:service --help`.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { createExecutor } from "../../sandbox/mod.ts";
import { createRemoteExecutor } from "../../sandbox/remote.ts";
import type { ExecuteRequest, Executor } from "../../sandbox/types.ts";
import { runBenchmark } from "../run.ts";
import { type CommandSpec, integer, type Parsed, runCommand } from "./_args.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const SHARED = join(REPO, "../shared/datasets");

interface Rate {
  readonly label: string;
  readonly executions: number;
  readonly seconds: number;
  readonly passed?: number;
}

interface Latency {
  readonly label: string;
  readonly p50: number;
  readonly mean: number;
  readonly p99: number;
}

/** A replica of `deno task sandbox serve` in a process of its own. */
async function startReplica(workers: number, languages: string): Promise<{
  url: string;
  stop: () => Promise<void>;
}> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      join(REPO, "src/cli/sandbox.ts"),
      "serve",
      "--port=0",
      `--workers=${workers}`,
      `--languages=${languages}`,
      "--max-queue=4096",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready:")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The replica exited before it was ready: ${text}`);
    text += value;
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  const url = /listening at (http:\/\/[^/ ]+)\//.exec(text)![1]!;
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

function mbppPrograms(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).map((line) => {
    const r = JSON.parse(line);
    return `${r.code}\n${r.test_setup_code}\n${r.test_list.join("\n")}`;
  });
}

async function timeExecutor(label: string, executor: Executor, codes: string[]): Promise<Rate> {
  const started = performance.now();
  const executions = await Promise.all(
    codes.map((code) => executor.execute({ language: "python", mode: "test", code })),
  );
  const seconds = (performance.now() - started) / 1000;
  const passed = executions.filter((e) => e.status === "passed").length;
  return { label, executions: codes.length, seconds, passed };
}

async function timeRunCode(
  label: string,
  url: string,
  codes: string[],
  concurrency: number,
): Promise<Rate> {
  let next = 0;
  let passed = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < codes.length) {
      const code = codes[next++]!;
      const response = await fetch(`${url}/run_code`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ code, language: "python" }),
      });
      if ((await response.json()).status === "Success") passed++;
    }
  }));
  return { label, executions: codes.length, seconds: (performance.now() - started) / 1000, passed };
}

async function latency(label: string, count: number, once: () => Promise<unknown>) {
  for (let i = 0; i < 10; i++) await once(); // warm
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return { label, p50: at(0.5), mean, p99: at(0.99) } satisfies Latency;
}

async function compileRate(label: string, options: Record<string, unknown>): Promise<Rate> {
  const reports = await Deno.makeTempDir({ prefix: "perf-service-" });
  try {
    const result = await runBenchmark(getBenchmark("codexglue-translation"), {
      model: "reference",
      reportsDir: reports,
      fresh: true,
      ...options,
    });
    const { executions, seconds } = result.report.throughput;
    return { label, executions, seconds, passed: result.report.statusCounts.passed };
  } finally {
    await Deno.remove(reports, { recursive: true });
  }
}

async function haproxyFor(url: string): Promise<{ url: string; stop: () => Promise<void> } | null> {
  const binary = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].find(existsSync);
  if (!binary) return null;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = await Deno.makeTempDir({ prefix: "perf-haproxy-" });
  const config = readFileSync(join(REPO, "deploy/haproxy/haproxy.cfg"), "utf8")
    .replace("bind :8080", `bind 127.0.0.1:${port}`)
    .replace("/etc/haproxy/errors/", join(REPO, "deploy/haproxy/errors/"))
    .replace(/^ *server-template .*$/m, `    server r0 ${new URL(url).host}`);
  await Deno.writeTextFile(join(dir, "haproxy.cfg"), config);
  const child = new Deno.Command(binary, {
    args: ["-db", "-f", join(dir, "haproxy.cfg")],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function rateLine(r: Rate): string {
  const passed = r.passed === undefined ? "" : `, ${r.passed} passed`;
  return `  ${r.label.padEnd(46)} ${r.executions} in ${r.seconds.toFixed(2)} s = ` +
    `${(r.executions / r.seconds).toFixed(1)}/s${passed}`;
}

function latencyLine(l: Latency): string {
  return `  ${l.label.padEnd(46)} p50 ${l.p50.toFixed(2)} ms, mean ${l.mean.toFixed(2)} ms, ` +
    `p99 ${l.p99.toFixed(2)} ms`;
}

/** The `perf:service` command line. */
export const PERF_SERVICE = {
  name: "perf:service",
  summary: "Measures the sandbox service against the in-process executor on this machine, with " +
    "the same workers: MBPP gold programs (in-process, remote executor, /run_code), a " +
    "compile-mode bench (CodeXGLUE C#), and the per-request overhead of /run_code directly and " +
    "through haproxy. The variants take turns; run it with nice -n 10 on a shared machine.",
  options: {
    workers: { type: "string", value: "N", help: "workers each side (default: CPU cores)" },
    mbpp: { type: "string", value: "PATH", help: "mbpp.jsonl (default ../shared/datasets/mbpp)" },
    codexglue: {
      type: "string",
      value: "DIR",
      help: "CodeXGLUE code-to-code-trans folder (default ../shared/datasets/...)",
    },
    "compile-limit": {
      type: "string",
      value: "N",
      help: "tasks of the compile-mode bench (default 500)",
    },
    requests: { type: "string", value: "N", help: "sequential requests per latency (default 200)" },
    concurrency: { type: "string", value: "N", help: "/run_code requests at once (default 8)" },
    repeat: { type: "string", value: "N", help: "rounds of the throughput variants (default 1)" },
    json: { type: "boolean", help: "print the results as JSON too" },
  },
} as const satisfies CommandSpec;

async function measure({ values: given }: Parsed<typeof PERF_SERVICE>): Promise<number> {
  const values = {
    ...given,
    mbpp: given.mbpp ?? join(SHARED, "mbpp/mbpp.jsonl"),
    codexglue: given.codexglue ?? join(SHARED, "codexglue-code-to-code-trans"),
    "compile-limit": String(integer("compile-limit", given["compile-limit"], 1) ?? 500),
    requests: String(integer("requests", given.requests, 1) ?? 200),
    concurrency: String(integer("concurrency", given.concurrency, 1) ?? 8),
    repeat: String(integer("repeat", given.repeat) ?? 1),
  };
  const workers = integer("workers", values.workers, 1) ?? navigator.hardwareConcurrency;
  const codes = mbppPrograms(values.mbpp);
  const rates: Rate[] = [];
  const latencies: Latency[] = [];
  const replica = await startReplica(workers, "python");
  const local = await createExecutor({ languages: ["python"], workers });
  try {
    const remote = await createRemoteExecutor({ urls: [replica.url], languages: ["python"] });
    const compile = { data: values.codexglue, limit: Number(values["compile-limit"]), workers };
    const runCodeLabel = `MBPP gold, service (/run_code, ${values.concurrency} at once)`;
    // The variants take turns, so that a machine shared with other work loads them alike.
    for (let round = 0; round < Number(values.repeat); round++) {
      rates.push(await timeExecutor("MBPP gold, in-process executor", local, codes));
      rates.push(await timeExecutor("MBPP gold, service (remote executor)", remote, codes));
      rates.push(
        await timeRunCode(runCodeLabel, replica.url, codes, Number(values.concurrency)),
      );
      rates.push(await compileRate("compile mode (CodeXGLUE C#), in-process", compile));
      // A fresh replica each round: its compile checker's verdict cache starts empty, as the
      // in-process run's does.
      const compiler = await startReplica(workers, "csharp");
      try {
        rates.push(
          await compileRate("compile mode (CodeXGLUE C#), service", {
            ...compile,
            sandboxUrls: [compiler.url],
          }),
        );
      } finally {
        await compiler.stop();
      }
    }
    const trivial: ExecuteRequest = { language: "python", mode: "run", code: "pass" };
    const count = Number(values.requests);
    latencies.push(
      await latency("one `pass`, in-process execute()", count, () => local.execute(trivial)),
    );
    const post = (url: string) => () =>
      fetch(`${url}/run_code`, {
        method: "POST",
        body: JSON.stringify({ code: "pass", language: "python" }),
      }).then((r) => r.json());
    latencies.push(await latency("one `pass`, POST /run_code", count, post(replica.url)));
    const proxy = await haproxyFor(replica.url);
    if (proxy) {
      latencies.push(
        await latency("one `pass`, POST /run_code through haproxy", count, post(proxy.url)),
      );
      await proxy.stop();
    }
    await remote.close();
  } finally {
    await local.close();
    await replica.stop();
  }
  console.log(`perf:service, ${navigator.hardwareConcurrency} cores, ${workers} workers each side`);
  for (const r of rates) console.log(rateLine(r));
  console.log("  best of each:");
  const best = new Map<string, Rate>();
  for (const r of rates) {
    const seen = best.get(r.label);
    if (!seen || r.executions / r.seconds > seen.executions / seen.seconds) best.set(r.label, r);
  }
  for (const r of best.values()) console.log(rateLine(r));
  for (const l of latencies) console.log(latencyLine(l));
  const overhead = latencies[1]!.p50 - latencies[0]!.p50;
  console.log(`  HTTP overhead per request (p50): ${overhead.toFixed(2)} ms`);
  if (values.json) console.log(JSON.stringify({ rates, latencies, overheadMs: overhead }));
  return 0;
}

if (import.meta.main) await runCommand(PERF_SERVICE, measure);
