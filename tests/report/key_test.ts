import assert from "node:assert/strict";
import { join } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { runBenchmark, type RunOptions } from "../../src/run.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";

const humaneval = getBenchmark("humaneval");
const REAL = "datasets/humaneval/HumanEval.jsonl.gz";

Deno.test("the comparability key identifies data by content and leaves k out", async (t) => {
  const dir = await Deno.makeTempDir();
  const run = (data: string, extra: Partial<RunOptions> = {}) =>
    runBenchmark(humaneval, {
      data,
      allowUnverified: true,
      workers: 2,
      reportsDir: join(dir, "reports"),
      generationStore: false,
      ...extra,
    });
  try {
    const jsonl = await run(fixturePath("fidelity/humaneval.jsonl"));
    await t.step("the same problems from JSONL and from parquet: one key", async () => {
      const parquet = await run(fixturePath("fidelity/humaneval.parquet"));
      assert.equal(parquet.report.comparabilityKey, jsonl.report.comparabilityKey);
      assert.equal(parquet.report.metrics["pass@1"], 1);
    });
    await t.step("k is a view: another --k, the same key and run folder", async () => {
      const other = await run(fixturePath("fidelity/humaneval.jsonl"), { k: [1] });
      assert.equal(other.report.comparabilityKey, jsonl.report.comparabilityKey);
      assert.equal(other.runDir, jsonl.runDir);
      assert.equal("k" in jsonl.report.keyFields, false);
    });
    await t.step("--name names the run folder and the report, not the key", async () => {
      const named = await run(fixturePath("fidelity/humaneval.jsonl"), { name: "my model" });
      assert.equal(named.report.config.name, "my model");
      assert.match(named.runDir, /\/my_model-[0-9a-f]{12}$/);
      assert.equal(named.report.comparabilityKey, jsonl.report.comparabilityKey);
    });
    await t.step("another task set: another key", async () => {
      const fewer = await run(fixturePath("fidelity/humaneval.jsonl"), { tasks: "0-2" });
      assert.notEqual(fewer.report.comparabilityKey, jsonl.report.comparabilityKey);
      assert.equal(fewer.report.config.taskCount, 3);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "the unpacked HumanEval.jsonl is the pinned data: verified, and one key with the .gz",
  { ignore: !hasShared(REAL) },
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const unpacked = join(dir, "HumanEval.jsonl");
      const gz = await Deno.readFile(sharedPath(REAL));
      const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
      await Deno.writeFile(unpacked, new Uint8Array(await new Response(stream).arrayBuffer()));
      const options = { tasks: "0-4", workers: 2, reportsDir: join(dir, "reports") };
      // No allowUnverified: the content is the pinned file's.
      const a = await runBenchmark(humaneval, { ...options, data: unpacked });
      const b = await runBenchmark(humaneval, { ...options, data: sharedPath(REAL) });
      assert.equal(a.report.comparabilityKey, b.report.comparabilityKey);
      assert.deepEqual(a.report.config.dataset.sha256, b.report.config.dataset.sha256);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
