/**
 * PPO fine-tuning of a causal code LM on a benchmark's train split, rewarded by executing what it
 * writes through the same per-sample path `runBenchmark` scores with. The loop reads top to
 * bottom: set up (tasks, policy, frozen reference, optimizer, executor, or the newest checkpoint
 * of the same run), then per iteration roll out, reward, score, update, log; checkpoint and
 * evaluate (an ordinary `runBenchmark` report of the checkpoint's ONNX export) every N
 * iterations and at the end.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { createExecutor } from "../../../sandbox/mod.ts";
import { harnessVersion, hostInfo } from "../../report/provenance.ts";
import { runBenchmark, selectTasks } from "../../run.ts";
import { JsonlAppender } from "../../util/jsonl.ts";
import type { Benchmark, LoadedTasks } from "../../../benchmarks/benchmark.ts";
import type { Executor, IsolationMode, Limits } from "../../../sandbox/types.ts";
import { loadTrainablePolicy } from "../load_model.ts";
import type { CausalLm } from "../model.ts";
import { exportOnnx } from "../onnx_export.ts";
import type { ActorCritic } from "../policy.ts";
import { type BackendName, selectBackend } from "../tf_backend.ts";
import { Adam } from "./adam.ts";
import {
  checkpointDir,
  latestCheckpoint,
  loadTrainerState,
  saveCheckpoint,
  type TrainerState,
} from "./checkpoint.ts";
import { configDifferences, type PpoConfig } from "./config.ts";
import { type IterationContext, runIteration } from "./iteration.ts";
import type { KlState } from "./kl.ts";
import {
  type EvalRecord,
  readTrainLog,
  ROLLOUTS_FILE,
  TRAIN_LOG_FILE,
  TRAINING_FILE,
  type TrainingRecord,
  type TrainLogEntry,
  truncateLog,
  writeTrainingRecord,
} from "./record.ts";
import { checkRewardLanguages } from "./rewards.ts";
import { rolloutExportDir } from "./rollout.ts";

/** Options of {@linkcode train}. */
export interface TrainOptions {
  readonly benchmark: Benchmark;
  /** Starting model: a Hugging Face folder or an onnxruntime-genai Llama export. */
  readonly model: string;
  readonly config: PpoConfig;
  /** Train split. @default "train" where the benchmark has one, else its default split */
  readonly split?: string;
  /** Evaluation split. @default the benchmark's default split */
  readonly evalSplit?: string;
  readonly data?: string;
  readonly allowUnverified?: boolean;
  /** Train tasks kept at most, and evaluation tasks. */
  readonly limit?: number;
  readonly evalLimit?: number;
  readonly filter?: Readonly<Record<string, string>>;
  /** Tasks given directly instead of loading the split (tests, custom benchmarks). */
  readonly tasks?: LoadedTasks;
  /** Run evaluations through `runBenchmark`. @default true */
  readonly evaluate?: boolean;
  /** Root of reports; the run lives in `<reports>/training/<run>`. @default "reports" */
  readonly reportsDir?: string;
  /** Run folder name. @default `<benchmark>-<model folder>-s<seed>` */
  readonly runName?: string;
  /** Delete the run folder first instead of resuming it. */
  readonly fresh?: boolean;
  readonly backend?: BackendName;
  readonly isolation?: IsolationMode;
  readonly workers?: number;
  readonly limits?: Partial<Limits>;
  readonly log?: (line: string) => void;
  readonly onIteration?: (entry: TrainLogEntry) => void;
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  readonly runDir: string;
  readonly record: TrainingRecord;
  readonly log: readonly TrainLogEntry[];
  /** The iteration the run resumed after (0 for a fresh run). */
  readonly resumedFrom: number;
}

/** A changed configuration on rerun, refused. */
export class ConfigMismatchError extends Error {
  override name = "ConfigMismatchError";
}

/** Trains; see {@linkcode TrainOptions}. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { benchmark, config } = options;
  const log = options.log ?? (() => {});
  const backend = await selectBackend({
    ...(options.backend ? { force: options.backend } : {}),
    print: false,
  });
  const loaded = options.tasks ?? await loadSplit(options, trainSplit(options));
  if ((options.evaluate ?? true) && loaded.split === evalSplit(options)) {
    log(
      `warning: training and evaluating on the same split "${loaded.split}": the eval reports measure memorisation; pass --split or --eval-split`,
    );
  }
  checkRewardLanguages(config.rewardWeights, new Set(loaded.tasks.map((t) => t.language)));
  const reportsDir = options.reportsDir ?? "reports";
  const runDir = join(
    reportsDir,
    "training",
    checkRunName(options.runName ?? defaultRunName(options)),
  );
  await prepareRunDir(runDir, config, options.fresh ?? false);
  const start = await loadTrainablePolicy(options.model, { valueHeadSeed: config.seed });
  const reference = start.policy.reference();
  const adam = new Adam({
    learningRate: config.learningRate,
    beta1: config.adamBeta1,
    beta2: config.adamBeta2,
    epsilon: config.adamEpsilon,
    maxGradNorm: config.maxGradNorm,
  });
  const latest = await latestCheckpoint(runDir);
  let policy = start.policy;
  let state = initialState(config);
  if (latest !== undefined) {
    start.policy.dispose();
    policy = (await loadTrainablePolicy(latest)).policy;
    state = { ...(await loadTrainerState(latest, adam)), config };
    log(`resuming ${runDir} after iteration ${state.iteration} (${latest})`);
  }
  await truncateLog(join(runDir, TRAIN_LOG_FILE), state.iteration);
  await truncateLog(join(runDir, ROLLOUTS_FILE), state.iteration);
  const executor = await createExecutor({
    ...(options.isolation === undefined ? {} : { isolation: options.isolation }),
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    languages: [...new Set(loaded.tasks.map((t) => t.language))],
  });
  try {
    let record = await initialRecord(options, runDir, loaded, policy, executor, backend, state);
    const ctx: IterationContext = {
      benchmark,
      tasks: loaded.tasks,
      executor,
      policy,
      reference,
      tokenizer: start.tokenizer,
      adam,
      config,
      stop: benchmark.stop ?? [],
      exportDir: rolloutExportDir(runDir),
    };
    if (state.iteration === 0 && (options.evaluate ?? true)) {
      record = await evaluate(options, record, runDir, policy.model, 0, log);
    }
    await writeTrainingRecord(runDir, record);
    record = await loop(ctx, options, runDir, record, state, log);
    return {
      runDir,
      record,
      log: await readTrainLog(runDir),
      resumedFrom: latest === undefined ? 0 : state.iteration,
    };
  } finally {
    await executor.close();
    reference.dispose();
    policy.dispose();
    adam.dispose();
  }
}

async function loop(
  ctx: IterationContext,
  options: TrainOptions,
  runDir: string,
  record: TrainingRecord,
  state: TrainerState,
  log: (line: string) => void,
): Promise<TrainingRecord> {
  const { config } = ctx;
  let kl: KlState = state.kl;
  const logFile = await JsonlAppender.open(join(runDir, TRAIN_LOG_FILE));
  const rolloutFile = await JsonlAppender.open(join(runDir, ROLLOUTS_FILE));
  try {
    for (let iteration = state.iteration + 1; iteration <= config.iterations; iteration++) {
      const result = await runIteration(ctx, iteration, kl);
      kl = result.kl;
      await logFile.append(result.entry);
      for (const rollout of result.rollouts) await rolloutFile.append(rollout);
      options.onIteration?.(result.entry);
      const last = iteration === config.iterations;
      const evalDue = (options.evaluate ?? true) &&
        (last || (config.evalEvery > 0 && iteration % config.evalEvery === 0));
      if (last || evalDue || iteration % config.checkpointEvery === 0) {
        const next: TrainerState = { ...state, iteration, kl, cursor: result.entry.cursor };
        const dir = await saveCheckpoint(runDir, ctx.policy, ctx.adam, next, options.model);
        record = {
          ...record,
          iterations: iteration,
          checkpoints: [...record.checkpoints, relative(runDir, dir)],
        };
        log(`checkpoint ${dir}`);
      }
      if (evalDue) {
        record = await evaluate(options, record, runDir, ctx.policy.model, iteration, log);
      }
      record = { ...record, iterations: iteration, status: last ? "finished" : "running" };
      await writeTrainingRecord(runDir, record);
    }
  } finally {
    logFile.close();
    rolloutFile.close();
  }
  return record;
}

function initialState(config: PpoConfig): TrainerState {
  return {
    kind: "ppo",
    iteration: 0,
    optimizerSteps: 0,
    kl: {
      control: config.klControl,
      value: config.klCoef,
      target: config.klTarget,
      horizon: config.klHorizon,
    },
    cursor: 0,
    seed: config.seed,
    config,
  };
}

function trainSplit(options: TrainOptions): string {
  return options.split ??
    (options.benchmark.splits.includes("train") ? "train" : options.benchmark.splits[0]!);
}

function evalSplit(options: TrainOptions): string {
  return options.evalSplit ?? options.benchmark.splits[0]!;
}

async function loadSplit(options: TrainOptions, split: string): Promise<LoadedTasks> {
  const loaded = await options.benchmark.load({
    split,
    ...(options.data === undefined ? {} : { data: options.data }),
    ...(options.allowUnverified ? { allowUnverified: true } : {}),
  });
  const selected = selectTasks(loaded, {
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    ...(options.filter === undefined ? {} : { filter: options.filter }),
  });
  if (selected.tasks.length === 0) {
    throw new RangeError(
      `Cannot train on ${options.benchmark.name} as split "${split}" with the given filters has no tasks: check --split, --filter and --limit`,
    );
  }
  return selected;
}

/** `<benchmark>-<model folder>-s<seed>`, in the characters run folders allow. */
export function defaultRunName(
  options: Pick<TrainOptions, "benchmark" | "model" | "config">,
): string {
  const model = basename(resolve(options.model)).replace(/[^A-Za-z0-9._-]+/g, "_");
  return `${options.benchmark.name}-${model}-s${options.config.seed}`.replace(/^[._]+/, "");
}

const RUN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._:@+=,-]{0,199}$/;

/** Returns `name` when the leaderboard can serve it as a folder name; throws otherwise. */
function checkRunName(name: string): string {
  if (RUN_NAME.test(name)) return name;
  throw new RangeError(
    `Cannot name a training run "${name}" as run names are letters, digits and . _ : @ + = , - and do not start with a dot: pass another --run`,
  );
}

/** Refuses to resume a run whose stored configuration differs (naming the fields). */
async function prepareRunDir(runDir: string, config: PpoConfig, fresh: boolean): Promise<void> {
  if (fresh) await Deno.remove(runDir, { recursive: true }).catch(() => {});
  const path = join(runDir, TRAINING_FILE);
  if (existsSync(path)) {
    const stored = JSON.parse(await Deno.readTextFile(path)) as TrainingRecord;
    const differences = configDifferences(stored.config, config);
    if (differences.length > 0) {
      throw new ConfigMismatchError(
        `Cannot resume training run "${runDir}" as its configuration differs: ${
          differences.join("; ")
        }: rerun with the same options, or pass --fresh to start over or --run NAME for a new run`,
      );
    }
  }
  await Deno.mkdir(runDir, { recursive: true });
}

async function initialRecord(
  options: TrainOptions,
  runDir: string,
  loaded: LoadedTasks,
  policy: ActorCritic,
  executor: Executor,
  backend: Awaited<ReturnType<typeof selectBackend>>,
  state: TrainerState,
): Promise<TrainingRecord> {
  const path = join(runDir, TRAINING_FILE);
  const previous = existsSync(path)
    ? JSON.parse(await Deno.readTextFile(path)) as TrainingRecord
    : undefined;
  const now = new Date().toISOString();
  return {
    schema: 1,
    id: basename(runDir),
    benchmark: options.benchmark.name,
    split: loaded.split,
    evalSplit: evalSplit(options),
    dataset: { sha256: loaded.sha256, source: loaded.source },
    taskCount: loaded.tasks.length,
    model: {
      path: options.model,
      format: existsSync(join(options.model, "config.json")) ? "hf" : "onnx-genai",
      parameters: policy.model.size,
    },
    config: options.config,
    tfjs: {
      backend: backend.name,
      version: tf.version.tfjs,
      skipped: backend.skipped.map((s) => `${s.name}: ${s.reason}`),
    },
    onnxruntime: "onnxruntime-node@1.30.0",
    provenance: {
      harness: await harnessVersion(),
      startedAt: previous?.provenance.startedAt ?? now,
      finishedAt: now,
      host: hostInfo(),
      toolchains: executor.toolchains,
      isolation: { mode: executor.isolation, limits: executor.limits },
      workers: executor.workers,
    },
    status: "running",
    iterations: state.iteration,
    checkpoints: previous?.checkpoints.filter((c) => existsSync(join(runDir, c))) ?? [],
    evals: previous?.evals.filter((e) => e.iteration <= state.iteration) ?? [],
  };
}

/** Evaluates the policy's ONNX export through `runBenchmark`; adds the report to the record. */
async function evaluate(
  options: TrainOptions,
  record: TrainingRecord,
  runDir: string,
  model: CausalLm,
  iteration: number,
  log: (line: string) => void,
): Promise<TrainingRecord> {
  const dir = iteration === 0
    ? join(runDir, "start-onnx")
    : join(checkpointDir(runDir, iteration), "onnx");
  await exportOnnx(model, dir, { tokenizerFrom: options.model });
  const reportsDir = options.reportsDir ?? "reports";
  const result = await runBenchmark(options.benchmark, {
    model: `onnx:${dir}`,
    split: evalSplit(options),
    ...(options.evalLimit === undefined ? {} : { limit: options.evalLimit }),
    ...(options.filter === undefined ? {} : { filter: options.filter }),
    ...(options.data === undefined ? {} : { data: options.data }),
    ...(options.allowUnverified ? { allowUnverified: true } : {}),
    shots: options.config.shots,
    sampling: { n: 1, temperature: 0, maxTokens: options.config.maxNewTokens },
    ...(options.isolation === undefined ? {} : { isolation: options.isolation }),
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    reportsDir,
    log,
  });
  const entry: EvalRecord = {
    iteration,
    ref: relative(reportsDir, result.runDir),
    reportPath: result.reportPath,
    metrics: result.report.metrics,
  };
  log(`eval after iteration ${iteration}: ${result.reportPath}`);
  return { ...record, evals: [...record.evals.filter((e) => e.iteration !== iteration), entry] };
}
