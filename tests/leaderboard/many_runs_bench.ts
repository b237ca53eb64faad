/**
 * The leaderboard over 1,000 generated reports: `deno bench -A tests/leaderboard/`.
 * Prints the cold response time (every report read and validated) and the time over HTTP, then
 * benchmarks warm requests of the front page, a full benchmark board, a run page and the API.
 *
 * @module
 */

import { createApp } from "../../src/leaderboard/app.ts";
import type { Report } from "../../src/report/schema.ts";
import { createFolderStore } from "../../src/report/store.ts";
import { readFixture, RUNS, writeReport } from "./report_fixtures.ts";

const RUN_COUNT = 1000;

/** Writes `count` reports: three benchmarks, a few comparability groups each, spread over a year. */
async function generateReports(dir: string, count: number): Promise<void> {
  const base = await readFixture(RUNS.tiny);
  for (let i = 0; i < count; i++) {
    const benchmark = ["mbpp", "apps", "humaneval"][i % 3]!;
    const pass = (i * 7919 % 1000) / 1000;
    const report: Report = {
      ...base,
      id: `run-${i}`,
      comparabilityKey: `${benchmark}-key-${i % 4}`,
      config: { ...base.config, benchmark },
      provenance: {
        ...base.provenance,
        startedAt: new Date(Date.UTC(2026, 0, 1) + i * 8.64e6 * 3).toISOString(),
      },
      metrics: { ...base.metrics, "pass@1": pass, compile_rate: Math.min(1, pass + 0.2) },
    };
    await writeReport(dir, { folder: benchmark, run: `run-${i}` }, report);
  }
}

async function timed(label: string, fn: () => Promise<Response>): Promise<void> {
  const start = performance.now();
  const response = await fn();
  const bytes = (await response.arrayBuffer()).byteLength;
  const ms = performance.now() - start;
  console.log(
    `${label}: ${response.status} in ${ms.toFixed(1)} ms (${(bytes / 1024).toFixed(0)} KiB)`,
  );
}

const dir = await Deno.makeTempDir({ prefix: "ppocoder-many-runs-" });
await generateReports(dir, RUN_COUNT);
const app = createApp(createFolderStore(dir));
await timed(`GET / over ${RUN_COUNT} reports, cold`, () => Promise.resolve(app.request("/")));
await timed(`GET / over ${RUN_COUNT} reports, warm`, () => Promise.resolve(app.request("/")));

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
const url = `http://127.0.0.1:${server.addr.port}`;
await timed("GET / over HTTP on loopback", () => fetch(`${url}/`));
await timed("GET /benchmarks/mbpp over HTTP (334 runs)", () => fetch(`${url}/benchmarks/mbpp`));
await server.shutdown();

Deno.bench("GET / (1,000 runs, warm)", async () => {
  await (await app.request("/")).arrayBuffer();
});
Deno.bench("GET /benchmarks/mbpp (334 runs, every row)", async () => {
  await (await app.request("/benchmarks/mbpp")).arrayBuffer();
});
Deno.bench("GET /runs/mbpp/run-0", async () => {
  await (await app.request("/runs/mbpp/run-0")).arrayBuffer();
});
Deno.bench("GET /api/boards", async () => {
  await (await app.request("/api/boards")).arrayBuffer();
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
