import assert from "node:assert/strict";
import { configDifferences, ppoConfig } from "../../../src/rl/ppo/config.ts";

Deno.test("ppoConfig()", async (t) => {
  await t.step("takes the defaults: gamma 1, lambda 0.95, adaptive KL", () => {
    const config = ppoConfig();
    assert.equal(config.gamma, 1);
    assert.equal(config.lam, 0.95);
    assert.equal(config.klControl, "adaptive");
  });
  await t.step("refuses minibatches that do not divide the batch", () => {
    assert.throws(() => ppoConfig({ batchTasks: 3, samplesPerTask: 1, minibatches: 2 }), {
      name: "RangeError",
      message:
        'Cannot train as the rollouts of an iteration (batchTasks x samplesPerTask = 3) must split evenly into "minibatches": current value is 2',
    });
  });
  await t.step("refuses a group baseline with one sample per task", () => {
    assert.throws(() => ppoConfig({ advantage: "rloo", samplesPerTask: 1, minibatches: 1 }), {
      name: "RangeError",
      message:
        'Cannot use the "rloo" advantage as a group baseline needs "samplesPerTask" >= 2: current value is 1',
    });
  });
  await t.step("refuses greedy sampling", () => {
    assert.throws(() => ppoConfig({ temperature: 0 }), {
      name: "RangeError",
      message:
        'Cannot train as "temperature" must be > 0 (PPO samples and scores the same distribution): current value is 0',
    });
  });
});

Deno.test("configDifferences() names changed fields and ignores the resumable ones", () => {
  const a = ppoConfig();
  const b = ppoConfig({ learningRate: 3e-5, iterations: 99, rewardWeights: { syntax: 1 } });
  assert.deepEqual(configDifferences(a, b), [
    "learningRate: 0.00001 -> 0.00003",
    'rewardWeights: {"compile":1,"ast_match":1,"dataflow_match":1} -> {"syntax":1}',
  ]);
  assert.deepEqual(configDifferences(a, { ...a, iterations: 5 }), []);
});
