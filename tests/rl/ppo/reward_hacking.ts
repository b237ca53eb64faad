/**
 * The reward-hacking experiment of the PPO issue, at toy scale and measured, not assumed: on a
 * completion task (`F_COMPLETION`: continue `def f(x):\n    return`, reference `x*2+1`), train the
 * same tiny random policy with a syntax-only reward and fixed KL 0.05, and with the PPOCoder
 * recipe (compile + AST match + data-flow match on what the model wrote) and the adaptive KL
 * controller; print first-20 and last-20 means of reward, syntax rate, characters written, KL
 * and beta. The runs' curves are on the leaderboard's training pages.
 *
 * Run: deno task experiment:hacking [--iterations 150] [--reports reports] [--seed 0]; `--help`
 * says what each does.
 *
 * @module
 */

import { join } from "node:path";
import { type CommandSpec, integer, type Parsed, runCommand } from "../../../src/cli/_args.ts";
import { type PpoConfig, ppoConfig } from "../../../src/rl/ppo/config.ts";
import type { TrainLogEntry } from "../../../src/rl/ppo/record.ts";
import { REWARD_RECIPES } from "../../../src/rl/ppo/rewards.ts";
import { train, type TrainResult } from "../../../src/rl/ppo/trainer.ts";
import { F_COMPLETION, F_TASKS, FUNCTION_ALPHABET, writeTinyModel } from "./_tiny.ts";

/** The `experiment:hacking` command line. */
export const EXPERIMENT_HACKING = {
  name: "experiment:hacking",
  summary: "The reward-hacking experiment at toy scale: trains the same tiny random policy twice " +
    "to continue `def f(x): return` (reference `x*2+1`), once with a syntax-only reward " +
    "and fixed KL 0.05, once with the PPOCoder recipe (compile + AST match + data-flow match) " +
    "and the adaptive KL controller; prints first-20 and last-20 means of reward, syntax rate, " +
    "characters written, tokens, ast_match, KL and beta, and the last completions. Each run " +
    "starts fresh in <reports>/training/f-completion-<run>-s<seed>/, where the leaderboard's " +
    "training pages show its curves.",
  options: {
    iterations: {
      type: "string",
      value: "N",
      help: "PPO iterations of each run (default 150)",
    },
    reports: {
      type: "string",
      value: "DIR",
      help: "reports root; each run is written to DIR/training/<run> (default reports)",
    },
    seed: {
      type: "string",
      value: "S",
      help: "seed of the tiny model's weights, data order and sampling (default 0)",
    },
  },
} as const satisfies CommandSpec;

/** The settings the two runs share; the seed and iterations come from the command line. */
const BASE: Partial<PpoConfig> = {
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

const mean = (xs: readonly TrainLogEntry[], f: (e: TrainLogEntry) => number) =>
  xs.reduce((s, e) => s + f(e), 0) / xs.length;
const FIELDS: [string, (e: TrainLogEntry) => number][] = [
  ["reward", (e) => e.rewardMean],
  ["syntax", (e) => e.syntaxRate],
  ["chars written", (e) => e.writtenChars],
  ["tokens", (e) => e.responseTokens],
  ["ast_match", (e) => e.terms.ast_match ?? Number.NaN],
  ["kl/seq", (e) => e.kl],
  ["beta", (e) => e.beta],
];

async function main({ values }: Parsed<typeof EXPERIMENT_HACKING>): Promise<number> {
  const iterations = integer("iterations", values.iterations, 1) ?? 150;
  const seed = integer("seed", values.seed) ?? 0;
  const reportsDir = values.reports ?? "reports";
  const model = await Deno.makeTempDir({ prefix: "reward-hacking-" });
  try {
    await writeTinyModel(model, seed, FUNCTION_ALPHABET);
    for (const [name, config] of Object.entries(RUNS)) {
      const started = performance.now();
      const result = await train({
        benchmark: F_COMPLETION,
        model,
        tasks: F_TASKS,
        evaluate: false,
        fresh: true,
        reportsDir,
        runName: `f-completion-${name}-s${seed}`,
        workers: 2,
        config: ppoConfig({ ...BASE, iterations, seed, ...config }),
      });
      await printRun(name, result, (performance.now() - started) / 1000);
    }
  } finally {
    await Deno.remove(model, { recursive: true });
  }
  return 0;
}

/** First-20 and last-20 means of each field, and the run's last four completions. */
async function printRun(name: string, result: TrainResult, seconds: number): Promise<void> {
  const [first, last] = [result.log.slice(0, 20), result.log.slice(-20)];
  console.log(
    `${name} (${result.log.length} iterations, ${seconds.toFixed(0)} s): ${join(result.runDir)}`,
  );
  for (const [label, f] of FIELDS) {
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

if (import.meta.main) await runCommand(EXPERIMENT_HACKING, main);
