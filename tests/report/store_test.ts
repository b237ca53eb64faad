import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkRunRef,
  createFolderStore,
  headlineMetric,
  InvalidRunRefError,
  MalformedReportError,
  parseReport,
  parseRunRef,
  RunNotFoundError,
} from "../../src/report/store.ts";
import {
  copyFixtures,
  FIXTURES,
  readFixture,
  RUNS,
  writeReport,
} from "../leaderboard/report_fixtures.ts";

Deno.test("createFolderStore().list()", async (t) => {
  const listing = await createFolderStore(FIXTURES).list();

  await t.step("lists every readable run with its headline metric", () => {
    const refs = listing.runs.map((r) => `${r.ref.folder}/${r.ref.run}`);
    assert.deepEqual(refs, [
      "apps/2026-11-05T12-00-00Z-openai-qwen",
      "mbpp/2026-11-01T09-00-00Z-reference",
      "mbpp/2026-11-02T14-30-00Z-tiny-gpt2",
      "mbpp/2026-11-03T08-15-00Z-tiny-gpt2-n5",
      "xlcost/2026-11-06T18-45-00Z-samples",
    ]);
    assert.deepEqual(listing.runs.map((r) => r.headline), [
      "pass@1",
      "pass@1",
      "pass@1",
      "pass@1",
      "compile_rate",
    ]);
  });

  await t.step("keeps summaries without per-task outcomes", () => {
    const run = listing.runs[1]!;
    assert.equal("tasks" in run.summary, false);
    assert.equal(run.summary.taskOutcomes, 20);
  });

  await t.step("reports a malformed report as one problem naming its fields", () => {
    assert.equal(listing.problems.length, 1);
    const problem = listing.problems[0]!;
    assert.equal(problem.path, "mbpp/2026-11-04T10-00-00Z-broken/report.json");
    assert.match(problem.message, /does not match the report schema/);
    assert.match(problem.message, /provenance\.startedAt: expected an ISO 8601 date: missing/);
    assert.match(problem.message, /metrics: expected an object/);
    assert.match(
      problem.message,
      /tasks\[0\]\.statuses\[0\]: expected one of passed, .*"exploded"/,
    );
  });

  await t.step("lists nothing from a missing folder", async () => {
    const empty = await createFolderStore(join(FIXTURES, "no-such-folder")).list();
    assert.deepEqual(empty, { runs: [], problems: [] });
  });
});

Deno.test("createFolderStore().load()", async (t) => {
  const store = createFolderStore(FIXTURES);

  await t.step("loads a whole report", async () => {
    const run = await store.load(RUNS.tiny);
    assert.equal(run.report.tasks.length, 20);
    assert.equal(run.headline, "pass@1");
  });

  await t.step("throws RunNotFoundError for an unknown run", async () => {
    await assert.rejects(() => store.load({ folder: "mbpp", run: "nope" }), {
      name: "RunNotFoundError",
      message: `Cannot find run "mbpp/nope": it has no report.json`,
    });
  });

  await t.step("throws InvalidRunRefError for path traversal", async () => {
    for (const ref of [{ folder: "..", run: "etc" }, { folder: "mbpp", run: "../apps" }]) {
      await assert.rejects(() => store.load(ref), InvalidRunRefError);
    }
  });

  await t.step("throws MalformedReportError with every problem", async () => {
    const error = await store.load(RUNS.broken).catch((e) => e);
    assert.ok(error instanceof MalformedReportError);
    assert.equal(error.problems.length, 3);
  });
});

Deno.test("createFolderStore() on hostile folders", async (t) => {
  const dir = await copyFixtures();
  try {
    await t.step("refuses reports and run folders behind symbolic links", async () => {
      const outside = await Deno.makeTempDir();
      await writeReport(outside, { folder: "x", run: "y" }, await readFixture(RUNS.tiny));
      await Deno.mkdir(join(dir, "mbpp", "linked"));
      await Deno.symlink(
        join(outside, "x", "y", "report.json"),
        join(dir, "mbpp", "linked", "report.json"),
      );
      await Deno.symlink(join(outside, "x", "y"), join(dir, "mbpp", "linked-folder"));
      const store = createFolderStore(dir);
      for (const run of ["linked", "linked-folder"]) {
        await assert.rejects(() => store.load({ folder: "mbpp", run }), {
          name: "InvalidRunRefError",
          message:
            `Cannot read run "mbpp/${run}": it lies behind a symbolic link, which the store does not follow`,
        });
      }
      const listing = await store.list();
      assert.ok(listing.problems.some((p) => p.path === "mbpp/linked"));
      assert.ok(!listing.runs.some((r) => r.ref.run.startsWith("linked")));
      await Deno.remove(outside, { recursive: true });
    });

    await t.step("does not follow a linked JSONL file", async () => {
      const runDir = join(dir, RUNS.apps.folder, RUNS.apps.run);
      await Deno.symlink("/etc/hostname", join(runDir, "executions.jsonl"));
      const records = await createFolderStore(dir).taskRecords(RUNS.apps, "apps/4000");
      assert.ok(records.problems.includes(
        "The run's executions.jsonl is a symbolic link, which the store does not follow",
      ));
    });

    await t.step("refuses a report over the size limit", async () => {
      const store = createFolderStore(dir, { maxReportBytes: 1000 });
      await assert.rejects(() => store.load(RUNS.tiny), {
        name: "MalformedReportError",
        message:
          /^Cannot read report "mbpp\/2026-11-02T14-30-00Z-tiny-gpt2\/report\.json" as it is larger than the limit: \d+ bytes, limit 1000 bytes$/,
      });
    });

    await t.step("sees a rewritten report (cache keyed on size and mtime)", async () => {
      const store = createFolderStore(dir);
      assert.equal((await store.load(RUNS.apps)).report.id, RUNS.apps.run);
      const changed = { ...(await readFixture(RUNS.apps)), id: "renamed-run" };
      await writeReport(dir, RUNS.apps, changed);
      assert.equal((await store.load(RUNS.apps)).report.id, "renamed-run");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createFolderStore().taskRecords()", async (t) => {
  const store = createFolderStore(FIXTURES);

  await t.step("returns the generation and execution of a task", async () => {
    const records = await store.taskRecords(RUNS.tiny, "mbpp/12");
    assert.equal(records.generations.length, 1);
    assert.match(records.generations[0]!.raw, /<script>/);
    assert.equal(records.executions[0]!.execution.status, "failed");
    assert.deepEqual(records.problems, []);
  });

  await t.step("reports an unreadable line without failing", async () => {
    const records = await store.taskRecords(RUNS.tiny, "mbpp/13");
    assert.equal(records.executions.length, 1);
    assert.deepEqual(records.problems, [
      "Cannot read executions.jsonl line 21: it is not a valid record",
    ]);
  });

  await t.step("says when the run has no records", async () => {
    const records = await store.taskRecords(RUNS.apps, "apps/4000");
    assert.deepEqual(records.problems, [
      "The run has no generations.jsonl",
      "The run has no executions.jsonl",
    ]);
  });
});

Deno.test("parseReport()", async (t) => {
  const report = await readFixture(RUNS.reference);

  await t.step("accepts a fixture report", () => {
    assert.equal(parseReport(JSON.stringify(report), "r").id, report.id);
  });

  await t.step("refuses text that is not JSON", () => {
    assert.throws(() => parseReport("{", "r.json"), {
      name: "MalformedReportError",
      message: /^Cannot read report "r\.json" as it is not valid JSON: /,
    });
  });

  await t.step("refuses an unknown schema version", () => {
    assert.throws(() => parseReport(JSON.stringify({ ...report, schema: 2 }), "r.json"), {
      name: "MalformedReportError",
      message:
        `Cannot read report "r.json" as its schema version is unknown: current value is 2, this reader knows version 1`,
    });
  });

  await t.step("refuses a JSON array", () => {
    assert.throws(() => parseReport("[]", "r.json"), {
      message: `Cannot read report "r.json" as it is not a JSON object`,
    });
  });
});

Deno.test("headlineMetric()", async (t) => {
  await t.step("takes the report's headline when it has a value", () => {
    assert.equal(
      headlineMetric({ headline: "codebleu", metrics: { "pass@1": 0.5, codebleu: 0.3 } }),
      "codebleu",
    );
  });
  await t.step("falls back to pass@1, compile_rate, codebleu in order", () => {
    assert.equal(
      headlineMetric({ headline: "bleu", metrics: { "pass@1": null, compile_rate: 0.9 } }),
      "compile_rate",
    );
    assert.equal(
      headlineMetric({ headline: "x", metrics: { codebleu: 0.2, bleu: 0.1 } }),
      "codebleu",
    );
    assert.equal(headlineMetric({ headline: "x", metrics: { bleu: 0.1 } }), "bleu");
  });
});

Deno.test("parseRunRef()", async (t) => {
  await t.step("parses folder/run", () => {
    assert.deepEqual(parseRunRef("mbpp/run-1"), { folder: "mbpp", run: "run-1" });
  });
  await t.step("refuses other shapes and hidden or odd names", () => {
    assert.throws(() => parseRunRef("mbpp"), {
      name: "InvalidRunRefError",
      message: `Cannot parse run reference "mbpp": it must be "<folder>/<run>"`,
    });
    for (const bad of ["..", ".hidden", "a\\b", "a b", ""]) {
      assert.throws(() => checkRunRef({ folder: "mbpp", run: bad }), InvalidRunRefError);
    }
  });
});

Deno.test("RunNotFoundError is an Error", () => {
  assert.ok(new RunNotFoundError("x") instanceof Error);
});
