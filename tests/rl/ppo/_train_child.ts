/**
 * A training process for the kill -9 test: trains the tiny model of `_tiny.ts` in the given
 * folder and prints `iteration N` after each iteration, until killed.
 *
 * Usage: deno run -A tests/rl/ppo/_train_child.ts DIR RUN ITERATIONS CHECKPOINT_EVERY
 */
import { join } from "node:path";
import { ppoConfig } from "../../../src/rl/ppo/config.ts";
import { train } from "../../../src/rl/ppo/trainer.ts";
import { X_COMPILES, X_TASKS } from "./_tiny.ts";

/** The settings of the kill test's runs, shared with the test itself. */
export function killTestOptions(dir: string, run: string, iterations: number, every: number) {
  return {
    benchmark: X_COMPILES,
    model: join(dir, "model"),
    tasks: X_TASKS,
    reportsDir: join(dir, "reports"),
    runName: run,
    workers: 2,
    evaluate: false,
    config: ppoConfig({
      iterations,
      checkpointEvery: every,
      batchTasks: 8,
      samplesPerTask: 1,
      minibatches: 2,
      microBatch: 8,
      epochs: 2,
      learningRate: 1e-3,
      maxNewTokens: 8,
      reward: "custom",
      rewardWeights: { compile: 1 },
    }),
  };
}

if (import.meta.main) {
  const [dir, run, iterations, every] = Deno.args;
  await train({
    ...killTestOptions(dir!, run!, Number(iterations), Number(every)),
    onIteration: (entry) => console.log(`iteration ${entry.iteration}`),
  });
}
