/**
 * `deno task merge [--reports DIR] [--data PATH] PATH...`: turns the shards of a run
 * (`bench --shard I/N`, e.g. the pods of `deploy/kubernetes/bench-job.yaml`) into the report a
 * single run would have written.
 *
 * It does not add reports up: it runs the same pipeline as `bench` over the whole task
 * selection, in the run folder a single run would use, with the shards' generations and
 * executions stored there first, a backend and an executor that only replay them (they refuse any
 * sample the shards lack). Metrics, per-task outcomes, the comparability key and the folder name
 * are therefore the single run's by construction; provenance keeps the earliest start, the latest
 * end and the shards' workers and throughput summed.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { GENERATIONS_FILE } from "../generate.ts";
import { EXECUTIONS_FILE } from "../judge.ts";
import { runBenchmark, type RunResult } from "../run.ts";
import { groupShards, type ShardGroup, type ShardRun } from "../report/shards.ts";
import { parseReport } from "../report/store.ts";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { formatSummary } from "./_summary.ts";
import { type CommandSpec, type Parsed, runCommand, UsageError } from "./_args.ts";
import type { ModelBackend } from "../models/backend.ts";
import type { Report } from "../report/schema.ts";
import type { Executor, Limits } from "../../sandbox/types.ts";
import type { LimitsPresetName } from "../../benchmarks/benchmark.ts";
import { DEFAULT_LIMITS } from "../../sandbox/mod.ts";
import { presetExecutorLimits } from "../limits_presets.ts";

/** The `merge` command line. */
export const MERGE = {
  name: "merge",
  usage: "[options] PATH...",
  summary: 'Merges the shards of runs made with "deno task bench ... --shard I/N" into the ' +
    "report a single run writes (same comparability key, folder, metrics and per-task " +
    "outcomes). PATH is a shard's run folder, or a folder searched for them; every complete set " +
    "of shards found is merged.",
  positionals: { min: 1, max: 100_000, label: "path" },
  options: {
    reports: {
      type: "string",
      value: "DIR",
      help: "root of run folders for the merged runs (default reports)",
    },
    data: {
      type: "string",
      value: "PATH",
      help: 'the dataset, where the path the shards recorded ("config.dataset.source") is not ' +
        "valid on this machine",
    },
    json: { type: "boolean", help: "print the merged report paths and metrics as JSON" },
  },
  exitCodes: { 1: "a set of shards is incomplete or inconsistent, or a merge failed" },
} as const satisfies CommandSpec;

/** Options of {@linkcode mergeShards}. */
export interface MergeOptions {
  /** @default "reports" */
  readonly reportsDir?: string;
  /** The dataset, where the path the shards recorded is not valid on this machine. */
  readonly data?: string;
}

/** Merges one complete set of shards into the single run's report. */
export async function mergeShards(
  group: ShardGroup,
  options: MergeOptions = {},
): Promise<RunResult> {
  const first = group.shards[0]!.report;
  const { config } = first;
  const records = await Promise.all(
    [GENERATIONS_FILE, EXECUTIONS_FILE].map((name) =>
      concatenate(group.shards.map((s) => join(s.runDir, name)))
    ),
  );
  const preset = config.limits?.preset as LimitsPresetName | undefined;
  const result = await runBenchmark(getBenchmark(config.benchmark), {
    data: options.data ?? config.dataset.source,
    allowUnverified: true,
    split: config.split,
    filter: config.filter,
    ...(config.limit === null ? {} : { limit: config.limit }),
    shots: config.shots,
    // Where the shards' sampling was unknown (gold code, a samples file), the replay says so too.
    sampling: "unknown" in config.sampling ? { n: config.sampling.n } : config.sampling,
    k: config.k,
    ...(preset === undefined ? {} : { limitsPreset: preset }),
    ...explicitLimits(first.provenance.isolation.limits, preset),
    ...(config.sanitize === undefined ? {} : { sanitize: config.sanitize }),
    ...(config.tasks === undefined ? {} : { tasks: config.tasks }),
    ...(config.name === undefined ? {} : { name: config.name }),
    generationStore: false,
    reportsDir: options.reportsDir ?? "reports",
    fresh: true,
    backend: replayBackend(group),
    executor: replayExecutor(group),
    onRunDir: async (runDir) => {
      await Deno.writeTextFile(join(runDir, GENERATIONS_FILE), records[0]!);
      await Deno.writeTextFile(join(runDir, EXECUTIONS_FILE), records[1]!);
    },
  });
  const sha = (r: Report) => JSON.stringify(r.config.dataset.sha256);
  if (sha(result.report) !== sha(first)) {
    throw new TypeError(
      `Cannot merge ${config.benchmark} as the dataset read here differs from the shards': ` +
        `current value is ${sha(result.report)}, expected ${sha(first)}: pass --data PATH`,
    );
  }
  const report = withShardProvenance(result.report, group);
  await writeFileAtomic(result.reportPath, JSON.stringify(report, null, 1) + "\n");
  return { ...result, report };
}

/**
 * The limits the shards' command lines set: those that differ from what their preset gives (so
 * that the preset still decides the rest, as in the shards' runs).
 */
function explicitLimits(
  limits: Limits,
  preset: LimitsPresetName | undefined,
): { limits?: Partial<Limits> } {
  const base: Limits = { ...DEFAULT_LIMITS, ...presetExecutorLimits(preset ?? "ppocoder") };
  const set = Object.entries(limits).filter(([name, value]) =>
    base[name as keyof Limits] !== value
  );
  return set.length === 0 ? {} : { limits: Object.fromEntries(set) };
}

/** The shards' own timing, workers and throughput, which the replay cannot know. */
function withShardProvenance(report: Report, group: ShardGroup): Report {
  const reports = group.shards.map((s) => s.report);
  const times = (pick: (r: Report) => string) => reports.map(pick).toSorted();
  return {
    ...report,
    provenance: {
      ...report.provenance,
      startedAt: times((r) => r.provenance.startedAt)[0]!,
      finishedAt: times((r) => r.provenance.finishedAt).at(-1)!,
      workers: reports.reduce((total, r) => total + r.provenance.workers, 0),
    },
    throughput: {
      executions: reports.reduce((total, r) => total + r.throughput.executions, 0),
      seconds: Math.max(...reports.map((r) => r.throughput.seconds)),
    },
  };
}

/** A backend that has nothing to generate: every sample is in the shards' records. */
function replayBackend(group: ShardGroup): ModelBackend {
  const reports = group.shards.map((s) => s.report);
  const { sampling } = reports[0]!.config;
  const requests = reports.reduce((total, r) => total + (r.usage?.requests ?? 0), 0);
  return {
    identity: reports[0]!.config.model,
    ...("unknown" in sampling ? { samplingSource: sampling.unknown } : {}),
    yieldsCode: true,
    generate: (request) =>
      Promise.reject(
        new RangeError(
          `Cannot merge as task "${request.task.id}" has no stored sample in any shard: ` +
            `the shard folders are incomplete, run that shard again`,
        ),
      ),
    ...(reports[0]!.usage === undefined
      ? {}
      : { usage: () => ({ promptTokens: 0, completionTokens: 0, requests }) }),
    close: () => Promise.resolve(),
  };
}

/** An executor that has nothing to run: every execution is in the shards' records. */
function replayExecutor(group: ShardGroup): Executor {
  const { provenance } = group.shards[0]!.report;
  return {
    isolation: provenance.isolation.mode,
    limits: provenance.isolation.limits,
    workers: group.shards.reduce((total, s) => total + s.report.provenance.workers, 0),
    notes: [
      `merged from ${group.count} shards: ${group.shards.map((s) => s.runDir).join(", ")}`,
      ...provenance.isolation.notes ?? [],
    ],
    toolchains: provenance.toolchains,
    execute: (request) =>
      Promise.reject(
        new RangeError(
          `Cannot merge as a ${request.language} sample has no stored execution in any shard: ` +
            `the shard folders are incomplete, run that shard again`,
        ),
      ),
    close: () => Promise.resolve(),
  };
}

async function concatenate(paths: readonly string[]): Promise<string> {
  const texts = await Promise.all(paths.map(async (path) => {
    const text = existsSync(path) ? await Deno.readTextFile(path) : "";
    return text === "" || text.endsWith("\n") ? text : `${text}\n`;
  }));
  return texts.join("");
}

/** Shard runs in `paths`: run folders, or folders searched for them. */
export async function findShardRuns(paths: readonly string[]): Promise<ShardRun[]> {
  const runs: ShardRun[] = [];
  for (const path of paths) {
    for (const reportPath of await reportFiles(path)) {
      const report = parseReport(await Deno.readTextFile(reportPath), reportPath);
      if (report.config.shard) {
        runs.push({ runDir: reportPath.replace(/\/report\.json$/, ""), report });
      }
    }
  }
  return runs;
}

async function reportFiles(path: string): Promise<string[]> {
  const direct = join(path, "report.json");
  if (existsSync(direct)) return [direct];
  if (!existsSync(path)) {
    throw new UsageError(
      `path "${path}" does not exist: pass shard run folders, or a folder that holds them`,
    );
  }
  const found: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (entry.isDirectory) found.push(...await reportFiles(join(path, entry.name)));
  }
  return found;
}

async function merge({ values, positionals }: Parsed<typeof MERGE>): Promise<number> {
  const groups = groupShards(await findShardRuns(positionals));
  if (groups.length === 0) {
    throw new RangeError(
      `Cannot merge as no shard reports were found under ${positionals.join(", ")}: ` +
        `run "deno task bench ... --shard I/N" first`,
    );
  }
  const options = {
    ...(values.reports === undefined ? {} : { reportsDir: values.reports }),
    ...(values.data === undefined ? {} : { data: values.data }),
  };
  for (const group of groups) {
    const result = await mergeShards(group, options);
    if (values.json) {
      console.log(JSON.stringify({ report: result.reportPath, metrics: result.report.metrics }));
    } else {
      console.log(formatSummary(result.report, result.reportPath));
    }
  }
  return 0;
}

if (import.meta.main) await runCommand(MERGE, merge);
