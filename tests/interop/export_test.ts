import assert from "node:assert/strict";
import { join } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { runBenchmark } from "../../src/run.ts";
import { readJsonl } from "../../src/util/jsonl.ts";
import { fixturePath } from "../_shared.ts";

Deno.test("a run writes human-eval, EvalPlus and bigcode results beside report.json", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const { runDir, report } = await runBenchmark(getBenchmark("humaneval"), {
      model: `samples:${fixturePath("fidelity/roundtrip_samples.jsonl")}`,
      data: fixturePath("fidelity/humaneval.jsonl"),
      allowUnverified: true,
      workers: 2,
      reportsDir: join(dir, "reports"),
    });
    await t.step("samples.jsonl_results.jsonl: task_id, completion, result, passed", async () => {
      const rows = await readJsonl<Record<string, unknown>>(
        join(runDir, "samples.jsonl_results.jsonl"),
      );
      assert.equal(rows.length, 8);
      assert.deepEqual(rows[0], {
        task_id: "HumanEval/0",
        completion: "    return a + b\n",
        result: "passed",
        passed: true,
      });
      assert.deepEqual(rows.map((r) => r.result), [
        "passed",
        "failed: ",
        "passed",
        "failed: ",
        "passed",
        "failed: maximum recursion depth exceeded",
        "passed",
        "timed out",
      ]);
    });
    await t.step("eval_results.json: EvalPlus's layout, base statuses", async () => {
      const results = JSON.parse(await Deno.readTextFile(join(runDir, "eval_results.json")));
      assert.deepEqual(Object.keys(results), ["date", "hash", "eval", "pass_at_k"]);
      assert.deepEqual(
        results.eval["HumanEval/3"].map((e: { base_status: string }) => e.base_status),
        ["pass", "timeout"],
      );
      assert.equal(
        results.eval["HumanEval/0"][0].solution,
        'def add(a: int, b: int) -> int:\n    """Return a + b.\n    >>> add(2, 3)\n    5\n    """\n    return a + b\n',
      );
      assert.deepEqual(results.pass_at_k, { base: { "pass@1": 0.5 } });
    });
    await t.step("evaluation_results.json: bigcode's layout", async () => {
      const results = JSON.parse(await Deno.readTextFile(join(runDir, "evaluation_results.json")));
      assert.deepEqual(results.humaneval, { "pass@1": report.metrics["pass@1"] });
      assert.equal(results.config.n_samples, 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
