/**
 * `deno task train <benchmark> --model DIR [options]`: PPO fine-tuning rewarded by the sandbox,
 * with a progress line per iteration and a summary at the end. Rerunning the same command resumes
 * the run from its newest checkpoint.
 *
 * @module
 */

import { BENCHMARKS, getBenchmark } from "../../benchmarks/mod.ts";
import { DEFAULT_PPO_CONFIG, type PpoConfig, ppoConfig } from "../rl/ppo/config.ts";
import { parseRewardSpec, REWARD_RECIPES } from "../rl/ppo/rewards.ts";
import type { TrainLogEntry } from "../rl/ppo/record.ts";
import { train, type TrainOptions, type TrainResult } from "../rl/ppo/trainer.ts";
import { BACKENDS } from "../rl/tf_backend.ts";
import {
  choice,
  type CommandSpec,
  didYouMean,
  existingPath,
  integer,
  list,
  number,
  pairs,
  type Parsed,
  runCommand,
  UsageError,
  type Values,
} from "./_args.ts";

const MODEL = "Model and data";
const REWARD = "Reward";
const PPO = "PPO";
const SAMPLING = "Sampling";
const RUN = "Run";
const D = DEFAULT_PPO_CONFIG;

/** The `train` command line; each default is read from {@linkcode DEFAULT_PPO_CONFIG}. */
export const TRAIN = {
  name: "train",
  usage: "<benchmark> --model DIR [options]",
  summary: "PPO fine-tuning of a causal code LM, rewarded by running what it writes in the " +
    "sandbox through the same per-sample path that `deno task bench` scores with. Prints a " +
    "progress line per iteration on stderr and a summary at the end; the run lives in " +
    "<reports>/training/<run>/. Rerun the same command to resume from the newest checkpoint. " +
    `Benchmarks: ${Object.keys(BENCHMARKS).join(", ")}.`,
  positionals: { min: 1, max: 1, label: "benchmark" },
  options: {
    model: {
      type: "string",
      value: "DIR",
      section: MODEL,
      help: "starting model (required; it must exist): a Hugging Face folder (config.json, " +
        "safetensors, tokenizer.json) or an onnxruntime-genai Llama export (genai_config.json, " +
        "model.onnx)",
    },
    split: {
      type: "string",
      value: "NAME",
      section: MODEL,
      help: 'train split (default: "train" where the benchmark has one, else its default split)',
    },
    "eval-split": {
      type: "string",
      value: "NAME",
      section: MODEL,
      help: "evaluation split (default: the benchmark's default split)",
    },
    limit: {
      type: "string",
      value: "N",
      section: MODEL,
      help: "train on the first N tasks of the split (default: all)",
    },
    "eval-limit": {
      type: "string",
      value: "N",
      section: MODEL,
      help: "evaluate on the first N tasks of the evaluation split (default 20)",
    },
    filter: {
      type: "string",
      multiple: true,
      value: "KEY=VALUE",
      section: MODEL,
      help: "keep tasks whose meta field matches, e.g. difficulty=introductory",
    },
    data: {
      type: "string",
      value: "PATH",
      section: MODEL,
      help: "dataset file or folder; it must exist (without it: $PPOCODER_DATA, the cache, " +
        "then a download)",
    },
    "allow-unverified": {
      type: "boolean",
      section: MODEL,
      help: "accept dataset files whose sha256 differs from the pinned one",
    },
    reward: {
      type: "string",
      value: "SPEC",
      section: REWARD,
      help: `reward recipe: ${Object.keys(REWARD_RECIPES).join(", ")} (default ${D.reward}), ` +
        "optionally followed by term=weight overrides, e.g. ppocoder,dataflow_match=0.5; or " +
        "term=weight pairs alone",
    },
    kl: {
      type: "string",
      value: "BETA",
      section: REWARD,
      help: `initial (with --kl-control fixed: fixed) KL coefficient (default ${D.klCoef})`,
    },
    "kl-control": {
      type: "string",
      value: "MODE",
      section: REWARD,
      help: `adaptive (Ziegler et al. 2019) or fixed (default ${D.klControl})`,
    },
    "kl-target": {
      type: "string",
      value: "NATS",
      section: REWARD,
      help: `target KL per sequence of the adaptive controller (default ${D.klTarget})`,
    },
    "shuffle-rewards": {
      type: "boolean",
      section: REWARD,
      help: "control run: scores are permuted across the batch before advantages, so nothing " +
        "should be learnt",
    },
    iterations: {
      type: "string",
      value: "N",
      section: PPO,
      help: `PPO iterations of rollout, reward and update (default ${D.iterations})`,
    },
    batch: {
      type: "string",
      value: "TASKS",
      section: PPO,
      help: `tasks per iteration (default ${D.batchTasks})`,
    },
    "samples-per-task": {
      type: "string",
      value: "N",
      section: PPO,
      help: `samples per task, the group of rloo and grpo (default ${D.samplesPerTask})`,
    },
    epochs: {
      type: "string",
      value: "N",
      section: PPO,
      help: `passes over each batch of rollouts (default ${D.epochs})`,
    },
    minibatches: {
      type: "string",
      value: "N",
      section: PPO,
      help: "minibatches per epoch; they must split TASKS x samples-per-task rollouts evenly " +
        `(default ${D.minibatches})`,
    },
    "micro-batch": {
      type: "string",
      value: "ROWS",
      section: PPO,
      help: "rows per forward/backward pass; a minibatch's gradients are summed " +
        `(default ${D.microBatch})`,
    },
    lr: {
      type: "string",
      value: "LR",
      section: PPO,
      help: `Adam learning rate, constant (default ${D.learningRate})`,
    },
    "max-grad-norm": {
      type: "string",
      value: "X",
      section: PPO,
      help: `largest global gradient norm (default ${D.maxGradNorm})`,
    },
    clip: {
      type: "string",
      value: "X",
      section: PPO,
      help: `policy ratio clip (default ${D.clipRange})`,
    },
    "value-coef": {
      type: "string",
      value: "X",
      section: PPO,
      help: `value loss coefficient (default ${D.valueCoef})`,
    },
    "entropy-coef": {
      type: "string",
      value: "X",
      section: PPO,
      help: `entropy bonus coefficient (default ${D.entropyCoef})`,
    },
    "target-kl": {
      type: "string",
      value: "X",
      section: PPO,
      help: "stop an iteration's epochs when the mean approximate KL passes X; 0 never " +
        `(default ${D.targetApproxKl})`,
    },
    "critic-warmup": {
      type: "string",
      value: "N",
      section: PPO,
      help: `iterations at the start that train only the value head (default ${D.criticWarmup})`,
    },
    advantage: {
      type: "string",
      value: "MODE",
      section: PPO,
      help: "gae (over the value head), rloo (leave-one-out) or grpo (group-normalised); rloo " +
        `and grpo need --samples-per-task 2 or more (default ${D.advantage})`,
    },
    temperature: {
      type: "string",
      value: "T",
      section: SAMPLING,
      help: `sampling temperature, above 0: PPO scores what it samples (default ${D.temperature})`,
    },
    "top-k": {
      type: "string",
      value: "K",
      section: SAMPLING,
      help: `top-k cut, 0 for none (default ${D.topK})`,
    },
    "max-new-tokens": {
      type: "string",
      value: "N",
      section: SAMPLING,
      help: `new tokens per rollout at most (default ${D.maxNewTokens})`,
    },
    "max-prompt-tokens": {
      type: "string",
      value: "N",
      section: SAMPLING,
      help: `prompt tokens kept at most, the tail (default ${D.maxPromptTokens})`,
    },
    shots: {
      type: "string",
      value: "N",
      section: SAMPLING,
      help: `few-shot examples in the prompt (default ${D.shots})`,
    },
    seed: {
      type: "string",
      value: "S",
      section: SAMPLING,
      help: `seed of data order, sampling and minibatch order (default ${D.seed})`,
    },
    rollout: {
      type: "string",
      value: "ENGINE",
      section: SAMPLING,
      help: "onnx (the policy's export on onnxruntime-node) or tfjs (the TensorFlow.js policy) " +
        `(default ${D.rollout})`,
    },
    backend: {
      type: "string",
      value: "NAME",
      section: SAMPLING,
      help: `TensorFlow.js backend: ${BACKENDS.join(", ")} (default: the first that loads)`,
    },
    reports: {
      type: "string",
      value: "DIR",
      section: RUN,
      help: "reports root; the run lives in DIR/training/<run> (default reports)",
    },
    run: {
      type: "string",
      value: "NAME",
      section: RUN,
      help: "run folder name (default <benchmark>-<model folder>-s<seed>)",
    },
    fresh: {
      type: "boolean",
      section: RUN,
      help: "delete the run folder and start over instead of resuming it",
    },
    "checkpoint-every": {
      type: "string",
      value: "N",
      section: RUN,
      help: `write a checkpoint every N iterations and at the end (default ${D.checkpointEvery})`,
    },
    "eval-every": {
      type: "string",
      value: "N",
      section: RUN,
      help: "also evaluate every N iterations; 0: at the start and the end only " +
        `(default ${D.evalEvery})`,
    },
    "no-eval": { type: "boolean", section: RUN, help: "write no evaluation reports" },
    sandbox: {
      type: "string",
      value: "MODE",
      section: RUN,
      help: "bwrap or none (default bwrap; none is written into the record)",
    },
    workers: {
      type: "string",
      value: "N",
      section: RUN,
      help: "concurrent sandbox executions (default: CPU cores)",
    },
    "sandbox-url": {
      type: "string",
      value: "URL[,URL...]",
      section: RUN,
      help: "reward (and evaluate) through sandbox service replicas (deno task sandbox serve)",
    },
    json: {
      type: "boolean",
      section: RUN,
      help: "print the run folder and its record as JSON instead of the summary",
    },
  },
  exitCodes: {
    1: "training failed (the error says why), or a rerun's options differ from the stored run's",
  },
  interrupted: "interrupted: rerun the same command to resume from the newest checkpoint",
} as const satisfies CommandSpec;

type TrainValues = Values<typeof TRAIN>;

const MODEL_HINT = "pass a Hugging Face folder (config.json, safetensors, tokenizer.json) or an " +
  "onnxruntime-genai export (genai_config.json, model.onnx)";

const DATA_HINT = "pass the dataset file or the folder that holds it, or leave --data out to " +
  "use $PPOCODER_DATA, the cache or a download";

/** A parsed `train` command line. */
export interface TrainArgs {
  readonly options: TrainOptions;
  readonly json: boolean;
}

/** Turns a parsed command line into train options; throws `UsageError` on a bad value. */
export async function trainArgs({ values, positionals }: Parsed<typeof TRAIN>): Promise<TrainArgs> {
  const benchmark = positionals[0]!;
  if (!Object.hasOwn(BENCHMARKS, benchmark)) {
    throw new UsageError(
      `unknown benchmark "${benchmark}"${didYouMean(benchmark, Object.keys(BENCHMARKS))}: ` +
        `use one of ${Object.keys(BENCHMARKS).join(", ")}`,
    );
  }
  if (values.model === undefined) {
    throw new UsageError(`missing option --model: train needs a starting model: ${MODEL_HINT}`);
  }
  const options: TrainOptions = {
    benchmark: getBenchmark(benchmark),
    model: (await existingPath("model", values.model, { kind: "folder", hint: MODEL_HINT }))!,
    config: checkedConfig(configOf(values)),
    ...optional("split", values.split),
    ...optional("evalSplit", values["eval-split"]),
    ...optional("limit", integer("limit", values.limit, 1)),
    evalLimit: integer("eval-limit", values["eval-limit"], 1) ?? 20,
    ...optional("filter", pairs("filter", values.filter)),
    ...optional("data", await existingPath("data", values.data, { hint: DATA_HINT })),
    ...(values["allow-unverified"] ? { allowUnverified: true } : {}),
    ...(values["no-eval"] ? { evaluate: false } : {}),
    ...optional("reportsDir", values.reports),
    ...optional("runName", values.run),
    ...(values.fresh ? { fresh: true } : {}),
    ...optional("backend", choice("backend", values.backend, BACKENDS)),
    ...optional("isolation", choice("sandbox", values.sandbox, ["bwrap", "none"])),
    ...optional("workers", integer("workers", values.workers, 1)),
    ...optional("sandboxUrls", list(values["sandbox-url"])),
  };
  return { options, json: values.json ?? false };
}

function configOf(values: TrainValues): Partial<PpoConfig> {
  const reward = values.reward === undefined ? undefined : rewardOf(values.reward);
  return {
    ...(reward ? { reward: reward.name, rewardWeights: reward.weights } : {}),
    ...optional("klCoef", number("kl", values.kl, { min: 0 })),
    ...optional("klControl", choice("kl-control", values["kl-control"], ["adaptive", "fixed"])),
    ...optional("klTarget", positive("kl-target", values["kl-target"])),
    ...(values["shuffle-rewards"] ? { shuffleRewards: true } : {}),
    ...optional("iterations", integer("iterations", values.iterations)),
    ...optional("batchTasks", integer("batch", values.batch, 1)),
    ...optional("samplesPerTask", integer("samples-per-task", values["samples-per-task"], 1)),
    ...optional("epochs", integer("epochs", values.epochs, 1)),
    ...optional("minibatches", integer("minibatches", values.minibatches, 1)),
    ...optional("microBatch", integer("micro-batch", values["micro-batch"], 1)),
    ...optional("learningRate", positive("lr", values.lr)),
    ...optional("maxGradNorm", number("max-grad-norm", values["max-grad-norm"], { min: 0 })),
    ...optional("clipRange", number("clip", values.clip, { min: 0 })),
    ...optional("valueCoef", number("value-coef", values["value-coef"], { min: 0 })),
    ...optional("entropyCoef", number("entropy-coef", values["entropy-coef"])),
    ...optional("targetApproxKl", number("target-kl", values["target-kl"], { min: 0 })),
    ...optional("criticWarmup", integer("critic-warmup", values["critic-warmup"])),
    ...optional("advantage", choice("advantage", values.advantage, ["gae", "rloo", "grpo"])),
    ...optional("temperature", positive("temperature", values.temperature)),
    ...optional("topK", integer("top-k", values["top-k"])),
    ...optional("maxNewTokens", integer("max-new-tokens", values["max-new-tokens"], 1)),
    ...optional("maxPromptTokens", integer("max-prompt-tokens", values["max-prompt-tokens"], 1)),
    ...optional("shots", integer("shots", values.shots)),
    ...optional("seed", integer("seed", values.seed)),
    ...optional("rollout", choice("rollout", values.rollout, ["onnx", "tfjs"])),
    ...optional("checkpointEvery", integer("checkpoint-every", values["checkpoint-every"], 1)),
    ...optional("evalEvery", integer("eval-every", values["eval-every"])),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** A number above 0 (`number()` bounds are inclusive). */
function positive(flag: string, text: string | undefined): number | undefined {
  const value = number(flag, text, { min: 0 });
  if (value === 0) {
    throw new UsageError(`option --${flag} must be a number above 0: current value is "${text}"`);
  }
  return value;
}

/** The `--reward` spec; an unknown recipe names the one meant. */
function rewardOf(spec: string): ReturnType<typeof parseRewardSpec> {
  try {
    return parseRewardSpec(spec);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const head = spec.split(",")[0]!.trim();
    const hint = head.includes("=") ? "" : didYouMean(head, Object.keys(REWARD_RECIPES));
    throw new UsageError(`option --reward: ${error.message}${hint}`);
  }
}

/** The PPO config, where a combination of options it refuses is a command-line mistake. */
function checkedConfig(overrides: Partial<PpoConfig>): PpoConfig {
  try {
    return ppoConfig(overrides);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

const fixed = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "-");
const percent = (x: number) => `${Math.round(x * 100)}%`;

/** One progress line for an iteration. */
export function progressLine(entry: TrainLogEntry, iterations: number): string {
  const terms = Object.entries(entry.terms).map(([k, v]) => `${k} ${fixed(v)}`).join(", ");
  const s = entry.seconds;
  return [
    `iter ${entry.iteration}/${iterations}`,
    `reward ${fixed(entry.rewardMean)}±${fixed(entry.rewardStd)} (${terms})`,
    `compile ${percent(entry.compileRate)} syntax ${percent(entry.syntaxRate)} pass ${
      percent(entry.passRate)
    }`,
    `len ${fixed(entry.responseTokens, 1)} tok eos ${percent(entry.eosShare)}`,
    `kl ${fixed(entry.kl)} beta ${fixed(entry.beta, 3)} ent ${fixed(entry.entropy)}`,
    `pg ${fixed(entry.policyLoss, 3)} vf ${fixed(entry.valueLoss, 3)} clip ${
      fixed(entry.policyClipFraction)
    }`,
    `akl ${fixed(entry.approxKl, 4)} gn ${fixed(entry.gradNorm)}${
      entry.dropped ? ` dropped ${entry.dropped}` : ""
    }`,
    `| rollout ${fixed(s.rollout, 1)}s reward ${fixed(s.reward, 1)}s scoring ${
      fixed(s.scoring, 1)
    }s update ${fixed(s.update, 1)}s ${Math.round(entry.tokensPerSecond)} tok/s`,
  ].join("  ");
}

/** The summary printed at the end. */
export function summary(result: TrainResult): string {
  const { record, log } = result;
  const first = log[0];
  const last = log.at(-1);
  const lines = [
    `training run: ${result.runDir}`,
    `benchmark ${record.benchmark} (train ${record.split}, ${record.taskCount} tasks; eval ${record.evalSplit})`,
    `model ${record.model.path} (${record.model.parameters} parameters), tfjs ${record.tfjs.backend}, rollouts ${record.config.rollout}`,
    `iterations ${record.iterations}/${record.config.iterations}${
      result.resumedFrom ? ` (resumed after ${result.resumedFrom})` : ""
    }, reward ${record.config.reward}`,
  ];
  if (first && last) {
    lines.push(
      `reward ${fixed(first.rewardMean)} -> ${fixed(last.rewardMean)}, compile ${
        percent(first.compileRate)
      } -> ${percent(last.compileRate)}, length ${fixed(first.responseTokens, 1)} -> ${
        fixed(last.responseTokens, 1)
      } tokens, kl ${fixed(last.kl)}`,
    );
  }
  for (const e of record.evals) {
    const metrics = Object.entries(e.metrics)
      .filter(([k, v]) => v !== null && !k.includes("/") && !["tasks", "samples"].includes(k))
      .map(([k, v]) => `${k} ${v === null ? "-" : fixed(v, 3)}`).join(", ");
    lines.push(`eval after iteration ${e.iteration}: ${metrics} (${e.reportPath})`);
  }
  lines.push(`checkpoints: ${record.checkpoints.join(", ") || "none"}`);
  return lines.join("\n");
}

async function trainCommand(parsed: Parsed<typeof TRAIN>): Promise<number> {
  const { options, json } = await trainArgs(parsed);
  const result = await train({
    ...options,
    log: (line) => console.error(line),
    onIteration: (entry) => console.error(progressLine(entry, options.config.iterations)),
  });
  if (json) {
    console.log(JSON.stringify({ runDir: result.runDir, record: result.record }));
  } else {
    console.log(summary(result));
  }
  return 0;
}

if (import.meta.main) await runCommand(TRAIN, trainCommand);
