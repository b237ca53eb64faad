import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { getBenchmark } from "../benchmarks/mod.ts";
import { runBenchmark } from "../src/run.ts";
import { readJsonl } from "../src/util/jsonl.ts";
import { fixturePath } from "./_shared.ts";
import type { RunOptions } from "../src/run.ts";
import type { SampleResult } from "../src/types.ts";

const mbpp = getBenchmark("mbpp");
const LIMITS = { wallMs: 4000, cpuMs: 4000, memoryMb: 256, processes: 32, outputBytes: 65536 };

/** Listens on loopback and counts connections: a sandboxed sample must never reach it. */
async function loopbackServer() {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function knownSamples(dir: string, port: number) {
  const text = await Deno.readTextFile(fixturePath("mbpp/samples_known.jsonl"));
  const path = join(dir, "samples.jsonl");
  await Deno.writeTextFile(path, text.replaceAll("PORT", String(port)));
  const expected = text.trimEnd().split("\n").map((line) =>
    JSON.parse(line).expected_status as string
  );
  return { path, expected };
}

function runOptions(dir: string, model: string): RunOptions {
  return {
    model,
    data: fixturePath("mbpp/mbpp_small.jsonl"),
    allowUnverified: true,
    split: "prompt",
    k: [1, 2, 10],
    limits: LIMITS,
    workers: 2,
    reportsDir: join(dir, "reports"),
  };
}

function hostProcessesWith(marker: string): number {
  let count = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).includes(marker)) count++;
    } catch {
      // The process ended while we looked.
    }
  }
  return count;
}

Deno.test("runBenchmark() on a samples file with known outcomes", async (t) => {
  const dir = await Deno.makeTempDir();
  const server = await loopbackServer();
  try {
    const { path, expected } = await knownSamples(dir, server.port);
    const { report, runDir } = await runBenchmark(mbpp, runOptions(dir, `samples:${path}`));

    await t.step("gives each sample its expected status", async () => {
      const results = await readJsonl<SampleResult>(join(runDir, "executions.jsonl"));
      const byKey = new Map(results.map((r) => [`${r.taskId}#${r.index}`, r.execution.status]));
      const order = ["mbpp/1", "mbpp/2", "mbpp/3", "mbpp/4"].flatMap((id) =>
        [0, 1, 2, 3].map((i) => `${id}#${i}`)
      );
      const actual = order.map((key) => byKey.get(key));
      for (const [i, status] of actual.entries()) {
        assert.ok(
          expected[i]!.split("|").includes(status!),
          `${order[i]}: expected ${expected[i]}, got ${status}`,
        );
      }
    });
    await t.step("computes pass@k with the unbiased estimator", () => {
      // Tasks pass 4/4, 1/4, 1/4, 2/4 samples.
      assert.ok(Math.abs(report.metrics["pass@1"]! - (1 + 0.25 + 0.25 + 0.5) / 4) < 1e-12);
      assert.ok(Math.abs(report.metrics["pass@2"]! - (1 + 0.5 + 0.5 + 5 / 6) / 4) < 1e-12);
      assert.equal(report.metrics["pass@10"], null);
      // One sample of 16 is a syntax error; the rest parse, infinite loops and bombs included.
      assert.equal(report.metrics.syntax_rate, 15 / 16);
      assert.equal(report.metrics.compile_rate, 15 / 16);
      assert.equal(report.config.sampling.n, 4);
    });
    await t.step("records the isolation, limits and comparability key", () => {
      assert.equal(report.provenance.isolation.mode, "bwrap");
      assert.equal(report.provenance.isolation.limits.memoryMb, 256);
      assert.match(report.comparabilityKey, /^[0-9a-f]{64}$/);
      assert.equal(report.config.model.backend, "samples");
    });
    await t.step("leaves the machine unharmed", async () => {
      assert.equal(server.connections(), 0, "a sandboxed sample reached a loopback server");
      assert.equal(hostProcessesWith("os.fork()"), 0);
      const after = await runBenchmark(mbpp, { ...runOptions(dir, "reference"), limit: 1 });
      assert.equal(after.report.metrics["pass@1"], 1);
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runBenchmark() resumes a killed run without repeating work", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const options = { ...runOptions(dir, "reference"), split: "all" };
    const first = await runBenchmark(mbpp, options);
    const executions = join(first.runDir, "executions.jsonl");
    const generations = join(first.runDir, "generations.jsonl");

    await t.step("first run executes every sample", () => {
      assert.equal(first.report.throughput.executions, 8);
      assert.deepEqual(first.resumed, { samples: 0, executions: 0 });
    });
    await t.step("a rerun after a kill runs only what is missing", async () => {
      // A killed run: 5 executions stored, the 6th cut halfway; 6 generations stored.
      const lines = (await Deno.readTextFile(executions)).split("\n");
      await Deno.writeTextFile(
        executions,
        lines.slice(0, 5).join("\n") + "\n" + lines[5]!.slice(0, 20),
      );
      const genLines = (await Deno.readTextFile(generations)).split("\n");
      await Deno.writeTextFile(generations, genLines.slice(0, 6).join("\n") + "\n");
      await Deno.remove(join(first.runDir, "report.json"));

      const second = await runBenchmark(mbpp, options);
      assert.equal(second.runDir, first.runDir);
      assert.deepEqual(second.resumed, { samples: 6, executions: 5 });
      assert.equal(second.report.throughput.executions, 3);
      assert.equal(second.report.metrics["pass@1"], 1);
      assert.equal((await readJsonl(executions)).length, 8);
    });
    await t.step("--fresh starts over", async () => {
      const third = await runBenchmark(mbpp, { ...options, fresh: true });
      assert.deepEqual(third.resumed, { samples: 0, executions: 0 });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runBenchmark() errors", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("names the tasks a samples file lacks", async () => {
      const path = join(dir, "partial.jsonl");
      await Deno.writeTextFile(
        path,
        JSON.stringify({ task_id: "Mbpp/1", completion: "x = 1" }) + "\n",
      );
      await assert.rejects(() => runBenchmark(mbpp, runOptions(dir, `samples:${path}`)), {
        name: "RangeError",
        message: new RegExp(
          `^Cannot evaluate ".*partial\\.jsonl" as it has no sample for 3 of 4 tasks \\(mbpp/2, mbpp/3, mbpp/4\\): add samples for them`,
        ),
      });
    });
    await t.step("names file and line of a malformed samples file", async () => {
      const path = join(dir, "broken.jsonl");
      await Deno.writeTextFile(path, '{"task_id": "Mbpp/1", "completion": "x"}\n{"task_id": \n');
      await assert.rejects(() => runBenchmark(mbpp, runOptions(dir, `samples:${path}`)), {
        name: "SyntaxError",
        message: new RegExp(`^Cannot read ".*broken\\.jsonl" as line 2 is not valid JSON: `),
      });
    });
    await t.step("rejects a filter field that no task has", async () => {
      await assert.rejects(
        () =>
          runBenchmark(mbpp, { ...runOptions(dir, "reference"), filter: { difficulty: "hard" } }),
        {
          name: "RangeError",
          message:
            'Cannot filter tasks on "difficulty" as no task has that field: use one of split, tests',
        },
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
