/**
 * The scoring pass of PPO: for rollouts laid out as left-padded prompts followed by right-padded
 * responses, the log-probability of each response token under exactly the distribution it was
 * sampled from (logits divided by the temperature, and restricted to the same top-k tokens when
 * there was a top-k cut), the entropy of that distribution, and the critic's value of the state
 * before each token. Logits are computed only at the response positions.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { tidy } from "../_layers.ts";
import type { CausalLm } from "../model.ts";
import type { ValueHead } from "../value_head.ts";

/** One rollout's tokens. */
export interface RolloutTokens {
  readonly prompt: readonly number[];
  readonly response: readonly number[];
}

/** A batch of rollouts as model inputs: `[b, P + R]` ids and mask, and `[b, R]` targets. */
export interface ScoringBatch {
  readonly ids: number[][];
  readonly attention: number[][];
  /** The response tokens, padded with 0, `[b, R]`. */
  readonly targets: number[][];
  /** 1 on real response tokens, `[b, R]`. */
  readonly mask: number[][];
  /** Longest prompt, longest response. */
  readonly promptWidth: number;
  readonly responseWidth: number;
}

/** Lays rollouts out for scoring: prompts padded on the left, responses on the right. */
export function scoringBatch(rows: readonly RolloutTokens[], pad: number): ScoringBatch {
  const promptWidth = Math.max(...rows.map((r) => r.prompt.length));
  const responseWidth = Math.max(1, ...rows.map((r) => r.response.length));
  const fill = (n: number, value: number) => new Array<number>(n).fill(value);
  const ids = rows.map((r) => [
    ...fill(promptWidth - r.prompt.length, pad),
    ...r.prompt,
    ...r.response,
    ...fill(responseWidth - r.response.length, pad),
  ]);
  const attention = rows.map((r) => [
    ...fill(promptWidth - r.prompt.length, 0),
    ...fill(r.prompt.length + r.response.length, 1),
    ...fill(responseWidth - r.response.length, 0),
  ]);
  const targets = rows.map((r) => [...r.response, ...fill(responseWidth - r.response.length, 0)]);
  const mask = rows.map((r) => [
    ...fill(r.response.length, 1),
    ...fill(responseWidth - r.response.length, 0),
  ]);
  return { ids, attention, targets, mask, promptWidth, responseWidth };
}

/** How the sampled distribution was shaped. */
export interface ScoreShape {
  readonly temperature: number;
  /**
   * Token ids allowed at each response position, `[b, R, k]`, when sampling had a top-k cut:
   * the same ids in every pass, taken from the rollout policy's logits.
   */
  readonly allowed?: tf.Tensor3D;
}

/** Scores of response tokens, `[b, R]` each. */
export interface ResponseScores {
  readonly logprobs: tf.Tensor2D;
  readonly entropy: tf.Tensor2D;
  readonly values?: tf.Tensor2D;
  /** Response-position logits at the temperature, `[b, R, v]` (for top-k: to pick `allowed`). */
  readonly logits: tf.Tensor3D;
}

/** The scoring pass over `batch` (tensors the caller frees, or runs inside a tidy). */
export function scoreResponses(
  model: CausalLm,
  batch: ScoringBatch,
  shape: ScoreShape,
  valueHead?: ValueHead,
): ResponseScores {
  const b = batch.ids.length;
  const [p, r, v] = [batch.promptWidth, batch.responseWidth, model.config.vocabSize];
  const { hidden } = model.hiddenStates({
    inputIds: tf.tensor2d(batch.ids, undefined, "int32"),
    attentionMask: tf.tensor2d(batch.attention, undefined, "int32"),
  });
  // The state before response token j is position p - 1 + j.
  const states = hidden.slice([0, p - 1, 0], [b, r, hidden.shape[2]]); // [b, R, e]
  const logits = model.logits(states).div(shape.temperature) as tf.Tensor3D; // [b, R, v]
  const rowsOf = tf.range(0, b * r * v, v, "int32"); // [b*R]: offset of each position's row
  const flat = logits.reshape([b * r * v]); // [b*R*v]
  const targets = tf.tensor2d(batch.targets, undefined, "int32").reshape([b * r]);
  const chosen = tf.gather(flat, rowsOf.add(targets)).reshape([b, r]); // [b, R]
  const candidates = shape.allowed === undefined
    ? logits
    : tf.gather(flat, rowsOf.reshape([b * r, 1]).add(shape.allowed.reshape([b * r, -1])))
      .reshape([b, r, -1]) as tf.Tensor3D; // [b, R, k]
  const logZ = tf.logSumExp(candidates, -1); // [b, R]
  const logprobs = chosen.sub(logZ) as tf.Tensor2D; // [b, R]
  const logp = candidates.sub(logZ.expandDims(-1)); // [b, R, k or v]
  const entropy = logp.exp().mul(logp).sum(-1).neg() as tf.Tensor2D; // [b, R]
  const values = valueHead?.values(states as tf.Tensor3D); // [b, R]
  return { logprobs, entropy, logits, ...(values ? { values } : {}) };
}

/** Row slices of a batch, for microbatches. */
export function sliceBatch(batch: ScoringBatch, rows: readonly number[]): ScoringBatch {
  const pick = <T>(xs: readonly T[]) => rows.map((i) => xs[i]!);
  return {
    ...batch,
    ids: pick(batch.ids),
    attention: pick(batch.attention),
    targets: pick(batch.targets),
    mask: pick(batch.mask),
  };
}

/** Plain numbers of one scoring pass over microbatches (no gradients). */
export interface ScoredRows {
  readonly logprobs: number[][];
  readonly entropy: number[][];
  readonly values?: number[][];
  /** Top-k allowed ids per position when `topK` > 0. */
  readonly allowed?: number[][][];
}

/**
 * Runs {@linkcode scoreResponses} over `batch` in microbatches of `microBatch` rows, yielding to
 * the event loop between them (so that the sandbox's results are taken in meanwhile), and
 * returns numbers. With `topK` > 0 and no `allowed`, the allowed ids are taken from these logits.
 */
export async function scoreRows(
  model: CausalLm,
  batch: ScoringBatch,
  options: {
    temperature: number;
    topK: number;
    microBatch: number;
    allowed?: number[][][];
    valueHead?: ValueHead;
  },
): Promise<ScoredRows> {
  const out: {
    logprobs: number[][];
    entropy: number[][];
    values: number[][];
    allowed: number[][][];
  } = { logprobs: [], entropy: [], values: [], allowed: [] };
  const n = batch.ids.length;
  for (let start = 0; start < n; start += options.microBatch) {
    const rows = Array.from(
      { length: Math.min(options.microBatch, n - start) },
      (_, i) => start + i,
    );
    const part = sliceBatch(batch, rows);
    const given = options.allowed && rows.map((i) => options.allowed![i]!);
    const result = tidy(() => {
      const allowed = given
        ? tf.tensor3d(given, undefined, "int32")
        : options.topK > 0
        ? topKIds(model, part, options)
        : undefined;
      const scores = scoreResponses(
        model,
        part,
        { temperature: options.temperature, ...(allowed ? { allowed } : {}) },
        options.valueHead,
      );
      return {
        logprobs: scores.logprobs.arraySync(),
        entropy: scores.entropy.arraySync(),
        values: scores.values?.arraySync(),
        allowed: allowed?.arraySync(),
      };
    });
    out.logprobs.push(...result.logprobs);
    out.entropy.push(...result.entropy);
    if (result.values) out.values.push(...result.values);
    if (result.allowed) out.allowed.push(...result.allowed);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return {
    logprobs: out.logprobs,
    entropy: out.entropy,
    ...(options.valueHead ? { values: out.values } : {}),
    ...(out.allowed.length > 0 ? { allowed: out.allowed } : {}),
  };
}

function topKIds(
  model: CausalLm,
  batch: ScoringBatch,
  options: { temperature: number; topK: number },
) {
  const { logits } = scoreResponses(model, batch, { temperature: options.temperature });
  return tf.topk(logits, options.topK).indices as tf.Tensor3D; // [b, R, k]
}
