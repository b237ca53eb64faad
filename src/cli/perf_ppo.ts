/**
 * `deno task perf:ppo`: PPO throughput per phase (rollout, reward, scoring, update) for a stated
 * model size, through the real trainer on a real benchmark: a random GPT-2 of the chosen size with
 * a real tokenizer (default: the shared tiny GPT-2's folder, whose tokenizer is GPT-2's own, 50,296
 * tokens with the added ones), trained a few iterations on a benchmark's train split (MBPP unless
 * `--benchmark` says otherwise) with each rollout engine. The first iteration (warm-up: compilation of
 * WASM kernels, first ONNX session) is left out of the means.
 *
 * Usage: `deno task perf:ppo --help`.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { BENCHMARKS, getBenchmark } from "../../benchmarks/mod.ts";
import { savePolicy } from "../rl/checkpoint.ts";
import { parseConfig } from "../rl/config.ts";
import { CausalLm } from "../rl/model.ts";
import { ActorCritic } from "../rl/policy.ts";
import { ppoConfig } from "../rl/ppo/config.ts";
import type { TrainLogEntry } from "../rl/ppo/record.ts";
import { train } from "../rl/ppo/trainer.ts";
import { type BackendName, BACKENDS } from "../rl/tf_backend.ts";
import { ValueHead } from "../rl/value_head.ts";
import {
  choice,
  type CommandSpec,
  existingPath,
  integer,
  list,
  type Parsed,
  runCommand,
  UsageError,
} from "./_args.ts";

const SHARED_TOKENIZER = new URL("../../../shared/models/tiny-random-gpt2-fp32", import.meta.url);

const MODEL = "Model";
const TRAINING = "Training";
const ROLLOUT_ENGINES = ["onnx", "tfjs"] as const;

/** The `perf:ppo` command line. */
export const PERF_PPO = {
  name: "perf:ppo",
  summary: "PPO throughput per phase (rollout, reward, scoring, update) through the real " +
    "trainer on a real benchmark: a random GPT-2 of the chosen size with a real tokenizer, " +
    "trained a few iterations on the benchmark's train split (reward coderl) with each rollout " +
    "engine. The first iteration (warm-up: WASM kernels compiled, first ONNX session) is left " +
    "out of the means. Progress on stderr, the table (or JSON) on stdout.",
  options: {
    layers: { type: "string", value: "N", section: MODEL, help: "GPT-2 layers (default 4)" },
    width: {
      type: "string",
      value: "N",
      section: MODEL,
      help: "embedding width, a multiple of --heads (default 128)",
    },
    heads: { type: "string", value: "N", section: MODEL, help: "attention heads (default 4)" },
    tokenizer: {
      type: "string",
      value: "DIR",
      section: MODEL,
      help: "folder with tokenizer.json and genai_config.json; the model takes its special " +
        "tokens, and as vocabulary the larger of the tokenizer's and genai_config's vocab_size " +
        "(default: ../shared/models/tiny-random-gpt2-fp32, GPT-2's tokenizer: 50,296 tokens)",
    },
    iterations: {
      type: "string",
      value: "N",
      section: TRAINING,
      help: "PPO iterations per engine, the first a warm-up left out of the means (default 4)",
    },
    batch: {
      type: "string",
      value: "TASKS",
      section: TRAINING,
      help: "tasks per iteration (default 4)",
    },
    "samples-per-task": {
      type: "string",
      value: "N",
      section: TRAINING,
      help: "samples per task (default 2)",
    },
    "max-new-tokens": {
      type: "string",
      value: "N",
      section: TRAINING,
      help: "new tokens per rollout at most (default 64)",
    },
    rollout: {
      type: "string",
      value: "LIST",
      section: TRAINING,
      help: `rollout engines to measure, comma-separated: ${ROLLOUT_ENGINES.join(", ")} ` +
        "(default onnx,tfjs)",
    },
    benchmark: {
      type: "string",
      value: "NAME",
      section: TRAINING,
      help: `benchmark trained on: ${Object.keys(BENCHMARKS).join(", ")} (default mbpp)`,
    },
    data: {
      type: "string",
      value: "PATH",
      section: TRAINING,
      help: "the benchmark's dataset file or folder; it must exist (without it: " +
        "$PPOCODER_DATA, the cache, then a download)",
    },
    backend: {
      type: "string",
      value: "NAME",
      section: TRAINING,
      help: `TensorFlow.js backend: ${BACKENDS.join(", ")} (default: the first that loads)`,
    },
    json: { type: "boolean", section: "Output", help: "print the rows as JSON instead of a table" },
  },
} as const satisfies CommandSpec;

/** What `perf:ppo` measures, from its command line. */
export interface PerfPpoSettings {
  readonly sizes: { readonly layers: number; readonly width: number; readonly heads: number };
  readonly tokenizer: string;
  readonly iterations: number;
  readonly batch: number;
  readonly samplesPerTask: number;
  readonly maxNewTokens: number;
  readonly rollouts: readonly (typeof ROLLOUT_ENGINES)[number][];
  readonly benchmark: string;
  readonly data?: string;
  readonly backend?: BackendName;
  readonly json: boolean;
}

/** Turns a parsed command line into settings; throws `UsageError` on a bad value. */
export async function perfPpoSettings(
  { values }: Parsed<typeof PERF_PPO>,
): Promise<PerfPpoSettings> {
  const sizes = {
    layers: integer("layers", values.layers, 1) ?? 4,
    width: integer("width", values.width, 1) ?? 128,
    heads: integer("heads", values.heads, 1) ?? 4,
  };
  if (sizes.width % sizes.heads !== 0) {
    throw new UsageError(
      `option --width must be a multiple of --heads (${sizes.heads}): current value is "${sizes.width}"`,
    );
  }
  const data = await existingPath("data", values.data);
  const backend = choice("backend", values.backend, BACKENDS);
  return {
    sizes,
    tokenizer: await tokenizerDir(values.tokenizer),
    iterations: integer("iterations", values.iterations, 2) ?? 4,
    batch: integer("batch", values.batch, 1) ?? 4,
    samplesPerTask: integer("samples-per-task", values["samples-per-task"], 1) ?? 2,
    maxNewTokens: integer("max-new-tokens", values["max-new-tokens"], 1) ?? 64,
    rollouts: rolloutEngines(values.rollout),
    benchmark: choice("benchmark", values.benchmark, Object.keys(BENCHMARKS)) ?? "mbpp",
    ...(data === undefined ? {} : { data }),
    ...(backend === undefined ? {} : { backend }),
    json: values.json ?? false,
  };
}

function rolloutEngines(text: string | undefined): PerfPpoSettings["rollouts"] {
  const engines = list(text ?? "onnx,tfjs")!.map((e) => choice("rollout", e, ROLLOUT_ENGINES)!);
  if (engines.length === 0) {
    throw new UsageError(
      `option --rollout must name at least one engine: current value is "${text}"`,
    );
  }
  return engines;
}

/** The tokenizer folder: `--tokenizer` (a usage error when unfit), else the shared one. */
async function tokenizerDir(flag: string | undefined): Promise<string> {
  const dir = await existingPath("tokenizer", flag, { kind: "folder" }) ??
    SHARED_TOKENIZER.pathname;
  const missing = ["tokenizer.json", "genai_config.json"].filter((f) => !existsSync(join(dir, f)));
  if (missing.length === 0) return dir;
  const text = `"${dir}" has no ${missing.join(" or ")}: pass --tokenizer with a folder ` +
    "holding tokenizer.json and genai_config.json";
  if (flag !== undefined) {
    throw new UsageError(`option --tokenizer names a folder that is unfit: ${text}`);
  }
  throw new Deno.errors.NotFound(`Cannot build the measured model as ${text}`);
}

/** One engine's measurement. */
export interface PerfPpoRow {
  readonly rollout: "onnx" | "tfjs";
  readonly parameters: number;
  readonly iterations: number;
  /** Mean seconds per iteration, per phase (reward overlaps scoring: it is wall time until the last reward). */
  readonly seconds: Readonly<Record<keyof TrainLogEntry["seconds"], number>>;
  /** Response tokens per second of the rollout phase, and rollouts per second overall. */
  readonly rolloutTokensPerSecond: number;
  readonly rolloutsPerSecond: number;
  readonly responseTokens: number;
}

async function writeRandomGpt2(dir: string, tokenizerDir: string, sizes: Record<string, number>) {
  const tokenizer = JSON.parse(await Deno.readTextFile(join(tokenizerDir, "tokenizer.json")));
  const vocab = Object.keys(tokenizer.model.vocab).length + (tokenizer.added_tokens?.length ?? 0);
  const genai = JSON.parse(await Deno.readTextFile(join(tokenizerDir, "genai_config.json"))).model;
  const config = parseConfig({
    model_type: "gpt2",
    vocab_size: Math.max(vocab, genai.vocab_size ?? 0),
    n_embd: sizes.width,
    n_layer: sizes.layers,
    n_head: sizes.heads,
    n_positions: 1024,
    bos_token_id: genai.bos_token_id,
    eos_token_id: genai.eos_token_id,
    pad_token_id: genai.pad_token_id,
  });
  const policy = new ActorCritic(
    CausalLm.random(config, { seed: 0 }),
    ValueHead.random(config.hiddenSize),
  );
  await savePolicy(dir, policy, { tokenizerFrom: tokenizerDir });
  const size = policy.model.size;
  policy.dispose();
  return size;
}

function meanOf(entries: readonly TrainLogEntry[], pick: (e: TrainLogEntry) => number): number {
  return entries.reduce((s, e) => s + pick(e), 0) / Math.max(1, entries.length);
}

async function main(parsed: Parsed<typeof PERF_PPO>): Promise<number> {
  const settings = await perfPpoSettings(parsed);
  const dir = await Deno.makeTempDir({ prefix: "perf-ppo-" });
  const rows: PerfPpoRow[] = [];
  try {
    const { sizes } = settings;
    const parameters = await writeRandomGpt2(join(dir, "model"), settings.tokenizer, sizes);
    console.error(
      `model: random GPT-2, ${sizes.layers} layers, width ${sizes.width}, ${sizes.heads} heads, ${parameters} parameters`,
    );
    for (const rollout of settings.rollouts) {
      rows.push(await measure(settings, dir, rollout, parameters));
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  if (settings.json) console.log(JSON.stringify(rows));
  else console.log(table(rows));
  return 0;
}

/** Trains with one rollout engine and averages every iteration after the first. */
async function measure(
  settings: PerfPpoSettings,
  dir: string,
  rollout: PerfPpoRow["rollout"],
  parameters: number,
): Promise<PerfPpoRow> {
  const result = await train({
    benchmark: getBenchmark(settings.benchmark),
    model: join(dir, "model"),
    ...(settings.data ? { data: settings.data } : {}),
    evaluate: false,
    reportsDir: join(dir, "reports"),
    runName: `perf-${rollout}`,
    ...(settings.backend ? { backend: settings.backend } : {}),
    config: ppoConfig({
      iterations: settings.iterations,
      batchTasks: settings.batch,
      samplesPerTask: settings.samplesPerTask,
      maxNewTokens: settings.maxNewTokens,
      rollout,
      reward: "coderl",
      rewardWeights: { coderl: 1 },
      checkpointEvery: 1000,
    }),
    onIteration: (e) =>
      console.error(`${rollout} iteration ${e.iteration}: ${JSON.stringify(e.seconds)}`),
  });
  const measured = result.log.slice(1);
  const seconds = Object.fromEntries(
    (["rollout", "reward", "scoring", "update", "total"] as const).map((
      k,
    ) => [k, meanOf(measured, (e) => e.seconds[k])]),
  ) as PerfPpoRow["seconds"];
  return {
    rollout,
    parameters,
    iterations: measured.length,
    seconds,
    rolloutTokensPerSecond: meanOf(measured, (e) => e.tokensPerSecond),
    rolloutsPerSecond: settings.batch * settings.samplesPerTask / seconds.total,
    responseTokens: meanOf(measured, (e) => e.responseTokens),
  };
}

function table(rows: readonly PerfPpoRow[]): string {
  const header =
    "rollout  params   rollout_s reward_s scoring_s update_s total_s  rollout_tok/s rollouts/s resp_tok";
  const lines = rows.map((r) =>
    [
      r.rollout.padEnd(8),
      String(r.parameters).padEnd(8),
      ...[r.seconds.rollout, r.seconds.reward, r.seconds.scoring, r.seconds.update, r.seconds.total]
        .map((s) => s.toFixed(2).padStart(8)),
      r.rolloutTokensPerSecond.toFixed(0).padStart(13),
      r.rolloutsPerSecond.toFixed(2).padStart(10),
      r.responseTokens.toFixed(1).padStart(8),
    ].join(" ")
  );
  return [header, ...lines].join("\n");
}

if (import.meta.main) await runCommand(PERF_PPO, main);
