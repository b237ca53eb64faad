/**
 * `deno task bench` killed with SIGKILL at random moments, then resumed; two invocations of the
 * same command at once; Ctrl-C. Each time the final report must equal a clean run's (timestamps,
 * throughput and the request count of the last attempt aside), with every sample generated and
 * executed exactly once in the run's records.
 *
 * The run: 24 MBPP-format tasks (the fixture's, cloned) whose test setup sleeps 80 ms, answered by
 * an OpenAI-compatible server in this process that takes 150 ms per request, judged in the real
 * sandbox; about 3 s in all, so that kills land in generation, in judging and in between.
 *
 * CI runs 3 kills and one pair; `PPOCODER_KILLS=12 PPOCODER_TWICE=10 deno test -A
 * tests/cli/kill_resume_test.ts` runs more (the figures in the README). `PPOCODER_KILL_SEED`
 * replays a sequence of kill times and offsets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixturePath } from "../_shared.ts";
import type { Report } from "../../src/report/schema.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const KILLS = Number(Deno.env.get("PPOCODER_KILLS") ?? 3);
const TWICE = Number(Deno.env.get("PPOCODER_TWICE") ?? 1);
const SEED = Number(Deno.env.get("PPOCODER_KILL_SEED") ?? Date.now() % 100_000);
const TASKS = 24;

/** MBPP-format tasks: the fixture's eight, cloned, each marked so the server knows which it is. */
async function writeDataset(path: string): Promise<Map<number, string>> {
  const fixture = (await Deno.readTextFile(fixturePath("mbpp/mbpp_small.jsonl"))).trim().split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const gold = new Map<number, string>();
  const lines = Array.from({ length: TASKS }, (_, i) => {
    const source = fixture[i % fixture.length]!;
    const id = i + 1;
    gold.set(id, String(source.code));
    return JSON.stringify({
      ...source,
      task_id: id,
      text: `[[task ${id}]] ${source.text}`,
      test_setup_code: "import time\ntime.sleep(0.08)",
    });
  });
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return gold;
}

/** What the model answers for a task: its gold code, a compile error, or a wrong program. */
function answer(id: number, gold: ReadonlyMap<number, string>): string {
  if (id % 6 === 0) return "def broken(:\n    pass\n";
  if (id % 6 === 1) return "def nothing():\n    return None\n";
  return `${gold.get(id)}\n`;
}

/** An OpenAI-compatible server: 150 ms per request, a deterministic answer per task. */
function fakeServer(gold: ReadonlyMap<number, string>) {
  const requests = new Map<number, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json() as { prompt: string; n: number };
    const id = Number(/\[\[task (\d+)\]\]/.exec(body.prompt)?.[1]);
    requests.set(id, (requests.get(id) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const choices = Array.from({ length: body.n }, (_, index) => ({
      index,
      text: answer(id, gold),
    }));
    return Response.json({ choices, usage: { prompt_tokens: 50, completion_tokens: 20 } });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    requests,
    close: () => server.shutdown(),
  };
}

function benchArgs(data: string, baseUrl: string, reports: string): string[] {
  return [
    "run",
    "--allow-all",
    "src/cli/bench.ts",
    "mbpp",
    "--model",
    "openai:fake-coder",
    "--backend",
    `base-url=${baseUrl}`,
    "--backend",
    "concurrency=4",
    "--data",
    data,
    "--allow-unverified",
    "--split",
    "all",
    "--k",
    "1",
    "--workers",
    "2",
    "--timeout",
    "5000",
    "--reports",
    reports,
    "--json",
  ];
}

function spawnBench(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function finish(child: Deno.ChildProcess): Promise<Finished> {
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** The one run folder under `reports/mbpp/`. */
function runDir(reports: string): string {
  const runs = [...Deno.readDirSync(join(reports, "mbpp"))].filter((e) => e.isDirectory);
  assert.equal(runs.length, 1, runs.map((r) => r.name).join(", "));
  return join(reports, "mbpp", runs[0]!.name);
}

/** A report without what legitimately differs between attempts. */
function comparable(report: Report): unknown {
  const { provenance, throughput: _t, usage, ...rest } = report;
  const { startedAt: _s, finishedAt: _f, ...kept } = provenance;
  return { ...rest, provenance: kept, usage: usage && { ...usage, requests: "per attempt" } };
}

/**
 * Checks a finished run folder: the report equals the clean one, and each sample has exactly one
 * generation and one execution record, every line whole.
 */
async function assertComplete(dir: string, clean: unknown, label: string): Promise<void> {
  const report = JSON.parse(await Deno.readTextFile(join(dir, "report.json"))) as Report;
  assert.deepEqual(comparable(report), clean, `${label}: the report differs from a clean run's`);
  for (const file of ["generations.jsonl", "executions.jsonl"]) {
    const text = await Deno.readTextFile(join(dir, file));
    assert.ok(text.endsWith("\n"), `${label}: ${file} ends in a partial line`);
    const keys = text.trimEnd().split("\n").map((line) => {
      const record = JSON.parse(line) as { taskId: string; index: number };
      return `${record.taskId}#${record.index}`;
    });
    assert.equal(keys.length, TASKS, `${label}: ${file} has ${keys.length} records for ${TASKS}`);
    assert.equal(new Set(keys).size, TASKS, `${label}: ${file} holds a sample twice`);
  }
}

/** Files after a kill: whole lines, but for at most one partial last line. */
async function assertAtMostTailCut(dir: string, label: string): Promise<void> {
  for (const file of ["generations.jsonl", "executions.jsonl"]) {
    const text = await Deno.readTextFile(join(dir, file)).catch(() => "");
    const lines = text.split("\n").slice(0, -1);
    for (const [i, line] of lines.entries()) {
      assert.doesNotThrow(() => JSON.parse(line), `${label}: ${file} line ${i + 1} is not whole`);
    }
  }
}

/** mulberry32: kill times that a seed replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name: "bench killed, resumed, run twice at once, interrupted: the same report every time",
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ppocoder-kill-" });
    const data = join(dir, "mbpp.jsonl");
    const gold = await writeDataset(data);
    const server = fakeServer(gold);
    const args = (reports: string) => benchArgs(data, server.baseUrl, reports);
    try {
      const cleanReports = join(dir, "clean");
      const started = performance.now();
      const cleanChild = spawnBench(args(cleanReports));
      await waitForLock(cleanReports);
      const startupMs = performance.now() - started;
      const cleanRun = await finish(cleanChild);
      const cleanMs = performance.now() - started;
      assert.equal(cleanRun.code, 0, cleanRun.stderr);
      const cleanDir = runDir(cleanReports);
      const clean = comparable(JSON.parse(await Deno.readTextFile(join(cleanDir, "report.json"))));
      const statuses = (clean as Report).statusCounts;
      assert.ok(statuses.passed > 0 && statuses.compile_error > 0, JSON.stringify(statuses));
      await assertComplete(cleanDir, clean, "clean run");
      console.log(
        `clean run: ${cleanMs.toFixed(0)} ms, the first ${startupMs.toFixed(0)} ms before the ` +
          `run folder is taken; statuses ${JSON.stringify(statuses)}`,
      );

      await t.step(`SIGKILL at ${KILLS} random moments, then resume (seed ${SEED})`, async () => {
        const next = random(SEED);
        const landed: string[] = [];
        for (let i = 0; i < KILLS; i++) {
          const reports = join(dir, `kill-${i}`);
          const child = spawnBench(args(reports));
          // One kill in six may land during start-up; the others once the run folder is taken.
          const early = i % 6 === 5;
          if (!early) await waitForLock(reports);
          const at = next() * (early ? cleanMs : cleanMs - startupMs);
          await sleep(at);
          try {
            child.kill("SIGKILL");
          } catch (error) {
            // The run finished first (the machine was faster than the clean run): a kill after
            // the end, which the resume below must take as a finished run.
            if (!(error instanceof TypeError)) throw error;
          }
          const killed = await finish(child);
          const where = await stageAtKill(reports);
          const from = early ? "after the start" : "after the run folder was taken";
          landed.push(
            `${at.toFixed(0)} ms ${from}: ${killed.code === 0 ? "had finished" : where}`,
          );
          if (where !== "before the run folder") {
            await assertAtMostTailCut(runDir(reports), `kill ${i}`);
          }
          const resumed = await finish(spawnBench(args(reports)));
          assert.equal(resumed.code, 0, resumed.stderr);
          await assertComplete(runDir(reports), clean, `kill ${i} at ${at.toFixed(0)} ms`);
        }
        console.log(`kills (seed ${SEED}):\n  ${landed.join("\n  ")}`);
      });

      await t.step(`two invocations of the same command at once, ${TWICE} times`, async () => {
        const next = random(SEED + 1);
        const offsets: string[] = [];
        for (let i = 0; i < TWICE; i++) {
          const reports = join(dir, `twice-${i}`);
          const offset = i === 0 ? 150 : next() * cleanMs / 2;
          const first = spawnBench(args(reports));
          await sleep(offset);
          const second = spawnBench(args(reports));
          const outcomes = await Promise.all([finish(first), finish(second)]);
          const ok = outcomes.filter((o) => o.code === 0);
          const refused = outcomes.filter((o) => o.code !== 0);
          offsets.push(`second started ${offset.toFixed(0)} ms after the first: one refused`);
          assert.equal(ok.length, 1, outcomes.map((o) => o.stderr).join("\n---\n"));
          assert.equal(refused[0]!.code, 1);
          assert.match(
            refused[0]!.stderr,
            /error: Cannot use run folder ".*" as another run is using it \(pid \d+ on .*, since .*\): a run folder takes one run at a time/,
          );
          await assertComplete(runDir(reports), clean, `two at once, ${i}`);
        }
        console.log(`two at once (seed ${SEED + 1}):\n  ${offsets.join("\n  ")}`);
        const reports = join(dir, "twice-0");
        const again = await finish(spawnBench(args(reports)));
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stderr, /resuming: 24 of 24 generations and 24 executions stored/);
        await assertComplete(runDir(reports), clean, "rerun after two at once");
      });

      await t.step("Ctrl-C says how to resume, and the same command resumes", async () => {
        const reports = join(dir, "interrupted");
        const child = spawnBench(args(reports));
        await waitForLines(reports, "generations.jsonl", 8);
        child.kill("SIGINT");
        const interrupted = await finish(child);
        assert.equal(interrupted.code, 130, interrupted.stderr);
        assert.match(interrupted.stderr, /\ninterrupted: rerun the same command to resume\n$/);
        const resumed = await finish(spawnBench(args(reports)));
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.match(
          resumed.stderr,
          /run folder .*: 24 tasks × 1 sample; resuming: \d+ of 24 generations/,
        );
        await assertComplete(runDir(reports), clean, "after Ctrl-C");
      });
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Where a killed run had got to, from what its folder holds. */
async function stageAtKill(reports: string): Promise<string> {
  let dir: string;
  try {
    dir = runDir(reports);
  } catch {
    return "before the run folder";
  }
  const lines = async (file: string) =>
    (await Deno.readTextFile(join(dir, file)).catch(() => "")).split("\n").length - 1;
  const [generated, executed] = [await lines("generations.jsonl"), await lines("executions.jsonl")];
  const report = await Deno.stat(join(dir, "report.json")).then(() => true, () => false);
  if (report) return "after the report";
  if (generated < TASKS) return `generating (${generated} of ${TASKS} stored)`;
  return `judging (${executed} of ${TASKS} stored)`;
}

/** Waits until a run under `reports` holds its folder's lock (its start line is printed). */
async function waitForLock(reports: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const text = await Deno.readTextFile(join(runDir(reports), ".lock"));
      if (text.includes('"pid"')) return;
    } catch {
      // not there yet
    }
    await sleep(10);
  }
  throw new Error(`no run took a folder under "${reports}" within 60 s`);
}

async function waitForLines(reports: string, file: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const text = await Deno.readTextFile(join(runDir(reports), file));
      if (text.split("\n").length - 1 >= count) return;
    } catch {
      // not there yet
    }
    await sleep(20);
  }
  throw new Error(`${file} did not reach ${count} lines within 30 s`);
}
