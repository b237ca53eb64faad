import assert from "node:assert/strict";
import {
  computeGae,
  explainedVariance,
  groupAdvantages,
  lastIndices,
  maskedMean,
  maskedVar,
  maskedWhiten,
  tokenRewards,
} from "../../../src/rl/ppo/advantages.ts";
import { klPerToken, updateKl } from "../../../src/rl/ppo/kl.ts";

function close(actual: readonly number[], expected: readonly number[], tolerance = 1e-9) {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - expected[i]!) <= tolerance, `index ${i}: ${a} != ${expected[i]}`)
  );
}

Deno.test("maskedMean() and maskedVar()", async (t) => {
  const values = [[1, 2, 3, 100]];
  const mask = [[1, 1, 1, 0]];
  await t.step("ignore masked entries", () => {
    assert.equal(maskedMean(values, mask), 2);
    assert.equal(maskedVar(values, mask), 1);
    assert.equal(maskedVar(values, mask, false), 2 / 3);
  });
  await t.step("refuse an empty mask and one value", () => {
    assert.throws(() => maskedMean(values, [[0, 0, 0, 0]]), {
      name: "RangeError",
      message: "Cannot take a masked mean as the mask is all zeros: current sum is 0",
    });
    assert.throws(() => maskedVar(values, [[0, 1, 0, 0]]), {
      name: "RangeError",
      message:
        "Cannot take an unbiased masked variance of one value: current mask sum is 1: use larger batches",
    });
  });
});

Deno.test("maskedWhiten() centres and scales the masked entries and zeroes the rest", () => {
  const out = maskedWhiten([[1, 2, 3, 100]], [[1, 1, 1, 0]]);
  close(out[0]!, [-1, 0, 1, 0], 1e-7);
  const kept = maskedWhiten([[1, 2, 3, 100]], [[1, 1, 1, 0]], false);
  close(kept[0]!, [1, 2, 3, 0], 1e-7);
});

Deno.test("tokenRewards() puts the score on the last real token and -beta*kl on each", () => {
  assert.deepEqual(lastIndices([[1, 1, 1, 0], [1, 0, 0, 0]]), [2, 0]);
  const rewards = tokenRewards([2, -1], [[0.1, -0.2, 0.3, 5], [0.4, 9, 9, 9]], [[1, 1, 1, 0], [
    1,
    0,
    0,
    0,
  ]], 0.5);
  close(rewards[0]!, [-0.05, 0.1, 1.85, 0]);
  close(rewards[1]!, [-1.2, 0, 0, 0]);
});

Deno.test("computeGae()", async (t) => {
  await t.step("discounts a terminal reward with lambda 0.95 and gamma 1", () => {
    const { advantages, returns } = computeGae([[0, 0, 1]], [[0.5, 0.5, 0.5]], [[1, 1, 1]]);
    close(advantages[0]!, [0.45125, 0.475, 0.5]);
    close(returns[0]!, [0.95125, 0.975, 1]);
  });
  await t.step("treats the value after a row's last real token as 0", () => {
    const { advantages, returns } = computeGae([[0, 1, 7]], [[0.5, 0.5, 9]], [[1, 1, 0]]);
    close(advantages[0]!, [0.475, 0.5, 0]);
    close(returns[0]!, [0.975, 1, 0]);
  });
  await t.step("applies gamma", () => {
    const { advantages } = computeGae([[0, 1]], [[0, 0]], [[1, 1]], { gamma: 0.5, lam: 1 });
    close(advantages[0]!, [0.5, 1]);
  });
});

Deno.test("groupAdvantages()", async (t) => {
  await t.step("rloo subtracts the mean of the other samples of the task", () => {
    close(groupAdvantages([1, 0, 3, 5, 5], ["a", "a", "a", "b", "b"], "rloo"), [
      -0.5,
      -2,
      2.5,
      0,
      0,
    ]);
  });
  await t.step("grpo divides by the group's unbiased std plus 1e-4", () => {
    const s = Math.SQRT2 + 1e-4;
    close(groupAdvantages([1, 3, 2, 2], [0, 0, 1, 1], "grpo"), [-1 / s, 1 / s, 0, 0]);
  });
  await t.step("refuses a group of one", () => {
    assert.throws(() => groupAdvantages([1, 2], ["a", "b"], "rloo"), {
      name: "RangeError",
      message:
        'Cannot compute a group baseline as group "a" must hold two samples at least: current count is 1',
    });
  });
});

Deno.test("explainedVariance() is 1 for perfect values and 0 for constant ones", () => {
  const mask = [[1, 1, 1]];
  assert.equal(explainedVariance([[1, 2, 3]], [[1, 2, 3]], mask), 1);
  assert.equal(explainedVariance([[2, 2, 2]], [[1, 2, 3]], mask), 0);
});

Deno.test("klPerToken() and updateKl()", async (t) => {
  await t.step("k1 is the log-ratio and k3 is non-negative", () => {
    const kl1 = klPerToken([[-1, -2]], [[-1.5, -1]], [[1, 0]]);
    close(kl1[0]!, [0.5, 0]);
    const kl3 = klPerToken([[-1]], [[-1.5]], [[1]], "k3");
    close(kl3[0]!, [Math.exp(-0.5) - 1 + 0.5]);
  });
  await t.step("the adaptive controller moves beta by the clipped proportional error", () => {
    const state = { control: "adaptive" as const, value: 0.1, target: 6, horizon: 10 };
    assert.ok(Math.abs(updateKl(state, 12, 5).value - 0.11) < 1e-12);
    assert.ok(Math.abs(updateKl(state, 3, 5).value - 0.09) < 1e-12);
    assert.ok(Math.abs(updateKl(state, 6.6, 5).value - 0.1 * 1.05) < 1e-12);
  });
  await t.step("a fixed controller never moves", () => {
    const state = { control: "fixed" as const, value: 0.1, target: 6, horizon: 10 };
    assert.equal(updateKl(state, 100, 5).value, 0.1);
  });
});
