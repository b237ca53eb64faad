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

/** A model as a report records it. */
type Model = Report["config"]["model"];

/** `report` as another model's run: new id, model, start date, and `failed` tasks that fail. */
function asRun(report: Report, id: string, model: Model, day: number, failed: readonly string[]) {
  const changed = withStatus(report, failed, "failed", id);
  const startedAt = new Date(Date.UTC(2026, 10, day, 9)).toISOString();
  return {
    ...changed,
    config: { ...changed.config, model },
    provenance: { ...changed.provenance, startedAt, finishedAt: startedAt },
  };
}

/** The first `count` task ids of a report. */
function firstTasks(report: Report, count: number): string[] {
  return report.tasks.slice(0, count).map((t) => t.taskId);
}

/**
 * Writes a leaderboard worth reading into `root` beside the fixtures: several models in the MBPP
 * reference group (a chat and a completions run of the same model, two models tied), the same
 * chat model again under other limits (so a second group), and three more XLCoST models with
 * per-language results.
 */
export async function writeModelZoo(root: string): Promise<void> {
  const mbpp = await readFixture(RUNS.reference);
  const qwen = (api: string): Model => ({
    backend: "openai",
    id: "qwen2.5-coder-7b",
    settings: { api, baseUrl: "http://127.0.0.1:8000/v1" },
  });
  const deepseek: Model = {
    backend: "openai",
    id: "deepseek-coder-6.7b",
    settings: { api: "completions", baseUrl: "http://127.0.0.1:8001/v1" },
  };
  const codellama: Model = { backend: "onnx", id: "codellama-7b", settings: { dtype: "fp16" } };
  const runs = [
    asRun(
      mbpp,
      "2026-11-07T09-00-00Z-qwen-completions",
      qwen("completions"),
      7,
      firstTasks(mbpp, 7),
    ),
    asRun(mbpp, "2026-11-08T09-00-00Z-qwen-chat", qwen("chat"), 8, firstTasks(mbpp, 5)),
    asRun(mbpp, "2026-11-09T09-00-00Z-deepseek", deepseek, 9, firstTasks(mbpp, 7)),
    asRun(mbpp, "2026-11-10T09-00-00Z-codellama", codellama, 10, firstTasks(mbpp, 12)),
  ];
  const strict = asRun(
    mbpp,
    "2026-11-11T09-00-00Z-qwen-chat-4s",
    qwen("chat"),
    11,
    firstTasks(mbpp, 8),
  );
  const limits = { ...(strict.keyFields.limits as Record<string, number>), wallMs: 4000 };
  runs.push({
    ...strict,
    comparabilityKey: `${mbpp.comparabilityKey.slice(0, 56)}4s-limit`,
    keyFields: { ...strict.keyFields, limits },
  });
  const xlcost = await readFixture(RUNS.xlcost);
  const byLanguage = (language: string, count: number) =>
    xlcost.tasks.filter((t) => t.language === language).slice(0, count).map((t) => t.taskId);
  const xl = (id: string, model: Model, day: number, broken: string[]) => ({
    ...withStatus(xlcost, broken, "compile_error", id),
    config: { ...xlcost.config, model },
    provenance: {
      ...xlcost.provenance,
      startedAt: new Date(Date.UTC(2026, 10, day, 12)).toISOString(),
    },
  });
  runs.push(
    xl("2026-11-12T12-00-00Z-qwen-chat", qwen("chat"), 12, [...byLanguage("python", 2)]),
    xl("2026-11-13T12-00-00Z-deepseek", deepseek, 13, [
      ...byLanguage("java", 6),
      ...byLanguage("cpp", 1),
    ]),
    xl("2026-11-14T12-00-00Z-codellama", codellama, 14, [
      ...byLanguage("cpp", 5),
      ...byLanguage("python", 5),
    ]),
  );
  for (const report of runs) {
    await writeReport(root, { folder: report.config.benchmark, run: report.id }, report);
  }
}
