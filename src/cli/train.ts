/**
 * `deno task train <benchmark> --model DIR [options]`: PPO fine-tuning rewarded by the sandbox,
 * with a progress line per iteration and a summary at the end. Rerunning the same command resumes
 * the run from its newest checkpoint.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BENCHMARKS, getBenchmark } from "../../benchmarks/mod.ts";
import { type PpoConfig, ppoConfig } from "../rl/ppo/config.ts";
import { parseRewardSpec, REWARD_RECIPES } from "../rl/ppo/rewards.ts";
import type { TrainLogEntry } from "../rl/ppo/record.ts";
import { train, type TrainOptions, type TrainResult } from "../rl/ppo/trainer.ts";
import { parseBackendName } from "../rl/tf_backend.ts";

const USAGE = `Usage: deno task train <benchmark> --model DIR [options]

PPO fine-tuning of a causal code LM, rewarded by running what it writes in the sandbox through
the same per-sample path that \`deno task bench\` scores with. Rerun the same command to resume.

Benchmarks: ${Object.keys(BENCHMARKS).join(", ")}

Model and data:
  --model DIR             Hugging Face folder (config.json, safetensors, tokenizer.json) or an
                          onnxruntime-genai Llama export (genai_config.json, model.onnx)
  --split NAME            train split (default: "train" where the benchmark has one)
  --eval-split NAME       evaluation split (default: the benchmark's default split)
  --limit N               train on the first N tasks of the split
  --eval-limit N          evaluate on the first N tasks (default 20)
  --filter KEY=VALUE      keep tasks whose meta field matches (repeatable)
  --data PATH             dataset file or folder; --allow-unverified accepts other sha256s
Reward:
  --reward SPEC           ${Object.keys(REWARD_RECIPES).join(", ")} (default ppocoder), optionally
                          followed by term=weight overrides: ppocoder,dataflow_match=0.5
  --kl BETA               initial (or fixed) KL coefficient (default 0.05)
  --kl-control MODE       adaptive (Ziegler, default) or fixed
  --kl-target NATS        adaptive target KL per sequence (default 6)
  --shuffle-rewards       control run: scores permuted across the batch
PPO:
  --iterations N  --batch TASKS  --samples-per-task N  --epochs N  --minibatches N
  --micro-batch ROWS  --lr LR  --max-grad-norm X  --clip X  --value-coef X  --entropy-coef X
  --target-kl X  --critic-warmup N  --advantage gae|rloo|grpo
Sampling:
  --temperature T  --top-k K  --max-new-tokens N  --max-prompt-tokens N  --shots N  --seed S
  --rollout onnx|tfjs     rollout engine (default onnx: the policy's export on onnxruntime-node)
  --backend NAME          TensorFlow.js backend: tensorflow-gpu, tensorflow, wasm, cpu
Run:
  --reports DIR           reports root; the run lives in DIR/training/<run> (default reports)
  --run NAME              run folder name (default <benchmark>-<model folder>-s<seed>)
  --fresh                 delete the run folder and start over
  --checkpoint-every N    (default 10)  --eval-every N (default 0: at the start and end only)
  --no-eval               no evaluation reports
  --sandbox bwrap|none  --workers N
  --json                  print the summary as JSON
`;

const FLAGS = {
  model: { type: "string" },
  split: { type: "string" },
  "eval-split": { type: "string" },
  limit: { type: "string" },
  "eval-limit": { type: "string" },
  filter: { type: "string", multiple: true },
  data: { type: "string" },
  "allow-unverified": { type: "boolean" },
  reward: { type: "string" },
  kl: { type: "string" },
  "kl-control": { type: "string" },
  "kl-target": { type: "string" },
  "shuffle-rewards": { type: "boolean" },
  iterations: { type: "string" },
  batch: { type: "string" },
  "samples-per-task": { type: "string" },
  epochs: { type: "string" },
  minibatches: { type: "string" },
  "micro-batch": { type: "string" },
  lr: { type: "string" },
  "max-grad-norm": { type: "string" },
  clip: { type: "string" },
  "value-coef": { type: "string" },
  "entropy-coef": { type: "string" },
  "target-kl": { type: "string" },
  "critic-warmup": { type: "string" },
  advantage: { type: "string" },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "max-new-tokens": { type: "string" },
  "max-prompt-tokens": { type: "string" },
  shots: { type: "string" },
  seed: { type: "string" },
  rollout: { type: "string" },
  backend: { type: "string" },
  reports: { type: "string" },
  run: { type: "string" },
  fresh: { type: "boolean" },
  "checkpoint-every": { type: "string" },
  "eval-every": { type: "string" },
  "no-eval": { type: "boolean" },
  sandbox: { type: "string" },
  workers: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true }>>[
  "values"
];

/** Parses `args` into train options; `null` asks for the usage text. */
export function parseTrainArgs(args: string[]): { options: TrainOptions; json: boolean } | null {
  const { values, positionals } = parseArgs({ args, options: FLAGS, allowPositionals: true });
  if (values.help || positionals.length === 0) return null;
  if (positionals.length > 1) {
    throw new TypeError(
      `Cannot train as only one benchmark is taken at a time: current values are ${
        positionals.join(", ")
      }`,
    );
  }
  if (values.model === undefined) {
    throw new TypeError(
      "Cannot train without a starting model: pass --model with a Hugging Face folder or an onnxruntime-genai export",
    );
  }
  const options: TrainOptions = {
    benchmark: getBenchmark(positionals[0]!),
    model: values.model,
    config: ppoConfig(configOf(values)),
    ...optional("split", values.split),
    ...optional("evalSplit", values["eval-split"]),
    ...optional("limit", integer("limit", values.limit)),
    evalLimit: integer("eval-limit", values["eval-limit"]) ?? 20,
    ...optional("filter", pairs(values.filter)),
    ...optional("data", values.data),
    ...(values["allow-unverified"] ? { allowUnverified: true } : {}),
    ...(values["no-eval"] ? { evaluate: false } : {}),
    ...optional("reportsDir", values.reports),
    ...optional("runName", values.run),
    ...(values.fresh ? { fresh: true } : {}),
    ...optional(
      "backend",
      values.backend === undefined ? undefined : parseBackendName(values.backend),
    ),
    ...optional("isolation", isolation(values.sandbox)),
    ...optional("workers", integer("workers", values.workers)),
  };
  return { options, json: values.json ?? false };
}

function configOf(values: Values): Partial<PpoConfig> {
  const reward = values.reward === undefined ? undefined : parseRewardSpec(values.reward);
  return {
    ...(reward ? { reward: reward.name, rewardWeights: reward.weights } : {}),
    ...optional("klCoef", number("kl", values.kl)),
    ...optional(
      "klControl",
      oneOf("kl-control", values["kl-control"], ["adaptive", "fixed"] as const),
    ),
    ...optional("klTarget", number("kl-target", values["kl-target"])),
    ...(values["shuffle-rewards"] ? { shuffleRewards: true } : {}),
    ...optional("iterations", integer("iterations", values.iterations)),
    ...optional("batchTasks", integer("batch", values.batch)),
    ...optional("samplesPerTask", integer("samples-per-task", values["samples-per-task"])),
    ...optional("epochs", integer("epochs", values.epochs)),
    ...optional("minibatches", integer("minibatches", values.minibatches)),
    ...optional("microBatch", integer("micro-batch", values["micro-batch"])),
    ...optional("learningRate", number("lr", values.lr)),
    ...optional("maxGradNorm", number("max-grad-norm", values["max-grad-norm"])),
    ...optional("clipRange", number("clip", values.clip)),
    ...optional("valueCoef", number("value-coef", values["value-coef"])),
    ...optional("entropyCoef", number("entropy-coef", values["entropy-coef"])),
    ...optional("targetApproxKl", number("target-kl", values["target-kl"])),
    ...optional("criticWarmup", integer("critic-warmup", values["critic-warmup"])),
    ...optional(
      "advantage",
      oneOf("advantage", values.advantage, ["gae", "rloo", "grpo"] as const),
    ),
    ...optional("temperature", number("temperature", values.temperature)),
    ...optional("topK", integer("top-k", values["top-k"])),
    ...optional("maxNewTokens", integer("max-new-tokens", values["max-new-tokens"])),
    ...optional("maxPromptTokens", integer("max-prompt-tokens", values["max-prompt-tokens"])),
    ...optional("shots", integer("shots", values.shots)),
    ...optional("seed", integer("seed", values.seed)),
    ...optional("rollout", oneOf("rollout", values.rollout, ["onnx", "tfjs"] as const)),
    ...optional("checkpointEvery", integer("checkpoint-every", values["checkpoint-every"])),
    ...optional("evalEvery", integer("eval-every", values["eval-every"])),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function integer(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || text.trim() === "") {
    throw new RangeError(
      `Cannot parse --${flag} as it must be a non-negative integer: current value is "${text}"`,
    );
  }
  return value;
}

function number(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || text.trim() === "") {
    throw new RangeError(
      `Cannot parse --${flag} as it must be a number: current value is "${text}"`,
    );
  }
  return value;
}

function oneOf<T extends string>(flag: string, text: string | undefined, allowed: readonly T[]) {
  if (text === undefined) return undefined;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new RangeError(
    `Cannot parse --${flag} as it must be one of ${allowed.join(", ")}: current value is "${text}"`,
  );
}

function pairs(items: string[] | undefined): Record<string, string> | undefined {
  if (items === undefined) return undefined;
  return Object.fromEntries(items.map((item) => {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      throw new TypeError(
        `Cannot parse --filter as it must be KEY=VALUE: current value is "${item}"`,
      );
    }
    return [item.slice(0, eq), item.slice(eq + 1)];
  }));
}

function isolation(text: string | undefined) {
  return oneOf("sandbox", text, ["bwrap", "none"] as const);
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

async function main(args: string[]): Promise<number> {
  const parsed = parseTrainArgs(args);
  if (parsed === null) {
    console.log(USAGE);
    return args.length === 0 ? 2 : 0;
  }
  const { options } = parsed;
  const result = await train({
    ...options,
    log: (line) => console.error(line),
    onIteration: (entry) => console.error(progressLine(entry, options.config.iterations)),
  });
  if (parsed.json) {
    console.log(JSON.stringify({ runDir: result.runDir, record: result.record }));
  } else {
    console.log(summary(result));
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
