import assert from "node:assert/strict";
import { formatSummary } from "../../src/cli/_summary.ts";
import { progressLine } from "../../src/cli/_progress.ts";
import { startLine } from "../../src/cli/bench.ts";
import type { Report } from "../../src/report/schema.ts";
import { readFixture, RUNS } from "../leaderboard/report_fixtures.ts";

/** The tiny-gpt2 fixture run, asked for pass@1, 10 and 100 with one sample per task. */
async function tinyRun(): Promise<Report> {
  const report = await readFixture(RUNS.tiny);
  return {
    ...report,
    config: { ...report.config, k: [1, 10, 100] },
    metrics: { ...report.metrics, "pass@10": null, "pass@100": null },
  };
}

Deno.test("formatSummary()", async (t) => {
  const text = formatSummary(await tinyRun(), "reports/mbpp/run/report.json");
  const lines = text.split("\n");
  await t.step("puts the headline first, with its 95% interval", () => {
    assert.equal(lines[4], "pass@1 40.0% (95% interval 21.9% to 61.3%, Wilson over 20 tasks)");
  });
  await t.step("shows every rate as a percentage, in one table with intervals", () => {
    const start = lines.indexOf("rate          value  95% interval");
    assert.ok(start > 0, text);
    assert.deepEqual(lines.slice(start + 2, start + 5), [
      "pass@1        40.0%  21.9% – 61.3%",
      "compile_rate  75.0%  53.1% – 88.8%",
      "syntax_rate   75.0%  –",
    ]);
  });
  await t.step("keeps 0-1 scores in a table of their own", () => {
    const start = lines.indexOf("score (0 to 1)  value   95% interval");
    assert.ok(start > 0, text);
    assert.deepEqual(lines.slice(start + 2, start + 4), [
      "bleu            0.3121  –",
      "codebleu        0.4606  0.3829 – 0.5473",
    ]);
  });
  await t.step("puts counts apart, not among the rates", () => {
    assert.ok(
      lines.includes(
        "counts: 20 tasks · 20 samples · samples by status: passed 8, failed 4, compile_error 5, " +
          "runtime_error 2, timeout 1",
      ),
      text,
    );
    assert.doesNotMatch(text, /^(tasks|samples)\s/m);
  });
  await t.step("hides pass@k for k > n and says why", () => {
    assert.doesNotMatch(text, /^pass@10\b/m);
    assert.ok(
      lines.includes(
        "not shown: pass@10 and pass@100, as k > n (1 sample per task cannot estimate them): " +
          "pass --n 100 or more, or --k with smaller values",
      ),
      text,
    );
  });
});

Deno.test("progressLine()", async (t) => {
  await t.step("says nothing of rate or ETA before an item is done in this stage", () => {
    // Before, 120 resumed items counted as done at the first update: "17696.8/s  ETA 0s".
    assert.equal(
      progressLine({ label: "judge", done: 120, total: 500, resumed: 120, seconds: 10 }),
      "judge     ███████░░░░░░░░░░░░░░░░░░░░░░░ 120/500  24%  –/s  10.0s elapsed  ETA –  " +
        "(120 resumed)",
    );
  });
  await t.step("counts only the work done now in the rate and the ETA", () => {
    assert.equal(
      progressLine({ label: "judge", done: 170, total: 500, resumed: 120, seconds: 10 }),
      "judge     ██████████░░░░░░░░░░░░░░░░░░░░ 170/500  34%  5.0/s  10.0s elapsed  ETA 1m06s  " +
        "(120 resumed)",
    );
  });
  await t.step("drops the ETA at the end", () => {
    assert.equal(
      progressLine({ label: "generate", done: 4, total: 4, resumed: 0, seconds: 2 }),
      "generate  ██████████████████████████████ 4/4 100%  2.0/s  2.0s elapsed",
    );
  });
});

Deno.test("startLine()", async (t) => {
  await t.step("names the run folder, the size, and what is resumed", () => {
    assert.equal(
      startLine({
        runDir: "reports/mbpp/reference-0123abcd4567",
        tasks: 500,
        samplesPerTask: 1,
        stored: { generations: 320, executions: 200 },
      }),
      "run folder reports/mbpp/reference-0123abcd4567: 500 tasks × 1 sample; resuming: 320 of " +
        "500 generations and 200 executions stored by an earlier attempt",
    );
  });
  await t.step("says when the run is new", () => {
    assert.equal(
      startLine({
        runDir: "r/x",
        tasks: 1,
        samplesPerTask: 5,
        stored: { generations: 0, executions: 0 },
      }),
      "run folder r/x: 1 task × 5 samples; a new run",
    );
  });
});
