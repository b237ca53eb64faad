/**
 * One benchmark run end to end: load tasks, generate samples, judge them in the sandbox, build
 * and write the report. Each stage reads what an earlier attempt stored, so rerunning the same
 * command resumes a killed run.
 *
 * @module
 */

import { join } from "node:path";
import { type GenerateResult, generateSamples, GENERATIONS_FILE } from "./generate.ts";
import { EXECUTIONS_FILE, judgeSamples } from "./judge.ts";
import { buildReport } from "./report/build.ts";
import { comparabilityKey, keyFieldsSummary, tasksDigest } from "./report/key.ts";
import { harnessVersion, hostInfo } from "./report/provenance.ts";
import { writeFileAtomic } from "./util/atomic_write.ts";
import { countLines } from "./util/jsonl.ts";
import { LOCK_FILE, lockRunFolder, type RunLock } from "./util/run_lock.ts";
import { canonicalJson, sha256 } from "./util/hash.ts";
import { createExecutor } from "../sandbox/mod.ts";
import { createRemoteExecutor } from "../sandbox/remote.ts";
import { createModelBackend } from "./models/registry.ts";
import { sampleCode, sampleParses, samplePrompt } from "./sample_path.ts";
import { selectTaskIds } from "./task_selection.ts";
import { withGenerationStore } from "./generation_store.ts";
import { judgingBenchmark, presetExecutorLimits, type PresetJudging } from "./limits_presets.ts";
import { writeInteropFiles } from "./interop/export.ts";
import type { Benchmark, LimitsPresetName, LoadedTasks } from "../benchmarks/benchmark.ts";
import type { ModelBackend, Sampling } from "./models/backend.ts";
import type { Executor, IsolationMode, Limits } from "../sandbox/types.ts";
import type { Report, RunConfig, UnknownSampling } from "./report/schema.ts";
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
  /** Judge through these sandbox service replicas (`deno task sandbox serve`), not in-process. */
  readonly sandboxUrls?: readonly string[];
  /** Run only the tasks at positions `index`, `index + count`, ... of the selection. */
  readonly shard?: { readonly index: number; readonly count: number };
  /** An executor and a backend the caller owns, used instead of new ones (`deno task merge`). */
  readonly executor?: Executor;
  readonly backend?: ModelBackend;
  /** Called with the run folder before generation starts (the merge fills it with shards'). */
  readonly onRunDir?: (runDir: string) => Promise<void>;
  /** Backend options passed through (`--api`, `--base-url`, ...). */
  readonly backendOptions?: Readonly<Record<string, string>>;
  /** Root of run folders. @default "reports" */
  readonly reportsDir?: string;
  /** Delete the run folder first instead of resuming it. */
  readonly fresh?: boolean;
  /** Bytes of program output stored per sample (head and tail). @default 32768 */
  readonly storedOutputBytes?: number;
  /** `--tasks`: task ids, ranges, `@FILE`, or `samples` (see `src/task_selection.ts`). */
  readonly tasks?: string;
  /**
   * Sanitize raw text (cut at stops, extract code and the definitions the entry point needs), or
   * run it verbatim after the prompt it continues. @default false for `samples:` and
   * `reference`, true for backends that sample a model
   */
  readonly sanitize?: boolean;
  /** `--limits`: a limits preset. @default the benchmark's (`ppocoder` where it names none) */
  readonly limitsPreset?: LimitsPresetName;
  /** A name for the model, shown instead of its id and used for the run folder. */
  readonly name?: string;
  /**
   * Root of the generations store (`src/generation_store.ts`), or false for none.
   * @default `<reportsDir>/.generations`
   */
  readonly generationStore?: string | false;
  /** Cache folder of the `evalplus` preset's gold times. @default ~/.cache/ppocoder/gold-times */
  readonly goldTimesDir?: string;
  readonly log?: (message: string) => void;
  /** Called once the run folder is taken, before any generation. */
  readonly onStart?: (start: RunStart) => void;
  /** Called at the start of each stage with the work already done, then as work completes. */
  readonly onProgress?: (stage: "generate" | "judge", done: number, total: number) => void;
}

/** What a run starts from: its folder, its size, and what an earlier attempt stored. */
export interface RunStart {
  readonly runDir: string;
  readonly tasks: number;
  readonly samplesPerTask: number;
  /** Complete records of an earlier attempt in `generations.jsonl` and `executions.jsonl`. */
  readonly stored: { readonly generations: number; readonly executions: number };
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
  await assertDataExists(options.data);
  const all = await benchmark.load(loadOptions(options));
  const created = options.backend ?? await createModelBackend(
    options.model ?? "reference",
    { ...options.backendOptions },
    options.log === undefined ? {} : { log: options.log },
  );
  const store = options.generationStore ?? join(options.reportsDir ?? "reports", ".generations");
  const backend = store === false ? created : withGenerationStore(created, store);
  try {
    const covered = created.coveredTasks?.(all.tasks, all.split);
    const loaded = await selectTasks(all, options, covered);
    assertTasks(benchmark, loaded);
    const preset = options.limitsPreset ?? benchmark.limitsPreset ?? "ppocoder";
    const executorOptions = {
      ...(options.isolation === undefined ? {} : { isolation: options.isolation }),
      ...(options.workers === undefined ? {} : { workers: options.workers }),
      limits: { ...presetExecutorLimits(preset), ...options.limits },
      languages: [...new Set(loaded.tasks.map((t) => t.language))],
    };
    const executor = options.executor ??
      (options.sandboxUrls?.length
        ? await createRemoteExecutor({ ...executorOptions, urls: options.sandboxUrls })
        : await createExecutor(executorOptions));
    try {
      const prepared = (await benchmark.prepare?.(loaded, executor)) ?? loaded;
      return await runStages(benchmark, prepared, backend, executor, options, startedAt);
    } finally {
      if (executor !== options.executor) await executor.close();
    }
  } finally {
    if (created !== options.backend) await backend.close();
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
  const preset = options.limitsPreset ?? benchmark.limitsPreset ?? "ppocoder";
  const judging = await judgingBenchmark(preset, benchmark, loaded.tasks, executor, {
    ...(options.limits === undefined ? {} : { explicit: options.limits }),
    ...(options.goldTimesDir === undefined ? {} : { cacheDir: options.goldTimesDir }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  const config = runConfig(benchmark, loaded, backend, sampling, options, judging, preset);
  const keyFields = {
    benchmark: benchmark.name,
    datasetSha256: loaded.sha256,
    split: loaded.split,
    filter: config.filter,
    taskIds: loaded.tasks.map((t) => t.id),
    tasksSha256: tasksDigest(loaded.tasks.map((t) => taskContent(benchmark, t, config.shots))),
    promptTemplate: benchmark.promptTemplate,
    shots: config.shots,
    n: sampling.n,
    sanitize: config.sanitize ?? false,
    limitsPreset: preset,
    limits: executor.limits,
  };
  const key = comparabilityKey(keyFields);
  const runDir = runDirOf(options, benchmark, key, config);
  using _lock = await takeRunDir(runDir, options.fresh ?? false);
  await options.onRunDir?.(runDir);
  options.onStart?.(await runStart(runDir, loaded.tasks.length, sampling.n));
  const tasksById = new Map(loaded.tasks.map((t) => [t.id, t]));
  const { samples, generated, tokens } = await generate(
    benchmark,
    loaded.tasks,
    backend,
    sampling,
    runDir,
    options,
  );
  const judged = await judgeSamples(samples, tasksById, judging.benchmark, executor, {
    runDir,
    ...(options.storedOutputBytes === undefined
      ? {}
      : { storedOutputBytes: options.storedOutputBytes }),
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
      isolation: {
        mode: executor.isolation,
        limits: executor.limits,
        ...(executor.notes?.length ? { notes: executor.notes } : {}),
      },
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
  for (const [name, text] of Object.entries(summary?.files ?? {})) {
    if (!/^[\w.-]+$/.test(name)) {
      throw new RangeError(
        `Cannot write ${benchmark.name}'s file "${name}" as its name must be a plain file name`,
      );
    }
    await writeFileAtomic(join(runDir, name), text);
  }
  const reportPath = join(runDir, "report.json");
  await writeFileAtomic(reportPath, JSON.stringify(report, null, 1) + "\n");
  await writeInteropFiles(runDir, { benchmark, report, tasks: loaded.tasks, samples, ...judged });
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

/**
 * Keeps the tasks whose meta fields match every `--filter`, then those `--tasks` names (`covered`:
 * the tasks a samples file has), then the first `--limit`.
 */
export async function selectTasks(
  loaded: LoadedTasks,
  options: RunOptions,
  covered?: readonly Task[],
): Promise<LoadedTasks> {
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
  const chosen = options.tasks === undefined ? kept : await selectTaskIds(kept, options.tasks, {
    split: loaded.split,
    ...(covered === undefined ? {} : { covered }),
  });
  const { index, count } = options.shard ?? { index: 0, count: 1 };
  const shard = chosen.slice(0, options.limit ?? Infinity).filter((_, i) => i % count === index);
  return { ...loaded, tasks: shard };
}

/** What defines a task for the comparability key: its content as the model and judge see it. */
function taskContent(benchmark: Benchmark, task: Task, shots: number) {
  return {
    id: task.id,
    language: task.language,
    prompt: benchmark.prompt(task, { shots }),
    reference: task.reference,
    ...(task.entryPoint === undefined ? {} : { entryPoint: task.entryPoint }),
    check: task.check,
  };
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
  judging: PresetJudging,
  preset: LimitsPresetName,
): RunConfig {
  const k = options.k ?? [1, 10, 100];
  if (options.k !== undefined && loaded.tasks.every((t) => t.check.kind === "compile")) {
    throw new RangeError(
      `Cannot report pass@${
        k.join(",")
      } on ${benchmark.name} as its tasks have no tests (they are only compiled): leave out --k`,
    );
  }
  const unknown: UnknownSampling | undefined = backend.samplingSource === undefined
    ? undefined
    : { n: sampling.n, unknown: backend.samplingSource };
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
    ...(options.name === undefined ? {} : { name: options.name }),
    sampling: unknown ?? sampling,
    sanitize: options.sanitize ?? backend.samplingSource === undefined,
    ...(options.tasks === undefined ? {} : { tasks: options.tasks }),
    limits: {
      preset,
      ...(judging.perTaskWallMs === undefined ? {} : { perTaskWallMs: judging.perTaskWallMs }),
      ...(judging.goldMs === undefined ? {} : { goldMs: judging.goldMs }),
    },
    k: loaded.tasks.every((t) => t.check.kind === "compile") ? [] : k,
    ...(options.shard ? { shard: options.shard } : {}),
  };
}

/** The run folder: named after the model and a hash of everything that shapes the results. */
function runDirOf(
  options: RunOptions,
  benchmark: Benchmark,
  key: string,
  config: RunConfig,
): string {
  const identity = sha256(canonicalJson({ key, model: config.model, sampling: config.sampling }));
  const slug = (config.name ?? config.model.id).replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+/, "").slice(-40);
  return join(options.reportsDir ?? "reports", benchmark.name, `${slug}-${identity.slice(0, 12)}`);
}

/**
 * Takes the run folder for this process until the returned lock is disposed: a second run of the
 * same command is refused while this one lives. `fresh` empties it first.
 */
async function takeRunDir(runDir: string, fresh: boolean): Promise<Disposable & RunLock> {
  const lock = await lockRunFolder(runDir);
  try {
    if (fresh) await emptyRunDir(runDir);
  } catch (error) {
    lock.release();
    throw error;
  }
  return { ...lock, [Symbol.dispose]: () => lock.release() };
}

/** Removes everything in a run folder but its lock (which this process holds). */
async function emptyRunDir(runDir: string): Promise<void> {
  for await (const entry of Deno.readDir(runDir)) {
    if (entry.name !== LOCK_FILE) await Deno.remove(join(runDir, entry.name), { recursive: true });
  }
}

async function runStart(runDir: string, tasks: number, samplesPerTask: number): Promise<RunStart> {
  const [generations, executions] = await Promise.all([
    countLines(join(runDir, GENERATIONS_FILE)),
    countLines(join(runDir, EXECUTIONS_FILE)),
  ]);
  return { runDir, tasks, samplesPerTask, stored: { generations, executions } };
}

/** `--data` names a file or folder that must exist: no silent fallback to another copy. */
async function assertDataExists(data: string | undefined): Promise<void> {
  if (data === undefined) return;
  try {
    await Deno.stat(data);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Deno.errors.NotFound(
      `Cannot read the dataset as --data "${data}" does not exist: pass the dataset file or ` +
        `the folder that holds it, or leave --data out to use $PPOCODER_DATA, the cache or a ` +
        `download`,
    );
  }
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
        sanitize: options.sanitize ?? backend.samplingSource === undefined,
        style: backend.style ?? "completion",
        stop: task.stop ?? sampling.stop,
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
