import assert from "node:assert/strict";
import { join } from "node:path";
import { getBenchmark } from "../benchmarks/mod.ts";
import { runBenchmark } from "../src/run.ts";
import { fixturePath } from "./_shared.ts";

Deno.test("runBenchmark() refuses what it cannot measure", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("--model reference on a split without gold code (MapCoder's 150)", async () => {
      await assert.rejects(
        runBenchmark(getBenchmark("apps"), {
          data: fixturePath("fidelity/apps_mapcoder_layout.jsonl"),
          allowUnverified: true,
          split: "mapcoder-150",
          reportsDir: join(dir, "reports"),
        }),
        {
          name: "RangeError",
          message:
            'Cannot run --model reference as none of the 3 tasks of split "mapcoder-150" has gold code: a self-check needs gold solutions; use a split that has them, or evaluate a model',
        },
      );
    });
    const csn = {
      data: fixturePath("benchmarks/codesearchnet/java_train_15.jsonl.gz"),
      allowUnverified: true,
      limit: 2,
      workers: 2,
      reportsDir: join(dir, "reports"),
    };
    await t.step("--k where tasks have no tests (they are only compiled)", async () => {
      await assert.rejects(runBenchmark(getBenchmark("codesearchnet"), { ...csn, k: [1] }), {
        name: "RangeError",
        message:
          "Cannot report pass@1 on codesearchnet as its tasks have no tests (they are only compiled): leave out --k",
      });
    });
    await t.step("and reports no pass@k there by default", async () => {
      const { report } = await runBenchmark(getBenchmark("codesearchnet"), csn);
      assert.deepEqual(Object.keys(report.metrics).filter((m) => m.startsWith("pass@")), []);
      assert.deepEqual(report.config.k, []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
