import assert from "node:assert/strict";
import { join } from "node:path";
import { formatCheck, formatCheckMarkdown, parseCheckArgs, runCheck } from "../../src/cli/check.ts";
import type { Report } from "../../src/report/schema.ts";
import {
  readFixture,
  reportPath,
  RUNS,
  withStatus,
  writeReport,
} from "../leaderboard/report_fixtures.ts";

const REFERENCE = reportPath(RUNS.reference);
const TINY = reportPath(RUNS.tiny);

/** Writes reports into a temporary folder and passes their paths to `fn`. */
async function withReports(
  reports: readonly Report[],
  fn: (paths: string[], dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-check-" });
  try {
    const paths = [];
    for (const [i, report] of reports.entries()) {
      paths.push(await writeReport(dir, { folder: "runs", run: `r${i}` }, report));
    }
    await fn(paths, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** MBPP task ids of the reference fixture that compile there. */
const COMPILING = Array.from({ length: 20 }, (_, i) => `mbpp/${11 + i}`);

Deno.test("runCheck() passes", async (t) => {
  await t.step("a clean rerun of the baseline", async () => {
    const rerun = { ...(await readFixture(RUNS.reference)), id: "rerun" };
    await withReports([rerun], async ([current]) => {
      const result = await runCheck({ baseline: REFERENCE, current: current! });
      assert.equal(result.passed, true);
      assert.deepEqual(result.rows.map((r) => [r.metric, r.scope, r.verdict]), [
        ["compile_rate", "all", "unchanged"],
        ["pass@1", "all", "unchanged"],
      ]);
      assert.match(formatCheck(result), /PASS: no metric dropped by more than 2\.0 points/);
    });
  });

  await t.step("an improvement", async () => {
    const result = await runCheck({ baseline: TINY, current: REFERENCE });
    assert.equal(result.passed, true);
    assert.deepEqual(result.rows.map((r) => r.verdict), ["improved", "improved"]);
  });

  await t.step("a drop beyond the tolerance that is not significant (noise)", async () => {
    const reference = await readFixture(RUNS.reference);
    const noisy = withStatus(reference, COMPILING.slice(0, 2), "compile_error");
    await withReports([noisy], async ([current]) => {
      const result = await runCheck({
        baseline: REFERENCE,
        current: current!,
        metrics: ["compile_rate"],
      });
      const row = result.rows[0]!;
      assert.equal(row.verdict, "drop not significant");
      assert.ok(Math.abs(row.delta + 0.1) < 1e-9);
      assert.ok(Math.abs(row.pWorse! - 0.25) < 1e-12);
      assert.equal(result.passed, true);
    });
  });

  await t.step("a drop within the tolerance", async () => {
    const reference = await readFixture(RUNS.reference);
    const slight = withStatus(reference, COMPILING.slice(0, 1), "compile_error");
    await withReports([slight], async ([current]) => {
      const result = await runCheck({
        baseline: REFERENCE,
        current: current!,
        metrics: ["compile_rate"],
        tolerance: 0.1,
      });
      assert.equal(result.rows[0]!.verdict, "drop within tolerance");
      assert.equal(result.passed, true);
    });
  });
});

Deno.test("runCheck() fails", async (t) => {
  await t.step("a planted regression: compiling outputs made not to compile", async () => {
    const reference = await readFixture(RUNS.reference);
    const planted = withStatus(reference, COMPILING.slice(0, 6), "compile_error", "planted");
    await withReports([planted], async ([current]) => {
      const result = await runCheck({ baseline: REFERENCE, current: current! });
      assert.equal(result.passed, false);
      const compile = result.rows.find((r) => r.metric === "compile_rate")!;
      assert.equal(compile.verdict, "regressed");
      assert.deepEqual(compile.paired!.regressed.map((f) => f.taskId), COMPILING.slice(0, 6));
      assert.ok(Math.abs(compile.pWorse! - 1 / 64) < 1e-12);
      const text = formatCheck(result);
      assert.match(text, /compile_rate +all +100\.0% +70\.0% +−30\.0 pt +6\/0 +0\.016 +REGRESSED/);
      assert.match(
        text,
        /FAIL: regression beyond 2\.0 points: compile_rate on all tasks \(100\.0% -> 70\.0%, 6 tasks worse, 0 better, p = 0\.016\)/,
      );
    });
  });

  await t.step("a regression in one language", async () => {
    const xlcost = await readFixture(RUNS.xlcost);
    const java = xlcost.tasks.filter((t) => t.language === "java" && t.compiled > 0).map((t) =>
      t.taskId
    );
    const planted = withStatus(xlcost, java.slice(0, 5), "compile_error");
    await withReports([planted], async ([current]) => {
      const result = await runCheck({ baseline: reportPath(RUNS.xlcost), current: current! });
      assert.deepEqual(
        result.rows.map((r) => [r.scope, r.verdict]),
        [["all", "regressed"], ["cpp", "unchanged"], ["java", "regressed"], [
          "python",
          "unchanged",
        ]],
      );
    });
  });

  await t.step("any drop beyond the tolerance with --alpha 1", async () => {
    const reference = await readFixture(RUNS.reference);
    const noisy = withStatus(reference, COMPILING.slice(0, 2), "compile_error");
    await withReports([noisy], async ([current]) => {
      const result = await runCheck({ baseline: REFERENCE, current: current!, alpha: 1 });
      assert.equal(result.passed, false);
    });
  });

  await t.step("a corpus metric without per-task values, on the tolerance alone", async () => {
    const result = await runCheck({ baseline: REFERENCE, current: TINY, metrics: ["bleu"] });
    assert.equal(result.rows[0]!.pWorse, null);
    assert.equal(result.rows[0]!.verdict, "regressed");
  });
});

Deno.test("runCheck() refuses", async (t) => {
  await t.step("runs that are not comparable, naming the fields", async () => {
    await assert.rejects(() => runCheck({ baseline: REFERENCE, current: reportPath(RUNS.n5) }), {
      name: "CheckRefusedError",
      message: `Cannot check "${reportPath(RUNS.n5)}" against "${REFERENCE}": the runs are not ` +
        `comparable as their comparability keys differ in n, k\n  n: baseline 1, current 5\n` +
        `  k: baseline [1], current [1,5]`,
    });
  });

  await t.step("a malformed report, listing its problems", async () => {
    await assert.rejects(
      () => runCheck({ baseline: REFERENCE, current: reportPath(RUNS.broken) }),
      {
        name: "CheckRefusedError",
        message:
          /does not match the report schema\n {2}provenance\.startedAt: expected an ISO 8601 date: missing\n/,
      },
    );
  });

  await t.step("a report of another schema version", async () => {
    const future = { ...(await readFixture(RUNS.reference)), schema: 2 as 1 };
    await withReports([future], async ([current]) => {
      await assert.rejects(() => runCheck({ baseline: REFERENCE, current: current! }), {
        message: /its schema version is unknown: current value is 2, this reader knows version 1$/,
      });
    });
  });

  await t.step("a missing report", async () => {
    await assert.rejects(() => runCheck({ baseline: "no/such/report.json", current: REFERENCE }), {
      message: `Cannot read the baseline report "no/such/report.json": no such file or folder`,
    });
  });

  await t.step("a metric the reports do not have", async () => {
    await assert.rejects(
      () => runCheck({ baseline: REFERENCE, current: TINY, metrics: ["pass@10"] }),
      {
        message:
          /^Cannot check metric "pass@10" as ".*" has no value for it: available metrics are pass@1, compile_rate/,
      },
    );
  });
});

Deno.test("runCheck() reads a run folder as its report.json", async () => {
  const folder = join(reportPath(RUNS.reference), "..");
  const result = await runCheck({ baseline: folder, current: folder });
  assert.equal(result.baseline.path, join(folder, "report.json"));
});

Deno.test("runCheck() finds the newest comparable run in a reports folder", async (t) => {
  const reference = await readFixture(RUNS.reference);
  const older = { ...reference, id: "older" };
  const newer = {
    ...withStatus(reference, COMPILING.slice(0, 6), "compile_error", "newer"),
    provenance: { ...reference.provenance, startedAt: "2026-12-01T00:00:00Z" },
  };
  const other = { ...reference, id: "other", comparabilityKey: "another key" };
  await t.step("does not take the baseline for the current run", async () => {
    await withReports([reference], async (_, dir) => {
      await assert.rejects(() => runCheck({ baseline: REFERENCE, current: dir }), {
        message: /it holds 1 readable run, none but the baseline itself/,
      });
    });
  });
  await withReports([older, newer, other], async (_, dir) => {
    await t.step("uses the newest run with the baseline's key", async () => {
      const result = await runCheck({ baseline: REFERENCE, current: dir });
      assert.equal(result.current.report.id, "newer");
      assert.equal(result.passed, false);
    });
    await t.step("refuses a folder without a comparable run", async () => {
      await assert.rejects(() => runCheck({ baseline: reportPath(RUNS.n5), current: dir }), {
        message: new RegExp(
          `^Cannot find a run comparable with the baseline in ".*": it holds 3 readable runs, none ` +
            `but the baseline itself with comparability key "[0-9a-f]+"$`,
        ),
      });
    });
  });
});

Deno.test("formatCheckMarkdown()", async () => {
  const result = await runCheck({ baseline: REFERENCE, current: TINY });
  const markdown = formatCheckMarkdown(result);
  assert.match(markdown, /^### Regression check: failed\n/);
  assert.match(
    markdown,
    /\| compile_rate \| all \| 100\.0% \| 75\.0% \| −25\.0 pt \| 5\/0 \| 0\.031 \| REGRESSED \|/,
  );
});

Deno.test("parseCheckArgs()", async (t) => {
  await t.step("reads metrics, tolerance as a fraction or a percentage, and the summary", () => {
    assert.deepEqual(
      parseCheckArgs([
        "--baseline",
        "a",
        "--current",
        "b",
        "--metric",
        "pass@1",
        "--metric",
        "bleu",
        "--tolerance",
        "5%",
        "--summary",
        "s.md",
      ]),
      {
        baseline: "a",
        current: "b",
        metrics: ["pass@1", "bleu"],
        tolerance: 0.05,
        alpha: 0.05,
        summary: "s.md",
      },
    );
  });
  await t.step("refuses a missing report and a bad tolerance", () => {
    assert.throws(() => parseCheckArgs(["--baseline", "a"]), {
      name: "UsageError",
      message: "missing --current: the check needs both reports",
    });
    assert.throws(
      () => parseCheckArgs(["--baseline", "a", "--current", "b", "--tolerance", "lots"]),
      {
        name: "UsageError",
        message: `option --tolerance must be a number: current value is "lots"`,
      },
    );
    assert.throws(
      () => parseCheckArgs(["--baseline", "a", "--current", "b", "--alpha", "150%"]),
      {
        name: "UsageError",
        message: `option --alpha must be a number from 0 to 1, or a percentage like 2%: ` +
          `current value is "150%"`,
      },
    );
  });
});

Deno.test("deno task check exit status", async (t) => {
  const check = async (...args: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "src/cli/check.ts", ...args],
      cwd: new URL("../..", import.meta.url),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    return { code: output.code, text };
  };

  await t.step("is 0 on a pass, and writes the Markdown summary when asked", async () => {
    const dir = await Deno.makeTempDir();
    const summary = join(dir, "summary.md");
    const { code, text } = await check(
      "--baseline",
      TINY,
      "--current",
      REFERENCE,
      "--summary",
      summary,
    );
    assert.equal(code, 0, text);
    assert.match(await Deno.readTextFile(summary), /Regression check: passed/);
    await Deno.remove(dir, { recursive: true });
  });

  await t.step("is 1 on a regression", async () => {
    const { code, text } = await check("--baseline", REFERENCE, "--current", TINY);
    assert.equal(code, 1, text);
    assert.match(text, /FAIL: regression beyond/);
  });

  await t.step("is 2 when the runs are not comparable or the input is bad", async () => {
    const refused = await check("--baseline", REFERENCE, "--current", reportPath(RUNS.n5));
    assert.equal(refused.code, 2);
    assert.match(refused.text, /^REFUSED: Cannot check .* comparability keys differ in n, k/);
    assert.equal(
      (await check("--baseline", REFERENCE, "--current", reportPath(RUNS.broken))).code,
      2,
    );
    assert.equal((await check("--baseline", REFERENCE)).code, 2);
  });
});
