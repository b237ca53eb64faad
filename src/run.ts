/**
 * One benchmark run end to end: load tasks, generate samples, judge them in the sandbox, build
 * and write the report. Each stage reads what an earlier attempt stored, so rerunning the same
 * command resumes a killed run.
 *
 * @module
 */

import { join } from "node:path";
import { type GenerateResult, generateSamples } from "./generate.ts";
import { judgeSamples } from "./judge.ts";
import { buildReport } from "./report/build.ts";
import { comparabilityKey, keyFieldsSummary } from "./report/key.ts";
import { harnessVersion, hostInfo } from "./report/provenance.ts";
import { writeFileAtomic } from "./util/atomic_write.ts";
import { canonicalJson, sha256 } from "./util/hash.ts";
import { createExecutor } from "../sandbox/mod.ts";
import { createModelBackend } from "./models/registry.ts";
import { sampleCode, sampleParses, samplePrompt } from "./sample_path.ts";
import type { Benchmark, LoadedTasks } from "../benchmarks/benchmark.ts";
import type { ModelBackend, Sampling } from "./models/backend.ts";
import type { Executor, IsolationMode, Limits } from "../sandbox/types.ts";
import type { Report, RunConfig } from "./report/schema.ts";
import type { Sample, SampleResult, Task } from "./types.ts";

/** Options of {@linkcode runBenchmark}. */
export interface RunOptions {
  /** Model spec: `reference`, `samples:PATH`, `openai:MODEL`, `onnx:FOLDER`. @default "reference" */
  readonly model?: string;
  readonly split?: string;
  readonly limit?: number;
  readonly filter?: Readonly<Record<string, string>>;
  readonly data?: string;
  readonly allowUnverified?: boolean;
  readonly shots?: number;
  readonly sampling?: Partial<Sampling>;
  /** k values of pass@k. @default [1, 10, 100] (those above n are reported as null) */
  readonly k?: readonly number[];
  readonly isolation?: IsolationMode;
  readonly workers?: number;
  readonly limits?: Partial<Limits>;
  /** Backend options passed through (`--api`, `--base-url`, ...). */
  readonly backendOptions?: Readonly<Record<string, string>>;
  /** Root of run folders. @default "reports" */
  readonly reportsDir?: string;
  /** Delete the run folder first instead of resuming it. */
  readonly fresh?: boolean;
  readonly log?: (message: string) => void;
  readonly onProgress?: (stage: "generate" | "judge", done: number, total: number) => void;
}

/** What a finished run returns. */
export interface RunResult {
  readonly report: Report;
  readonly runDir: string;
  readonly reportPath: string;
  /** Generations and executions taken from an earlier attempt of the same run. */
  readonly resumed: { readonly samples: number; readonly executions: number };
}

/** Default sampling: one greedy sample per task. */
export const DEFAULT_SAMPLING: Sampling = {
  n: 1,
  temperature: 0,
  topP: 1,
  topK: 0,
  maxTokens: 512,
  stop: [],
  seed: 0,
};

/** Runs `benchmark` with `options`; see {@linkcode RunOptions}. */
export async function runBenchmark(
  benchmark: Benchmark,
  options: RunOptions = {},
): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const loaded = selectTasks(await benchmark.load(loadOptions(options)), options);
  assertTasks(benchmark, loaded);
  const backend = await createModelBackend(options.model ?? "reference", {
    ...options.backendOptions,
  });
  try {
    const executor = await createExecutor({
      ...(options.isolation === undefined ? {} : { isolation: options.isolation }),
      ...(options.workers === undefined ? {} : { workers: options.workers }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      languages: [...new Set(loaded.tasks.map((t) => t.language))],
    });
    try {
      return await runStages(benchmark, loaded, backend, executor, options, startedAt);
    } finally {
      await executor.close();
    }
  } finally {
    await backend.close();
  }
}

async function runStages(
  benchmark: Benchmark,
  loaded: LoadedTasks,
  backend: ModelBackend,
  executor: Executor,
  options: RunOptions,
  startedAt: string,
): Promise<RunResult> {
  const sampling = samplingFor(benchmark, backend, loaded.tasks, options);
  const config = runConfig(benchmark, loaded, backend, sampling, options);
  const keyFields = {
    benchmark: benchmark.name,
    datasetSha256: loaded.sha256,
    split: loaded.split,
    filter: config.filter,
    taskIds: loaded.tasks.map((t) => t.id),
    promptTemplate: benchmark.promptTemplate,
    shots: config.shots,
    n: sampling.n,
    k: config.k,
    limits: executor.limits,
  };
  const key = comparabilityKey(keyFields);
  const runDir = await prepareRunDir(options, benchmark, key, config);
  const tasksById = new Map(loaded.tasks.map((t) => [t.id, t]));
  const { samples, generated, tokens } = await generate(
    benchmark,
    loaded.tasks,
    backend,
    sampling,
    runDir,
    options,
  );
  const judged = await judgeSamples(samples, tasksById, benchmark, executor, {
    runDir,
    onProgress: (done, total) => options.onProgress?.("judge", done, total),
  });
  const summary = await benchmark.summarize?.(groupJudged(loaded.tasks, samples, judged.results));
  const syntaxOk = await syntaxCounts(benchmark, tasksById, samples);
  const report = buildReport({
    id: runDir.split("/").at(-1)!,
    comparabilityKey: key,
    keyFields: keyFieldsSummary(keyFields),
    headline: benchmark.metric,
    provenance: {
      harness: await harnessVersion(),
      startedAt,
      finishedAt: new Date().toISOString(),
      host: hostInfo(),
      toolchains: executor.toolchains,
      isolation: { mode: executor.isolation, limits: executor.limits },
      workers: executor.workers,
    },
    config,
    tasks: loaded.tasks,
    samples,
    results: judged.results,
    groupBy: benchmark.groupBy ?? [],
    ...(summary === undefined ? {} : { extraMetrics: summary.metrics }),
    ...(summary?.perTask === undefined ? {} : { perTaskScores: summary.perTask }),
    syntaxOk,
    throughput: { executions: judged.executed, seconds: judged.seconds },
    ...usageOf(backend, tokens),
  });
  const reportPath = join(runDir, "report.json");
  await writeFileAtomic(reportPath, JSON.stringify(report, null, 1) + "\n");
  const resumed = {
    samples: samples.length - generated,
    executions: judged.results.length - judged.executed,
  };
  return { report, runDir, reportPath, resumed };
}

/**
 * Per task, the samples whose program (as the sandbox runs it) parses cleanly. A benchmark's own
 * `syntax_rate` (from `summarize`) takes precedence in the overall metrics.
 */
async function syntaxCounts(
  benchmark: Benchmark,
  tasks: ReadonlyMap<string, Task>,
  samples: readonly Sample[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const sample of samples) {
    const ok = await sampleParses(benchmark, tasks.get(sample.taskId)!, sample.code);
    counts.set(sample.taskId, (counts.get(sample.taskId) ?? 0) + (ok ? 1 : 0));
  }
  return counts;
}

function usageOf(backend: ModelBackend, tokens: GenerateResult["tokens"]) {
  const usage = backend.usage?.();
  if (usage === undefined) return {};
  return {
    usage: {
      promptTokens: tokens.prompt,
      completionTokens: tokens.completion,
      requests: usage.requests,
    },
  };
}

function loadOptions(options: RunOptions) {
  return {
    ...(options.data === undefined ? {} : { data: options.data }),
    ...(options.split === undefined ? {} : { split: options.split }),
    ...(options.allowUnverified ? { allowUnverified: true } : {}),
    ...(options.log === undefined ? {} : { log: options.log }),
  };
}

/** Keeps the tasks whose meta fields match every `--filter`, then the first `--limit`. */
export function selectTasks(loaded: LoadedTasks, options: RunOptions): LoadedTasks {
  const filter = Object.entries(options.filter ?? {});
  for (const [field] of filter) {
    if (loaded.tasks.some((task) => Object.hasOwn(task.meta, field))) continue;
    const known = [...new Set(loaded.tasks.flatMap((task) => Object.keys(task.meta)))];
    throw new RangeError(
      `Cannot filter tasks on "${field}" as no task has that field: use one of ${known.join(", ")}`,
    );
  }
  const kept = loaded.tasks.filter((task) =>
    filter.every(([field, value]) => String(task.meta[field]) === value)
  );
  return { ...loaded, tasks: kept.slice(0, options.limit ?? Infinity) };
}

function assertTasks(benchmark: Benchmark, loaded: LoadedTasks): void {
  if (loaded.tasks.length > 0) return;
  throw new RangeError(
    `Cannot run ${benchmark.name} as split "${loaded.split}" with the given filters has no tasks: check --split, --filter and --limit`,
  );
}

function samplingFor(
  benchmark: Benchmark,
  backend: ModelBackend,
  tasks: readonly Task[],
  options: RunOptions,
): Sampling {
  const n = options.sampling?.n ?? backend.samplesPerTask?.(tasks) ?? DEFAULT_SAMPLING.n;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot sample as --n must be a positive integer: current value is ${n}`);
  }
  const stop = options.sampling?.stop ?? benchmark.stop ?? DEFAULT_SAMPLING.stop;
  return { ...DEFAULT_SAMPLING, ...options.sampling, n, stop };
}

function runConfig(
  benchmark: Benchmark,
  loaded: LoadedTasks,
  backend: ModelBackend,
  sampling: Sampling,
  options: RunOptions,
): RunConfig {
  return {
    benchmark: benchmark.name,
    dataset: {
      name: benchmark.dataset.name,
      version: benchmark.dataset.version,
      sha256: loaded.sha256,
      source: loaded.source,
    },
    split: loaded.split,
    filter: options.filter ?? {},
    limit: options.limit ?? null,
    taskCount: loaded.tasks.length,
    promptTemplate: benchmark.promptTemplate,
    shots: options.shots ?? 0,
    model: backend.identity,
    sampling,
    k: options.k ?? [1, 10, 100],
  };
}

/** The run folder: named after the model and a hash of everything that shapes the results. */
async function prepareRunDir(
  options: RunOptions,
  benchmark: Benchmark,
  key: string,
  config: RunConfig,
): Promise<string> {
  const identity = sha256(canonicalJson({ key, model: config.model, sampling: config.sampling }));
  const slug = config.model.id.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "").slice(-40);
  const runDir = join(
    options.reportsDir ?? "reports",
    benchmark.name,
    `${slug}-${identity.slice(0, 12)}`,
  );
  if (options.fresh) await Deno.remove(runDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(runDir, { recursive: true });
  return runDir;
}

function generate(
  benchmark: Benchmark,
  tasks: readonly Task[],
  backend: ModelBackend,
  sampling: Sampling,
  runDir: string,
  options: RunOptions,
): Promise<GenerateResult> {
  const shots = options.shots ?? 0;
  return generateSamples(tasks, backend, {
    runDir,
    sampling,
    prompt: (task) => samplePrompt(benchmark, task, shots),
    toCode: (task, raw, isProgram) =>
      sampleCode(benchmark, task, raw, {
        style: backend.style ?? "completion",
        stop: sampling.stop,
        isProgram,
      }),
    onProgress: (done, total) => options.onProgress?.("generate", done, total),
  });
}

function groupJudged(
  tasks: readonly Task[],
  samples: readonly Sample[],
  results: readonly SampleResult[],
) {
  const samplesByTask = Map.groupBy(samples, (s) => s.taskId);
  const resultsByTask = Map.groupBy(results, (r) => r.taskId);
  return tasks.map((task) => ({
    task,
    samples: samplesByTask.get(task.id) ?? [],
    results: (resultsByTask.get(task.id) ?? []).map((r) => r.execution),
  }));
}
