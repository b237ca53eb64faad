/**
 * The PPO loss (Schulman et al. 2017) on TensorFlow.js tensors, as CleanRL's `ppo.py` labels it
 * and trl computes it for language models: the clipped policy loss, the clipped value loss, the
 * entropy bonus, and the statistics that expose a failing update (clip fractions, approx-KL).
 * Every tensor is `[b, t]` over response tokens with a 0/1 `mask`; the caller runs this inside
 * `tf.tidy` or `tf.variableGrads`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";

/** What {@linkcode ppoLoss} reads. */
export interface LossInput {
  /** Log-probabilities of the sampled tokens under the policy being trained, `[b, t]`. */
  readonly logprobs: tf.Tensor2D;
  /** The same under the policy that sampled them (the rollout's scoring pass), `[b, t]`. */
  readonly oldLogprobs: tf.Tensor2D;
  readonly advantages: tf.Tensor2D;
  /** 1 on real response tokens, 0 on padding, `[b, t]`. */
  readonly mask: tf.Tensor2D;
  /** Entropy of each position's distribution, `[b, t]`. */
  readonly entropy: tf.Tensor2D;
  /** Critic: current values, the rollout's values and the GAE returns; absent without a critic. */
  readonly values?: tf.Tensor2D;
  readonly oldValues?: tf.Tensor2D;
  readonly returns?: tf.Tensor2D;
}

/** Coefficients of {@linkcode ppoLoss}. */
export interface LossCoefficients {
  readonly clipRange: number;
  readonly clipRangeValue: number;
  readonly valueCoef: number;
  readonly entropyCoef: number;
  /** Weight of the policy loss: 0 during critic warm-up. @default 1 */
  readonly policyCoef?: number;
}

/** The scalar loss and its parts, all `[]` tensors. */
export interface LossOutput {
  readonly loss: tf.Scalar;
  readonly policyLoss: tf.Scalar;
  readonly valueLoss: tf.Scalar;
  readonly entropy: tf.Scalar;
  /** Share of tokens whose ratio was clipped (trl `pg_clipfrac`). */
  readonly policyClipFraction: tf.Scalar;
  readonly valueClipFraction: tf.Scalar;
  /** CleanRL's approx-KL: mean of `(ratio - 1) - log ratio` (k3, non-negative). */
  readonly approxKl: tf.Scalar;
  /** trl's `policykl`: mean of `old - new` log-probabilities. */
  readonly policyKl: tf.Scalar;
  /** trl's `approxkl`: half the mean squared log-ratio. */
  readonly halfSquaredKl: tf.Scalar;
}

/** Mean of `x` where `mask` is 1 (trl `masked_mean`). */
export function maskedMeanTensor(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return x.mul(mask).sum().div(mask.sum().maximum(1e-8)) as tf.Scalar; // [b, t] -> []
}

/** The PPO loss of one minibatch and its statistics. */
export function ppoLoss(input: LossInput, c: LossCoefficients): LossOutput {
  const { mask, advantages: adv } = input;
  // Policy loss
  const logRatio = input.logprobs.sub(input.oldLogprobs); // [b, t]
  const ratio = logRatio.exp(); // [b, t]
  const pgLosses = adv.neg().mul(ratio); // [b, t]
  const pgLosses2 = adv.neg().mul(ratio.clipByValue(1 - c.clipRange, 1 + c.clipRange)); // [b, t]
  const policyLoss = maskedMeanTensor(tf.maximum(pgLosses, pgLosses2), mask); // []
  const policyClipFraction = maskedMeanTensor(
    tf.greater(pgLosses2, pgLosses).cast("float32"),
    mask,
  );
  // Value loss
  const { valueLoss, valueClipFraction } = clippedValueLoss(input, c.clipRangeValue);
  // Entropy
  const entropy = maskedMeanTensor(input.entropy, mask); // []
  const loss = policyLoss.mul(c.policyCoef ?? 1).add(valueLoss.mul(c.valueCoef)).sub(
    entropy.mul(c.entropyCoef),
  ) as tf.Scalar;
  const approxKl = maskedMeanTensor(ratio.sub(1).sub(logRatio), mask); // []
  const policyKl = maskedMeanTensor(logRatio.neg(), mask); // []
  const halfSquaredKl = maskedMeanTensor(logRatio.square(), mask).mul(0.5) as tf.Scalar; // []
  return {
    loss,
    policyLoss,
    valueLoss,
    entropy,
    policyClipFraction,
    valueClipFraction,
    approxKl,
    policyKl,
    halfSquaredKl,
  };
}

/** `0.5 * max((v - R)^2, (clip(v, v_old +- eps) - R)^2)` over the mask (trl); 0 without a critic. */
function clippedValueLoss(input: LossInput, clipRange: number) {
  const { values, oldValues, returns, mask } = input;
  if (values === undefined || oldValues === undefined || returns === undefined) {
    return { valueLoss: tf.scalar(0), valueClipFraction: tf.scalar(0) };
  }
  const clipped = tf.minimum(
    tf.maximum(values, oldValues.sub(clipRange)),
    oldValues.add(clipRange),
  ); // [b, t]
  const losses1 = values.sub(returns).square(); // [b, t]
  const losses2 = clipped.sub(returns).square(); // [b, t]
  const valueLoss = maskedMeanTensor(tf.maximum(losses1, losses2), mask).mul(0.5) as tf.Scalar;
  const valueClipFraction = maskedMeanTensor(tf.greater(losses2, losses1).cast("float32"), mask);
  return { valueLoss, valueClipFraction };
}
