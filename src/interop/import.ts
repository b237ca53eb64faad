/**
 * Published verdicts of other harnesses as runs on the leaderboard, marked as imported
 * (`config.imported`: the format, file, its sha256 and what it says of itself) and in a
 * comparability group of their own (their limits preset is `imported (<format>)`):
 *
 * - human-eval's `<samples>_results.jsonl`: `{task_id, completion, result, passed}` per sample;
 * - EvalPlus's `eval_results.json`, current layout (`eval: {task: [{solution, base_status,
 *   plus_status, ...}]}`) or legacy (`eval: {task: {nfiles, base: [[status, details]], plus}}`);
 *   `verdict: "base"` (the benchmark's own tests, the default) or `"plus"` (EvalPlus's extra
 *   tests too) decides the status; the other pass@1 is kept as a metric.
 *
 * The tasks are the benchmark's (its dataset is read, so ids are checked and the leaderboard's
 * task view has prompts); a task id the benchmark does not have is an error.
 *
 * @module
 */

import { join } from "node:path";
import { buildReport } from "../report/build.ts";
import { comparabilityKey, keyFieldsSummary, tasksDigest } from "../report/key.ts";
import { harnessVersion, hostInfo } from "../report/provenance.ts";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { canonicalJson, sha256 } from "../util/hash.ts";
import { parseJsonl } from "../util/jsonl.ts";
import { taskIdAliases } from "../models/samples.ts";
import type { Benchmark, LoadOptions } from "../../benchmarks/benchmark.ts";
import type { ImportedFrom, Report } from "../report/schema.ts";
import type { Execution, ExecutionStatus, Sample, SampleResult, Task } from "../types.ts";
import type { Limits } from "../../sandbox/types.ts";

/** Options of {@linkcode importRun}. */
export interface ImportOptions extends LoadOptions {
  /** EvalPlus: judge by the base tests or by base and plus. @default "base" */
  readonly verdict?: "base" | "plus";
  /** Name of the model. @default the file's name */
  readonly name?: string;
  /** @default "reports" */
  readonly reportsDir?: string;
}

/** One imported verdict. */
interface Verdict {
  readonly id: string;
  readonly code: string;
  readonly status: ExecutionStatus;
  readonly plusPassed?: boolean;
  readonly message: string;
}

/** Reads `path`, writes a run folder with its report; returns the report's path and report. */
export async function importRun(
  path: string,
  benchmark: Benchmark,
  options: ImportOptions = {},
): Promise<{ reportPath: string; report: Report }> {
  const text = await Deno.readTextFile(path);
  const { format, verdicts, details } = parseVerdicts(text, path, options.verdict ?? "base");
  const loaded = await benchmark.load(options);
  const tasks = coveredTasks(loaded.tasks, verdicts, path, loaded.split);
  const byTask = Map.groupBy(verdicts, (v) => taskOf(tasks, v.id)!.id);
  const samples: Sample[] = [];
  const results: SampleResult[] = [];
  for (const task of tasks) {
    for (const [index, verdict] of (byTask.get(task.id) ?? []).entries()) {
      samples.push({ taskId: task.id, index, raw: verdict.code, code: verdict.code });
      results.push({ taskId: task.id, index, execution: execution(verdict) });
    }
  }
  const n = Math.max(...tasks.map((t) => byTask.get(t.id)?.length ?? 0));
  const imported: ImportedFrom = { format, file: path, sha256: sha256(text), details };
  const limits = {} as Limits;
  const keyFields = {
    benchmark: benchmark.name,
    datasetSha256: loaded.sha256,
    split: loaded.split,
    filter: {},
    taskIds: tasks.map((t) => t.id),
    tasksSha256: tasksDigest(tasks.map((t) => ({ ...t, meta: undefined, prompt: t.prompt }))),
    promptTemplate: "imported",
    shots: 0,
    n,
    sanitize: false,
    limitsPreset: `imported (${format}${
      format.startsWith("evalplus") ? `, ${options.verdict ?? "base"}` : ""
    })`,
    limits,
  };
  const key = comparabilityKey(keyFields);
  const name = options.name ?? path.split("/").at(-1)!;
  const id = `${name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(-40)}-imported-${
    sha256(canonicalJson({ key, imported })).slice(0, 12)
  }`;
  const runDir = join(options.reportsDir ?? "reports", benchmark.name, id);
  const now = new Date().toISOString();
  const plusPassed = verdicts.filter((v) => v.plusPassed !== undefined);
  const report = buildReport({
    id,
    comparabilityKey: key,
    keyFields: keyFieldsSummary(keyFields),
    headline: benchmark.metric,
    provenance: {
      harness: await harnessVersion(),
      startedAt: now,
      finishedAt: now,
      host: hostInfo(),
      toolchains: [],
      isolation: { mode: "none", limits },
      workers: 0,
    },
    config: {
      benchmark: benchmark.name,
      dataset: {
        name: benchmark.dataset.name,
        version: benchmark.dataset.version,
        sha256: loaded.sha256,
        source: loaded.source,
      },
      split: loaded.split,
      filter: {},
      limit: null,
      taskCount: tasks.length,
      promptTemplate: "imported",
      shots: 0,
      model: { backend: "imported", id: name, settings: { format } },
      name,
      sampling: { n, unknown: `imported ${format}` },
      k: [1, 10, 100],
      imported,
    },
    tasks,
    samples,
    results,
    groupBy: benchmark.groupBy ?? [],
    ...(plusPassed.length === 0 ? {} : {
      extraMetrics: {
        "plus_pass@1": plusPassed.filter((v) => v.plusPassed).length / plusPassed.length,
      },
    }),
    throughput: { executions: 0, seconds: 0 },
  });
  await Deno.mkdir(runDir, { recursive: true });
  await writeFileAtomic(
    join(runDir, "generations.jsonl"),
    samples.map((s) => JSON.stringify(s) + "\n").join(""),
  );
  await writeFileAtomic(
    join(runDir, "executions.jsonl"),
    results.map((r) => JSON.stringify(r) + "\n").join(""),
  );
  const reportPath = join(runDir, "report.json");
  await writeFileAtomic(reportPath, JSON.stringify(report, null, 1) + "\n");
  return { reportPath, report };
}

function execution(verdict: Verdict): Execution {
  return {
    status: verdict.status,
    compiled: true,
    casesPassed: verdict.status === "passed" ? 1 : 0,
    casesTotal: 1,
    exitCode: null,
    wallMs: 0,
    cpuMs: 0,
    peakMemoryKb: 0,
    stdout: "",
    stderr: verdict.message,
  };
}

/** The verdicts of a human-eval results file or an EvalPlus eval_results.json. */
export function parseVerdicts(
  text: string,
  path: string,
  verdict: "base" | "plus",
): { format: string; verdicts: Verdict[]; details: Record<string, string> } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") && trimmed.includes('"eval"')) {
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      if (value.eval !== null && typeof value.eval === "object") {
        return evalPlusVerdicts(value, verdict);
      }
    } catch {
      // Not one JSON object: a JSONL file, read below.
    }
  }
  const records = parseJsonl<Record<string, unknown>>(text, path);
  if (records.length === 0 || !records.every((r) => typeof r.passed === "boolean")) {
    throw new TypeError(
      `Cannot import "${path}" as it is neither human-eval's <samples>_results.jsonl (lines with "task_id" and "passed") nor EvalPlus's eval_results.json (an object with "eval"): judge a samples file with deno task bench instead`,
    );
  }
  return {
    format: "human-eval-results",
    details: {},
    verdicts: records.map((r) => ({
      id: String(r.task_id),
      code: String(r.completion ?? ""),
      status: r.passed ? "passed" : r.result === "timed out" ? "timeout" : "failed",
      message: String(r.result ?? ""),
    })),
  };
}

const EVALPLUS_STATUS: Record<string, ExecutionStatus> = {
  pass: "passed",
  success: "passed",
  fail: "failed",
  failed: "failed",
  timeout: "timeout",
};

function evalPlusVerdicts(value: Record<string, unknown>, verdict: "base" | "plus") {
  const verdicts: Verdict[] = [];
  for (const [id, entry] of Object.entries(value.eval as Record<string, unknown>)) {
    const samples = Array.isArray(entry) ? entry.map(currentLayout) : legacyLayout(entry);
    for (const s of samples) {
      const base = EVALPLUS_STATUS[s.base] ?? "failed";
      const plus = s.plus === null ? undefined : EVALPLUS_STATUS[s.plus] ?? "failed";
      const status = verdict === "plus" && base === "passed" ? plus ?? base : base;
      verdicts.push({
        id,
        code: s.solution,
        status,
        ...(plus === undefined ? {} : { plusPassed: base === "passed" && plus === "passed" }),
        message: `base ${s.base}, plus ${s.plus}`,
      });
    }
  }
  const details = Object.fromEntries(
    ["date", "hash"].flatMap((k) => typeof value[k] === "string" ? [[k, value[k] as string]] : []),
  );
  const legacy = Object.values(value.eval as object).some((e) => !Array.isArray(e));
  return {
    format: legacy ? "evalplus-eval-results-legacy" : "evalplus-eval-results",
    verdicts,
    details,
  };
}

function currentLayout(entry: Record<string, unknown>) {
  return {
    solution: String(entry.solution ?? ""),
    base: String(entry.base_status),
    plus: entry.plus_status === null || entry.plus_status === undefined
      ? null
      : String(entry.plus_status),
  };
}

function legacyLayout(entry: unknown) {
  const record = entry as { base?: [string, unknown][]; plus?: [string, unknown][] };
  return (record.base ?? []).map(([status], i) => ({
    solution: "",
    base: status,
    plus: record.plus?.[i]?.[0] ?? null,
  }));
}

function taskOf(tasks: readonly Task[], id: string): Task | undefined {
  const wanted = id.trim().toLowerCase();
  return tasks.find((task) => taskIdAliases(task.id).includes(wanted));
}

function coveredTasks(
  tasks: readonly Task[],
  verdicts: readonly Verdict[],
  path: string,
  split: string,
): Task[] {
  const unknown = [...new Set(verdicts.map((v) => v.id))].filter((id) => !taskOf(tasks, id));
  if (unknown.length > 0) {
    throw new RangeError(
      `Cannot import "${path}" as ${unknown.length} of its task ids are not tasks of split "${split}" (${
        unknown.slice(0, 5).join(", ")
      }): choose the split that has them with --split`,
    );
  }
  const ids = new Set(verdicts.map((v) => taskOf(tasks, v.id)!.id));
  return tasks.filter((t) => ids.has(t.id));
}
