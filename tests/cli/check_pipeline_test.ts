/**
 * The regression check on real runs of the pipeline: a reference run as the baseline, a clean
 * samples file that passes, and a planted regression (compiling outputs made not to compile)
 * that fails. Needs the sandbox (bubblewrap and python3).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { formatCheck, runCheck } from "../../src/cli/check.ts";
import { runBenchmark, type RunOptions } from "../../src/run.ts";
import { fixturePath } from "../_shared.ts";

const mbpp = getBenchmark("mbpp");

Deno.test("runCheck() on real runs: a planted regression fails, a clean run passes", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-check-e2e-" });
  const options = (model: string): RunOptions => ({
    model,
    data: fixturePath("mbpp/mbpp_small.jsonl"),
    allowUnverified: true,
    split: "all",
    k: [1],
    workers: 2,
    limits: { wallMs: 5000, cpuMs: 5000, memoryMb: 256 },
    reportsDir: join(dir, "reports"),
  });
  /** The gold code of every task as a samples file; `broken` names tasks made not to compile. */
  const samples = async (name: string, broken: ReadonlySet<number>) => {
    const lines = (await Deno.readTextFile(fixturePath("mbpp/mbpp_small.jsonl"))).trimEnd().split(
      "\n",
    );
    const path = join(dir, name);
    await Deno.writeTextFile(
      path,
      lines.map((line) => {
        const { task_id: id, code } = JSON.parse(line) as { task_id: number; code: string };
        return JSON.stringify({
          task_id: id,
          solution: broken.has(id) ? `${code}\ndef broken(:\n` : code,
        });
      }).join("\n") + "\n",
    );
    return `samples:${path}`;
  };
  try {
    const baseline = await runBenchmark(mbpp, options("reference"));
    const clean = await runBenchmark(mbpp, options(await samples("clean.jsonl", new Set())));
    const planted = await runBenchmark(
      mbpp,
      options(await samples("planted.jsonl", new Set([1, 2, 3, 4, 11]))),
    );

    await t.step("the runs are comparable and the baseline compiles everywhere", () => {
      assert.equal(clean.report.comparabilityKey, baseline.report.comparabilityKey);
      assert.equal(baseline.report.metrics.compile_rate, 1);
    });

    await t.step("passes the clean run", async () => {
      const result = await runCheck({ baseline: baseline.runDir, current: clean.runDir });
      assert.equal(result.passed, true, formatCheck(result));
    });

    await t.step("fails the planted regression, naming the tasks", async () => {
      const result = await runCheck({ baseline: baseline.runDir, current: planted.runDir });
      assert.equal(result.passed, false, formatCheck(result));
      const compile = result.rows.find((r) => r.metric === "compile_rate")!;
      assert.equal(compile.verdict, "regressed");
      assert.deepEqual(
        compile.paired!.regressed.map((f) => f.taskId).sort(),
        ["mbpp/1", "mbpp/11", "mbpp/2", "mbpp/3", "mbpp/4"],
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
