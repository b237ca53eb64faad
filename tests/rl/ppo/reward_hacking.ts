/**
 * The reward-hacking experiment of the PPO issue, at toy scale and measured, not assumed: on a
 * completion task (`F_COMPLETION`: continue `def f(x):\n    return`, reference `x*2+1`), train the
 * same tiny random policy with a syntax-only reward and fixed KL 0.05, and with the PPOCoder
 * recipe (compile + AST match + data-flow match on what the model wrote) and the adaptive KL
 * controller; print first-20 and last-20 means of reward, syntax rate, characters written, KL
 * and beta. The runs' curves are on the leaderboard's training pages.
 *
 * Run: deno task experiment:hacking [--iterations 150] [--reports reports] [--seed 0]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { type PpoConfig, ppoConfig } from "../../../src/rl/ppo/config.ts";
import type { TrainLogEntry } from "../../../src/rl/ppo/record.ts";
import { REWARD_RECIPES } from "../../../src/rl/ppo/rewards.ts";
import { train } from "../../../src/rl/ppo/trainer.ts";
import { F_COMPLETION, F_TASKS, FUNCTION_ALPHABET, writeTinyModel } from "./_tiny.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    iterations: { type: "string", default: "150" },
    reports: { type: "string", default: "reports" },
    seed: { type: "string", default: "0" },
  },
});

const BASE: Partial<PpoConfig> = {
  iterations: Number(values.iterations),
  batchTasks: 8,
  samplesPerTask: 1,
  minibatches: 2,
  microBatch: 8,
  epochs: 2,
  learningRate: 1e-3,
  maxGradNorm: 1,
  maxNewTokens: 12,
  targetApproxKl: 0,
  checkpointEvery: 1000,
  seed: Number(values.seed),
};

const RUNS: Record<string, Partial<PpoConfig>> = {
  "syntax-fixed-kl": {
    reward: "syntax",
    rewardWeights: REWARD_RECIPES.syntax,
    klControl: "fixed",
    klCoef: 0.05,
  },
  "ppocoder-adaptive-kl": {
    reward: "ppocoder",
    rewardWeights: REWARD_RECIPES.ppocoder,
    klControl: "adaptive",
    klCoef: 0.05,
    klTarget: 2,
    klHorizon: 200,
  },
};

const model = await Deno.makeTempDir({ prefix: "reward-hacking-" });
await writeTinyModel(model, Number(values.seed), FUNCTION_ALPHABET);
const mean = (xs: readonly TrainLogEntry[], f: (e: TrainLogEntry) => number) =>
  xs.reduce((s, e) => s + f(e), 0) / xs.length;
const fields: [string, (e: TrainLogEntry) => number][] = [
  ["reward", (e) => e.rewardMean],
  ["syntax", (e) => e.syntaxRate],
  ["chars written", (e) => e.writtenChars],
  ["tokens", (e) => e.responseTokens],
  ["ast_match", (e) => e.terms.ast_match ?? Number.NaN],
  ["kl/seq", (e) => e.kl],
  ["beta", (e) => e.beta],
];
for (const [name, config] of Object.entries(RUNS)) {
  const started = performance.now();
  const result = await train({
    benchmark: F_COMPLETION,
    model,
    tasks: F_TASKS,
    evaluate: false,
    fresh: true,
    reportsDir: values.reports,
    runName: `f-completion-${name}-s${values.seed}`,
    workers: 2,
    config: ppoConfig({ ...BASE, ...config }),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const [first, last] = [result.log.slice(0, 20), result.log.slice(-20)];
  console.log(`${name} (${result.log.length} iterations, ${seconds} s): ${join(result.runDir)}`);
  for (const [label, f] of fields) {
    console.log(
      `  ${label.padEnd(14)} first 20 ${mean(first, f).toFixed(3).padStart(8)}   last 20 ${
        mean(last, f).toFixed(3).padStart(8)
      }`,
    );
  }
  const rollouts = await Deno.readTextFile(join(result.runDir, "rollouts.jsonl"));
  const lastRaw = rollouts.trimEnd().split("\n").slice(-4).map((l) =>
    JSON.stringify(JSON.parse(l).raw)
  );
  console.log(`  last completions: ${lastRaw.join(" ")}`);
}
await Deno.remove(model, { recursive: true });
