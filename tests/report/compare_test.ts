import assert from "node:assert/strict";
import {
  binomialTwoSided,
  binomialUpperTail,
  bootstrapMean,
  comparability,
  metricInterval,
  pairedComparison,
  taskValues,
  wilson,
} from "../../src/report/compare.ts";
import { readFixture, RUNS, withStatus } from "../leaderboard/report_fixtures.ts";

const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not close to ${expected}`);

Deno.test("comparability()", async (t) => {
  const [reference, tiny, n5] = await Promise.all([
    readFixture(RUNS.reference),
    readFixture(RUNS.tiny),
    readFixture(RUNS.n5),
  ]);

  await t.step("accepts runs with the same key", () => {
    assert.deepEqual(comparability(reference, tiny), { comparable: true });
  });

  await t.step("names the key fields that differ", () => {
    const verdict = comparability(reference, n5);
    assert.equal(verdict.comparable, false);
    if (verdict.comparable) return;
    assert.equal(
      verdict.reason,
      "The runs are not comparable as their comparability keys differ in n, k",
    );
    assert.deepEqual(verdict.differences, [
      { field: "n", a: "1", b: "5" },
      { field: "k", a: "[1]", b: "[1,5]" },
    ]);
  });

  await t.step("refuses different keys even when no stored field differs", () => {
    const verdict = comparability(reference, { ...tiny, comparabilityKey: "other" });
    assert.equal(verdict.comparable, false);
    if (!verdict.comparable) assert.match(verdict.reason, /stored key fields are equal$/);
  });

  await t.step("says which run lacks a field", () => {
    const { limits: _, ...fields } = tiny.keyFields;
    const verdict = comparability(reference, { ...tiny, comparabilityKey: "x", keyFields: fields });
    if (verdict.comparable) assert.fail("expected a refusal");
    assert.equal(verdict.differences[0]!.field, "limits");
    assert.equal(verdict.differences[0]!.b, "absent");
  });
});

Deno.test("taskValues()", async (t) => {
  const n5 = await readFixture(RUNS.n5);

  await t.step("gives pass@k per task from the unbiased estimator", () => {
    const values = taskValues(n5.tasks, "pass@5")!;
    for (const task of n5.tasks) assert.equal(values.get(task.taskId), task.passed > 0 ? 1 : 0);
    const mean = [...taskValues(n5.tasks, "pass@1")!.values()].reduce((a, b) => a + b) / 20;
    close(mean, n5.metrics["pass@1"]!);
  });

  await t.step("is undefined where a task has fewer samples than k", () => {
    assert.equal(taskValues(n5.tasks, "pass@10"), undefined);
  });

  await t.step("reads other metrics from per-task scores only", () => {
    assert.equal(taskValues(n5.tasks, "bleu"), undefined);
    assert.equal(taskValues(n5.tasks, "codebleu")!.size, 20);
  });
});

Deno.test("wilson()", async (t) => {
  await t.step("matches a known interval", () => {
    const ci = wilson(8, 20);
    close(ci.low, 0.2188, 1e-4);
    close(ci.high, 0.6134, 1e-4);
  });
  await t.step("stays inside [0, 1] at the edges", () => {
    assert.equal(wilson(0, 10).low, 0);
    assert.equal(wilson(10, 10).high, 1);
  });
});

Deno.test("bootstrapMean()", async (t) => {
  await t.step("is reproducible for a seed and covers the mean", () => {
    const values = Array.from({ length: 50 }, (_, i) => (i % 7) / 7);
    const a = bootstrapMean(values, { seed: 3 });
    assert.deepEqual(a, bootstrapMean(values, { seed: 3 }));
    assert.ok(a.low <= a.value && a.value <= a.high);
  });
  await t.step("is a point for constant values", () => {
    const ci = bootstrapMean([0.5, 0.5, 0.5]);
    assert.deepEqual([ci.low, ci.high], [0.5, 0.5]);
  });
});

Deno.test("metricInterval()", async (t) => {
  const tiny = await readFixture(RUNS.tiny);
  await t.step("uses Wilson for pass or fail tasks", () => {
    assert.equal(metricInterval(tiny, "pass@1")?.method, "wilson");
  });
  await t.step("uses the bootstrap for fractional per-task values", () => {
    assert.equal(metricInterval(tiny, "codebleu")?.method, "bootstrap");
  });
  await t.step("gives none without per-task values", () => {
    assert.equal(metricInterval(tiny, "bleu"), undefined);
  });
});

Deno.test("binomialUpperTail() and binomialTwoSided()", async (t) => {
  await t.step("match exact values", () => {
    close(binomialUpperTail(5, 5), 1 / 32);
    close(binomialUpperTail(0, 5), 1);
    close(binomialTwoSided(0, 5), 2 / 32);
    close(binomialTwoSided(1, 13), 2 * 14 / 8192);
    assert.equal(binomialTwoSided(3, 6), 1);
    assert.equal(binomialTwoSided(0, 0), 1);
  });
  await t.step("stay finite for thousands of trials", () => {
    const p = binomialUpperTail(1100, 2000);
    assert.ok(p > 0 && p < 1e-5);
  });
});

Deno.test("pairedComparison()", async (t) => {
  const [reference, tiny] = await Promise.all([
    readFixture(RUNS.reference),
    readFixture(RUNS.tiny),
  ]);

  await t.step("lists the tasks flipped either way with an exact McNemar test", () => {
    const m = pairedComparison(reference, tiny, "pass@1")!;
    assert.equal(m.test, "exact McNemar");
    assert.equal(m.paired, 20);
    assert.equal(m.regressed.length, 12);
    assert.deepEqual(m.improved.map((f) => f.taskId), ["mbpp/18"]);
    assert.equal(m.unchanged, 7);
    close(m.pValue, binomialTwoSided(1, 13));
    close(m.pWorse, binomialUpperTail(12, 13));
    close(m.difference.value, -0.55);
    assert.ok(m.difference.high < 0);
  });

  await t.step("uses the sign test on fractional values", () => {
    assert.equal(pairedComparison(reference, tiny, "codebleu")!.test, "exact sign test");
  });

  await t.step("pairs only the tasks both runs judged", () => {
    const fewer = { ...tiny, tasks: tiny.tasks.slice(0, 15) };
    const m = pairedComparison(reference, fewer, "compile_rate")!;
    assert.deepEqual([m.paired, m.onlyA, m.onlyB], [15, 5, 0]);
  });

  await t.step("sees no difference between a run and itself", () => {
    const m = pairedComparison(reference, withStatus(reference, [], "passed"), "pass@1")!;
    assert.deepEqual([m.improved.length, m.regressed.length, m.pValue], [0, 0, 1]);
  });
});
