/**
 * The hand-made reports of `tests/fixtures/reports/` and helpers that derive reports from them
 * (a planted regression, another schema version) in temporary folders.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { outcomeMetrics } from "../../src/report/build.ts";
import type { Report, TaskOutcome } from "../../src/report/schema.ts";
import type { RunRef } from "../../src/report/store.ts";
import { EXECUTION_STATUSES, type ExecutionStatus } from "../../src/types.ts";
import { fixturePath } from "../_shared.ts";

/** The fixture folder. */
export const FIXTURES = fixturePath("reports");

/** The fixture runs: two comparable MBPP runs, one not comparable, one malformed, and more. */
export const RUNS = {
  /** MBPP, gold code: 19 of 20 pass. */
  reference: { folder: "mbpp", run: "2026-11-01T09-00-00Z-reference" },
  /** MBPP, same key as `reference`: 8 of 20 pass, a hostile sample in mbpp/12. */
  tiny: { folder: "mbpp", run: "2026-11-02T14-30-00Z-tiny-gpt2" },
  /** MBPP with n = 5: not comparable with the two above. */
  n5: { folder: "mbpp", run: "2026-11-03T08-15-00Z-tiny-gpt2-n5" },
  /** Malformed: wrong types, a missing date, an unknown status. */
  broken: { folder: "mbpp", run: "2026-11-04T10-00-00Z-broken" },
  /** APPS with difficulty groups and test cases. */
  apps: { folder: "apps", run: "2026-11-05T12-00-00Z-openai-qwen" },
  /** XLCoST, compile only, three languages, headline compile_rate. */
  xlcost: { folder: "xlcost", run: "2026-11-06T18-45-00Z-samples" },
} as const satisfies Record<string, RunRef>;

/** Path of a fixture run's report. */
export function reportPath(ref: RunRef, root = FIXTURES): string {
  return join(root, ref.folder, ref.run, "report.json");
}

/** A fixture report, parsed without validation. */
export async function readFixture(ref: RunRef): Promise<Report> {
  return JSON.parse(await Deno.readTextFile(reportPath(ref))) as Report;
}

/** Writes `report` (or raw text) as `<root>/<folder>/<run>/report.json`. */
export async function writeReport(root: string, ref: RunRef, report: Report | string) {
  const path = reportPath(ref, root);
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, typeof report === "string" ? report : JSON.stringify(report));
  return path;
}

/** A temporary copy of the fixture folder; remove it with `Deno.remove(dir, { recursive: true })`. */
export async function copyFixtures(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-reports-" });
  for (const ref of Object.values(RUNS)) {
    for await (const entry of Deno.readDir(join(FIXTURES, ref.folder, ref.run))) {
      const to = join(dir, ref.folder, ref.run, entry.name);
      await Deno.mkdir(dirname(to), { recursive: true });
      await Deno.copyFile(join(FIXTURES, ref.folder, ref.run, entry.name), to);
    }
  }
  return dir;
}

/**
 * `report` with the given tasks' samples changed to `status` (a compile error stops compiling
 * too), and its metrics and status counts recomputed as the report builder does.
 */
export function withStatus(
  report: Report,
  taskIds: readonly string[],
  status: ExecutionStatus,
  id = `${report.id}-changed`,
): Report {
  const chosen = new Set(taskIds);
  const tasks = report.tasks.map((t): TaskOutcome => {
    if (!chosen.has(t.taskId)) return t;
    const statuses = t.statuses.map(() => status);
    return {
      ...t,
      statuses,
      passed: status === "passed" ? t.n : 0,
      compiled: status === "compile_error" ? 0 : t.n,
    };
  });
  return recompute({ ...report, id, tasks });
}

/** Recomputes metrics (keeping per-task score averages), per-language metrics and counts. */
export function recompute(report: Report): Report {
  const metrics = (tasks: readonly TaskOutcome[]) => {
    const scores: Record<string, number> = {};
    for (const name of Object.keys(report.metrics)) {
      if (tasks.every((t) => t.scores?.[name] !== undefined)) {
        scores[name] = tasks.reduce((s, t) => s + t.scores![name]!, 0) / tasks.length;
      }
    }
    return { ...report.metrics, ...outcomeMetrics(tasks, report.config.k), ...scores };
  };
  const languages = [...new Set(report.tasks.map((t) => t.language))];
  const counts = Object.fromEntries(EXECUTION_STATUSES.map((s) => [s, 0])) as Record<
    ExecutionStatus,
    number
  >;
  for (const t of report.tasks) for (const s of t.statuses) counts[s]++;
  return {
    ...report,
    metrics: metrics(report.tasks),
    metricsByLanguage: Object.fromEntries(
      languages.map((l) => [l, metrics(report.tasks.filter((t) => t.language === l))]),
    ),
    statusCounts: counts,
  };
}
