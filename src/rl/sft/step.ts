/**
 * One optimizer step of next-token training and the held-out loss: the token losses of a padded
 * batch (`logsumexp(logits) - logit[target]`, masked), gradients summed over micro-batches and
 * normalised by the step's loss tokens (so micro-batching does not change the step), Adam with
 * global-norm clipping, then decoupled weight decay on matrices (AdamW as nanoGPT applies it).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import type { CausalLm } from "../model.ts";
import type { Adam } from "../ppo/adam.ts";
import { padBatch, type PaddedBatch, type Rows } from "./dataset.ts";

/** `-log p(x[t+1] | x[<=t])` for every position, `[b, T-1]`. Differentiable. */
export function tokenLosses(model: CausalLm, batch: PaddedBatch): tf.Tensor2D {
  const { rows: b, width: t } = batch;
  const v = model.config.vocabSize;
  const ids = tf.tensor2d(batch.ids, [b, t], "int32");
  const mask = tf.tensor2d(batch.attention, [b, t], "int32");
  const { logits } = model.forward({ inputIds: ids, attentionMask: mask }); // [b, T, v]
  const scored = logits.slice([0, 0, 0], [b, t - 1, v]); // [b, T-1, v]
  const lse = tf.logSumExp(scored, -1); // [b, T-1]
  // The target's logit from the flattened [b*(T-1), v] table: row * v + token.
  const targets = ids.slice([0, 1], [b, t - 1]).reshape([b * (t - 1)]); // [b*(T-1)]
  const offsets = tf.range(0, b * (t - 1) * v, v, "int32"); // [b*(T-1)]
  const picked = tf.gather(scored.reshape([b * (t - 1) * v]), offsets.add(targets)); // [b*(T-1)]
  return lse.sub(picked.reshape([b, t - 1])) as tf.Tensor2D; // [b, T-1]
}

/** Sum of the masked token losses of a batch (a scalar). */
export function maskedLossSum(model: CausalLm, batch: PaddedBatch): tf.Scalar {
  const losses = tokenLosses(model, batch); // [b, T-1]
  const mask = tf.tensor2d(batch.loss, [batch.rows, batch.width - 1]); // [b, T-1]
  return losses.mul(mask).sum() as tf.Scalar; // []
}

/** What one step did. */
export interface StepStats {
  /** Mean loss per loss token, nats. */
  readonly loss: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Tokens fed (padding excluded). */
  readonly tokens: number;
  /** Tokens the loss was taken on. */
  readonly lossTokens: number;
}

/** Options of {@linkcode trainStep}. */
export interface TrainStepOptions {
  readonly microBatch: number;
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly pad: number;
}

/** One optimizer step on the rows `picked`. */
export function trainStep(
  model: CausalLm,
  adam: Adam,
  rows: Rows,
  picked: readonly number[],
  options: TrainStepOptions,
): StepStats {
  const variables = new Map([...model.variables].filter(([, v]) => v.trainable));
  const byInternal = new Map([...variables].map(([name, v]) => [v.name, name]));
  const micro = chunks(picked, options.microBatch).map((r) => padBatch(rows, r, options.pad));
  const lossTokens = micro.reduce((sum, b) => sum + b.lossTokens, 0);
  const tokens = micro.reduce((sum, b) => sum + b.attention.reduce((a, x) => a + x, 0), 0);
  if (lossTokens === 0) return { loss: 0, gradNorm: 0, tokens, lossTokens };
  const grads = new Map<string, tf.Tensor>();
  let lossSum = 0;
  for (const batch of micro) {
    if (batch.lossTokens === 0) continue;
    const { value, grads: microGrads } = tf.variableGrads(
      () => maskedLossSum(model, batch).div(lossTokens) as tf.Scalar,
      [...variables.values()],
    );
    lossSum += value.dataSync()[0]! * lossTokens;
    value.dispose();
    for (const [internal, grad] of Object.entries(microGrads)) {
      const name = byInternal.get(internal)!;
      const sum = grads.get(name);
      grads.set(name, sum === undefined ? grad : tf.tidy(() => sum.add(grad)));
      if (sum !== undefined) tf.dispose([sum, grad]);
    }
  }
  const gradNorm = adam.apply(variables, grads, options.learningRate);
  tf.dispose([...grads.values()]);
  decayWeights(variables, options.learningRate * options.weightDecay);
  return { loss: lossSum / lossTokens, gradNorm, tokens, lossTokens };
}

/** `w <- w * (1 - lr * wd)` for every weight of rank 2 or more (not norms or biases). */
function decayWeights(variables: ReadonlyMap<string, tf.Variable>, rate: number): void {
  if (rate === 0) return;
  for (const variable of variables.values()) {
    if (variable.rank < 2) continue;
    tf.tidy(() => variable.assign(variable.mul(1 - rate)));
  }
}

/** Mean loss per token over `rows` (at most `limit` of them), without gradients. */
export function heldOutLoss(
  model: CausalLm,
  rows: Rows,
  options: { limit: number; microBatch: number; pad: number },
): { loss: number; tokens: number } {
  const n = Math.min(options.limit, rows.offsets.length - 1);
  let sum = 0;
  let tokens = 0;
  for (const picked of chunks([...Array(n).keys()], options.microBatch)) {
    const batch = padBatch(rows, picked, options.pad);
    if (batch.lossTokens === 0) continue;
    sum += tf.tidy(() => maskedLossSum(model, batch).dataSync()[0]!);
    tokens += batch.lossTokens;
  }
  return { loss: tokens === 0 ? NaN : sum / tokens, tokens };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
