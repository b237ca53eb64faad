/**
 * The leaderboard over 1,000 generated reports with pathological runs among them:
 * `deno bench -A tests/leaderboard/many_runs_bench.ts`.
 *
 * The bad runs are the ones issue 14 reproduced: an 80 MB line in a run's `executions.jsonl`, an
 * `executions.jsonl` that is a FIFO, a `report.json` that is a FIFO, a report whose
 * `config.model.settings` is nested 100,000 levels deep, and a truncated `report.json`. Every page
 * must answer within 1 s (the bad runs' own pages with a 4xx or a listed problem): the script
 * prints each page's status and time, cold (nothing cached) and warm, and exits 1 if one is over.
 * Then it benchmarks warm requests.
 *
 * @module
 */

import { join } from "node:path";
import { createApp } from "../../src/leaderboard/app.ts";
import type { Report } from "../../src/report/schema.ts";
import { createFolderStore } from "../../src/report/store.ts";
import { FIXTURES, readFixture, RUNS, writeReport } from "./report_fixtures.ts";

const RUN_COUNT = 1000;
const LIMIT_MS = 1000;

const MODELS: readonly Report["config"]["model"][] = [
  { backend: "openai", id: "qwen2.5-coder-7b", settings: { api: "chat" } },
  { backend: "openai", id: "qwen2.5-coder-7b", settings: { api: "completions" } },
  { backend: "openai", id: "deepseek-coder-6.7b", settings: { api: "completions" } },
  { backend: "onnx", id: "codellama-7b", settings: { dtype: "fp16" } },
  { backend: "samples", id: "baseline.jsonl", settings: {} },
];

/** Writes `count` reports: three benchmarks, a few comparability groups each, spread over a year. */
async function generateReports(dir: string, count: number): Promise<Report> {
  const base = await readFixture(RUNS.tiny);
  for (let i = 0; i < count; i++) {
    const benchmark = ["mbpp", "apps", "humaneval"][i % 3]!;
    const pass = (i * 7919 % 1000) / 1000;
    const report: Report = {
      ...base,
      id: `run-${i}`,
      comparabilityKey: `${benchmark}-key-${i % 4}`,
      keyFields: { ...base.keyFields, shots: i % 4 },
      config: { ...base.config, benchmark, model: MODELS[i % MODELS.length]! },
      provenance: {
        ...base.provenance,
        startedAt: new Date(Date.UTC(2026, 0, 1) + i * 8.64e6 * 3).toISOString(),
      },
      metrics: { ...base.metrics, "pass@1": pass, compile_rate: Math.min(1, pass + 0.2) },
    };
    await writeReport(dir, { folder: benchmark, run: `run-${i}` }, report);
  }
  for (const file of ["generations.jsonl", "executions.jsonl"]) {
    await Deno.copyFile(
      join(FIXTURES, RUNS.tiny.folder, RUNS.tiny.run, file),
      join(dir, "mbpp", "run-0", file),
    );
  }
  return base;
}

async function mkfifo(path: string): Promise<void> {
  const { success } = await new Deno.Command("mkfifo", { args: [path] }).output();
  if (!success) throw new Error(`Cannot make the FIFO "${path}": mkfifo failed`);
}

/** The pathological runs, each in `mbpp/`. */
async function writeBadRuns(dir: string, base: Report): Promise<void> {
  const bad = (run: string) => writeReport(dir, { folder: "mbpp", run }, { ...base, id: run });
  await bad("long-line");
  const flood = "x".repeat(80 * 1024 * 1024);
  const execution = { status: "failed", compiled: true, stdout: flood, stderr: "" };
  await Deno.writeTextFile(
    join(dir, "mbpp", "long-line", "executions.jsonl"),
    JSON.stringify({ taskId: "mbpp/11", index: 0, execution }) + "\n",
  );
  await bad("fifo-records");
  await mkfifo(join(dir, "mbpp", "fifo-records", "executions.jsonl"));
  await Deno.mkdir(join(dir, "mbpp", "fifo-report"), { recursive: true });
  await mkfifo(join(dir, "mbpp", "fifo-report", "report.json"));
  const depth = 100_000;
  await writeReport(
    dir,
    { folder: "mbpp", run: "deep" },
    JSON.stringify({ ...base, id: "deep" }).replace(
      /"settings":\{[^}]*\}/,
      `"settings":{"x":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`,
    ),
  );
  const full = JSON.stringify({ ...base, id: "truncated" });
  await writeReport(dir, { folder: "mbpp", run: "truncated" }, full.slice(0, full.length / 2));
}

const PAGES = [
  "/",
  "/benchmarks/mbpp",
  "/api/boards",
  "/runs/mbpp/run-0",
  "/runs/mbpp/run-0/task?id=mbpp%2F12",
  "/runs/mbpp/long-line",
  "/runs/mbpp/long-line/task?id=mbpp%2F11",
  "/runs/mbpp/fifo-records/task?id=mbpp%2F11",
  "/runs/mbpp/deep",
  "/runs/mbpp/truncated",
  "/api/runs/mbpp/truncated",
];

/** Requests every page, printing status and time; returns the pages over the limit. */
async function timePages(label: string, get: (path: string) => Promise<Response>) {
  const slow: string[] = [];
  for (const path of PAGES) {
    const start = performance.now();
    const response = await get(path);
    const bytes = (await response.arrayBuffer()).byteLength;
    const ms = performance.now() - start;
    if (ms > LIMIT_MS) slow.push(`${label} ${path}`);
    console.log(
      `${label.padEnd(5)} ${String(response.status)} ${ms.toFixed(1).padStart(7)} ms ` +
        `${(bytes / 1024).toFixed(0).padStart(5)} KiB  ${path}`,
    );
  }
  return slow;
}

const dir = await Deno.makeTempDir({ prefix: "ppocoder-many-runs-" });
const base = await generateReports(dir, RUN_COUNT);
await writeBadRuns(dir, base);
console.log(
  `${RUN_COUNT} generated runs and 5 bad ones; every page must answer within ${LIMIT_MS} ms`,
);
const app = createApp(createFolderStore(dir));
const slow = [
  ...await timePages("cold", (path) => Promise.resolve(app.request(path))),
  ...await timePages("warm", (path) => Promise.resolve(app.request(path))),
];
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
slow.push(
  ...await timePages("http", (path) => fetch(`http://127.0.0.1:${server.addr.port}${path}`)),
);
await server.shutdown();
console.log(slow.length === 0 ? "every page answered within 1 s" : `SLOW: ${slow.join(", ")}`);
if (slow.length > 0) Deno.exitCode = 1;

Deno.bench("GET / (1,005 runs, warm)", async () => {
  await (await app.request("/")).arrayBuffer();
});
Deno.bench("GET /benchmarks/mbpp (339 runs, every row)", async () => {
  await (await app.request("/benchmarks/mbpp")).arrayBuffer();
});
Deno.bench("GET /runs/mbpp/run-0", async () => {
  await (await app.request("/runs/mbpp/run-0")).arrayBuffer();
});
Deno.bench("GET /runs/mbpp/long-line/task (an 80 MB line)", async () => {
  await (await app.request("/runs/mbpp/long-line/task?id=mbpp%2F11")).arrayBuffer();
});
Deno.bench("GET /api/boards", async () => {
  await (await app.request("/api/boards")).arrayBuffer();
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
