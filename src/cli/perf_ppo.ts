/**
 * `deno task perf:ppo`: PPO throughput per phase (rollout, reward, scoring, update) for a stated
 * model size, through the real trainer on a real benchmark: a random GPT-2 of the chosen size with
 * a real tokenizer (default: the shared tiny GPT-2's, vocabulary 1000), trained a few iterations
 * on MBPP's train split with each rollout engine. The first iteration (warm-up: compilation of
 * WASM kernels, first ONNX session) is left out of the means.
 *
 * Usage: deno task perf:ppo [--layers 4] [--width 128] [--heads 4] [--iterations 4]
 *        [--batch 4] [--samples-per-task 2] [--max-new-tokens 64] [--rollout onnx,tfjs]
 *        [--benchmark mbpp] [--data PATH] [--tokenizer DIR] [--backend wasm] [--json]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { savePolicy } from "../rl/checkpoint.ts";
import { parseConfig } from "../rl/config.ts";
import { CausalLm } from "../rl/model.ts";
import { ActorCritic } from "../rl/policy.ts";
import { ppoConfig } from "../rl/ppo/config.ts";
import type { TrainLogEntry } from "../rl/ppo/record.ts";
import { train } from "../rl/ppo/trainer.ts";
import { parseBackendName } from "../rl/tf_backend.ts";
import { ValueHead } from "../rl/value_head.ts";

const SHARED_TOKENIZER = new URL("../../../shared/models/tiny-random-gpt2-fp32", import.meta.url);

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

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      layers: { type: "string", default: "4" },
      width: { type: "string", default: "128" },
      heads: { type: "string", default: "4" },
      iterations: { type: "string", default: "4" },
      batch: { type: "string", default: "4" },
      "samples-per-task": { type: "string", default: "2" },
      "max-new-tokens": { type: "string", default: "64" },
      rollout: { type: "string", default: "onnx,tfjs" },
      benchmark: { type: "string", default: "mbpp" },
      data: { type: "string" },
      tokenizer: { type: "string" },
      backend: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task perf:ppo [--layers 4] [--width 128] [--heads 4] [--iterations 4] [--batch 4] [--samples-per-task 2] [--max-new-tokens 64] [--rollout onnx,tfjs] [--benchmark mbpp] [--data PATH] [--tokenizer DIR] [--backend wasm] [--json]",
    );
    return 0;
  }
  const tokenizerDir = values.tokenizer ?? SHARED_TOKENIZER.pathname;
  if (!existsSync(join(tokenizerDir, "tokenizer.json"))) {
    throw new Deno.errors.NotFound(
      `Cannot build the measured model as "${tokenizerDir}" has no tokenizer.json: pass --tokenizer with a folder holding tokenizer.json and genai_config.json`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "perf-ppo-" });
  const rows: PerfPpoRow[] = [];
  try {
    const sizes = {
      layers: Number(values.layers),
      width: Number(values.width),
      heads: Number(values.heads),
    };
    const parameters = await writeRandomGpt2(join(dir, "model"), tokenizerDir, sizes);
    console.error(
      `model: random GPT-2, ${sizes.layers} layers, width ${sizes.width}, ${sizes.heads} heads, ${parameters} parameters`,
    );
    for (const rollout of values.rollout.split(",") as ("onnx" | "tfjs")[]) {
      const result = await train({
        benchmark: getBenchmark(values.benchmark),
        model: join(dir, "model"),
        ...(values.data ? { data: values.data } : {}),
        evaluate: false,
        reportsDir: join(dir, "reports"),
        runName: `perf-${rollout}`,
        ...(values.backend ? { backend: parseBackendName(values.backend) } : {}),
        config: ppoConfig({
          iterations: Number(values.iterations),
          batchTasks: Number(values.batch),
          samplesPerTask: Number(values["samples-per-task"]),
          maxNewTokens: Number(values["max-new-tokens"]),
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
      const rowsPerIteration = Number(values.batch) * Number(values["samples-per-task"]);
      rows.push({
        rollout,
        parameters,
        iterations: measured.length,
        seconds,
        rolloutTokensPerSecond: meanOf(measured, (e) => e.tokensPerSecond),
        rolloutsPerSecond: rowsPerIteration / seconds.total,
        responseTokens: meanOf(measured, (e) => e.responseTokens),
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  if (values.json) console.log(JSON.stringify(rows));
  else console.log(table(rows));
  return 0;
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

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
