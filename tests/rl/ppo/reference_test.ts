/**
 * The PPO math against a trace recorded from trl's functions (a numpy transcription checked
 * against trl's source by tests/fixtures/rl/ppo/make_reference.py).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  computeGae,
  groupAdvantages,
  maskedMean,
  maskedVar,
  maskedWhiten,
  tokenRewards,
} from "../../../src/rl/ppo/advantages.ts";
import { klPerToken, type KlState, updateKl } from "../../../src/rl/ppo/kl.ts";
import { ppoLoss } from "../../../src/rl/ppo/loss.ts";
import { fixturePath } from "../../_shared.ts";
import { useWasm } from "../_helpers.ts";

const trace = JSON.parse(
  await Deno.readTextFile(fixturePath("rl/ppo/reference_trace.json")),
);
const input = trace.inputs;

function closeMatrix(actual: number[][], expected: number[][], tolerance: number, what: string) {
  actual.forEach((row, i) =>
    row.forEach((a, t) =>
      assert.ok(
        Math.abs(a - expected[i]![t]!) <= tolerance,
        `${what}[${i}][${t}]: ${a} != ${expected[i]![t]}`,
      )
    )
  );
}

Deno.test("PPO math agrees with trl's on a recorded trace", async (t) => {
  const kl = klPerToken(input.logprobs, input.refLogprobs, input.mask);
  const rewards = tokenRewards(input.scores, kl, input.mask, input.klCoef);
  const { advantages: raw, returns } = computeGae(rewards, input.values, input.mask, {
    gamma: input.gamma,
    lam: input.lam,
  });
  const advantages = maskedWhiten(raw, input.mask);

  await t.step("per-token KL and rewards (compute_rewards)", () => {
    closeMatrix(kl, trace.kl, 1e-12, "kl");
    closeMatrix(rewards, trace.rewards, 1e-12, "rewards");
  });
  await t.step("GAE and returns (compute_advantages)", () => {
    const masked = raw.map((row, i) => row.map((a, t) => a * input.mask[i][t]));
    const expected = trace.rawAdvantages.map((row: number[], i: number) =>
      row.map((a, t) => a * input.mask[i][t])
    );
    closeMatrix(masked, expected, 1e-12, "advantages");
    closeMatrix(returns, trace.returns, 1e-12, "returns");
  });
  await t.step("masked whitening", () => {
    assert.ok(Math.abs(maskedMean(raw, input.mask) - trace.whitenMean) < 1e-12);
    assert.ok(Math.abs(maskedVar(raw, input.mask) - trace.whitenVar) < 1e-12);
    closeMatrix(advantages, trace.advantages, 1e-10, "whitened");
  });
  await t.step("clipped policy and value losses, clip fractions, approx-KL (loss)", async () => {
    await useWasm();
    const maskedValues = input.values.map((row: number[], i: number) =>
      row.map((v, t) => v * input.mask[i][t])
    );
    const out = tf.tidy(() => {
      const losses = ppoLoss({
        logprobs: tf.tensor2d(input.newLogprobs),
        oldLogprobs: tf.tensor2d(input.logprobs),
        advantages: tf.tensor2d(advantages),
        mask: tf.tensor2d(input.mask),
        entropy: tf.zeros([4, 6]) as tf.Tensor2D,
        values: tf.tensor2d(input.newValues),
        oldValues: tf.tensor2d(maskedValues),
        returns: tf.tensor2d(returns),
      }, {
        clipRange: input.clipRange,
        clipRangeValue: input.clipRangeValue,
        valueCoef: input.valueCoef,
        entropyCoef: 0,
      });
      return Object.fromEntries(
        Object.entries(losses).map(([k, v]) => [k, (v as tf.Tensor).dataSync()[0]!]),
      );
    });
    for (const [name, expected] of Object.entries(trace.losses as Record<string, number>)) {
      assert.ok(Math.abs(out[name]! - expected) < 2e-6, `${name}: ${out[name]} != ${expected}`);
    }
  });
  await t.step("RLOO and GRPO group advantages", () => {
    const rlooGroups = trace.rloo.scores.map((_: number, i: number) => Math.floor(i / 2));
    const rloo = groupAdvantages(trace.rloo.scores, rlooGroups, "rloo");
    closeMatrix([rloo], [trace.rloo.advantages], 1e-12, "rloo");
    const grpoGroups = trace.grpo.scores.map((_: number, i: number) => Math.floor(i / 4));
    const grpo = groupAdvantages(trace.grpo.scores, grpoGroups, "grpo");
    closeMatrix([grpo], [trace.grpo.advantages], 1e-12, "grpo");
  });
  await t.step("adaptive KL controller", () => {
    const { init, target, horizon, updates, values } = trace.adaptiveKl;
    let state: KlState = { control: "adaptive", value: init, target, horizon };
    updates.forEach(([current, steps]: [number, number], i: number) => {
      state = updateKl(state, current, steps);
      assert.ok(Math.abs(state.value - values[i]) < 1e-15, `update ${i}`);
    });
  });
});
