import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ppoLoss } from "../../../src/rl/ppo/loss.ts";
import { useWasm } from "../_helpers.ts";

const COEFFICIENTS = { clipRange: 0.2, clipRangeValue: 0.2, valueCoef: 0.1, entropyCoef: 0.01 };

function scalars(out: Record<string, tf.Tensor>): Record<string, number> {
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.dataSync()[0]!]));
}

Deno.test("ppoLoss() on one hand-computed token", async () => {
  await useWasm();
  const values = tf.tidy(() =>
    scalars(
      ppoLoss({
        logprobs: tf.tensor2d([[Math.log(0.7), 5]]),
        oldLogprobs: tf.tensor2d([[Math.log(0.5), 0]]),
        advantages: tf.tensor2d([[1, 3]]),
        mask: tf.tensor2d([[1, 0]]),
        entropy: tf.tensor2d([[2, 100]]),
        values: tf.tensor2d([[1, 0]]),
        oldValues: tf.tensor2d([[0.5, 0]]),
        returns: tf.tensor2d([[2, 0]]),
      }, COEFFICIENTS) as unknown as Record<string, tf.Tensor>,
    )
  );
  const near = (name: string, expected: number) =>
    assert.ok(Math.abs(values[name]! - expected) < 1e-5, `${name}: ${values[name]} != ${expected}`);
  // ratio 1.4, clipped to 1.2: the pessimistic loss is -1.2
  near("policyLoss", -1.2);
  near("policyClipFraction", 1);
  // value 1 clipped to 0.5 + 0.2: 0.5 * max((1 - 2)^2, (0.7 - 2)^2)
  near("valueLoss", 0.845);
  near("valueClipFraction", 1);
  near("entropy", 2);
  near("loss", -1.2 + 0.1 * 0.845 - 0.01 * 2);
  near("approxKl", 0.4 - Math.log(1.4));
  near("policyKl", -Math.log(1.4));
  near("halfSquaredKl", 0.5 * Math.log(1.4) ** 2);
});

Deno.test("ppoLoss() without a critic has no value loss, and policyCoef 0 leaves only it", async () => {
  await useWasm();
  const [noCritic, warmup] = tf.tidy(() => {
    const base = {
      logprobs: tf.tensor2d([[-1]]),
      oldLogprobs: tf.tensor2d([[-1]]),
      advantages: tf.tensor2d([[2]]),
      mask: tf.tensor2d([[1]]),
      entropy: tf.tensor2d([[0]]),
    };
    const critic = {
      values: tf.tensor2d([[0]]),
      oldValues: tf.tensor2d([[0]]),
      returns: tf.tensor2d([[1]]),
    };
    return [
      ppoLoss(base, COEFFICIENTS).loss.dataSync()[0]!,
      ppoLoss({ ...base, ...critic }, { ...COEFFICIENTS, policyCoef: 0 }).loss.dataSync()[0]!,
    ];
  });
  assert.ok(Math.abs(noCritic - -2) < 1e-6);
  assert.ok(Math.abs(warmup - 0.1 * 0.5 * 1) < 1e-6); // 0.1 * 0.5 * (0 - 1)^2
});
