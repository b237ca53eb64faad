import assert from "node:assert/strict";
import { join } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { importRun } from "../../src/interop/import.ts";
import { fixturePath } from "../_shared.ts";

const humaneval = getBenchmark("humaneval");
const DATA = { data: fixturePath("fidelity/humaneval.jsonl"), allowUnverified: true };

Deno.test("importRun() makes published verdicts a run marked imported", async (t) => {
  const dir = await Deno.makeTempDir();
  const file = async (name: string, text: string) => {
    await Deno.writeTextFile(join(dir, name), text);
    return join(dir, name);
  };
  try {
    await t.step("human-eval <samples>_results.jsonl", async () => {
      const path = await file(
        "samples.jsonl_results.jsonl",
        [
          {
            task_id: "HumanEval/0",
            completion: "    return a + b\n",
            result: "passed",
            passed: true,
          },
          {
            task_id: "HumanEval/0",
            completion: "    while True: pass\n",
            result: "timed out",
            passed: false,
          },
          {
            task_id: "HumanEval/1",
            completion: "    return s\n",
            result: "failed: ",
            passed: false,
          },
        ].map((r) => JSON.stringify(r)).join("\n") + "\n",
      );
      const { report, reportPath } = await importRun(path, humaneval, { ...DATA, reportsDir: dir });
      assert.equal(report.config.imported?.format, "human-eval-results");
      assert.equal(report.config.model.backend, "imported");
      assert.deepEqual(report.tasks.map((x) => [x.taskId, x.statuses]), [
        ["humaneval/0", ["passed", "timeout"]],
        ["humaneval/1", ["failed"]],
      ]);
      assert.equal(report.metrics["pass@1"], (0.5 + 0) / 2);
      assert.match(String(report.keyFields.limitsPreset), /^imported \(human-eval-results\)$/);
      assert.ok(reportPath.startsWith(join(dir, "humaneval")));
    });
    await t.step("EvalPlus eval_results.json, base or plus verdicts", async () => {
      const entry = (base: string, plus: string) => ({
        task_id: "HumanEval/2",
        solution: "def fib4(n): ...",
        base_status: base,
        plus_status: plus,
        base_fail_tests: [],
        plus_fail_tests: [],
      });
      const path = await file(
        "eval_results.json",
        JSON.stringify({
          date: "2024-08-10 10:00",
          hash: "fe585eb4df8c88d844eeb463ea4d0302",
          eval: { "HumanEval/2": [entry("pass", "fail"), entry("pass", "pass")] },
        }),
      );
      const base = await importRun(path, humaneval, { ...DATA, reportsDir: dir });
      assert.deepEqual(base.report.tasks[0]!.statuses, ["passed", "passed"]);
      assert.equal(base.report.metrics["plus_pass@1"], 0.5);
      assert.deepEqual(base.report.config.imported?.details, {
        date: "2024-08-10 10:00",
        hash: "fe585eb4df8c88d844eeb463ea4d0302",
      });
      const plus = await importRun(path, humaneval, { ...DATA, reportsDir: dir, verdict: "plus" });
      assert.deepEqual(plus.report.tasks[0]!.statuses, ["failed", "passed"]);
      assert.notEqual(plus.report.comparabilityKey, base.report.comparabilityKey);
    });
    await t.step("EvalPlus's legacy layout", async () => {
      const path = await file(
        "legacy_eval_results.json",
        JSON.stringify({
          date: "2024-03-27 15:50",
          hash: "84f4b93a1270b492e4c54d5212da7a5b",
          eval: { "HumanEval/3": { nfiles: 1, base: [["success", [1]]], plus: [["failed", [0]]] } },
        }),
      );
      const { report } = await importRun(path, humaneval, { ...DATA, reportsDir: dir });
      assert.equal(report.config.imported?.format, "evalplus-eval-results-legacy");
      assert.deepEqual(report.tasks[0]!.statuses, ["passed"]);
    });
    await t.step("an id the benchmark does not have is refused", async () => {
      const path = await file(
        "bad_results.jsonl",
        JSON.stringify({
          task_id: "HumanEval/77",
          completion: "",
          result: "passed",
          passed: true,
        }) + "\n",
      );
      await assert.rejects(importRun(path, humaneval, { ...DATA, reportsDir: dir }), {
        name: "RangeError",
        message:
          `Cannot import "${path}" as 1 of its task ids are not tasks of split "test" (HumanEval/77): choose the split that has them with --split`,
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
