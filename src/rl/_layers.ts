/**
 * Layers shared by the GPT-2 and Llama forward passes. Weights stay in their Hugging Face layouts:
 * `linear` takes PyTorch `nn.Linear` weights `[out, in]`, `conv1d` GPT-2's `Conv1D` weights
 * `[in, out]`. Every function is pure; the caller owns memory through `tf.tidy`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";

/** Named parameters of a model, by Hugging Face name. */
export interface ParamLookup {
  (name: string): tf.Tensor;
  has(name: string): boolean;
}

/** One layer's cached keys and values, `[batch, kvHeads, seen, headDim]`. */
export interface LayerCache {
  readonly key: tf.Tensor4D;
  readonly value: tf.Tensor4D;
}

/** The key/value cache of every layer. */
export type KvCache = readonly LayerCache[];

/** `x @ W^T + b` for a PyTorch `nn.Linear` weight `[out, in]`. */
export function linear(x: tf.Tensor3D, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor3D {
  const [b, t, inner] = x.shape;
  const y = tf.matMul(x.reshape([b * t, inner]), weight as tf.Tensor2D, false, true); // [b*t, out]
  return (bias ? y.add(bias) : y).reshape([b, t, weight.shape[0]!]);
}

/** `x @ W + b` for a GPT-2 `Conv1D` weight `[in, out]`. */
export function conv1d(x: tf.Tensor3D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor3D {
  const [b, t, inner] = x.shape;
  const y = tf.matMul(x.reshape([b * t, inner]), weight as tf.Tensor2D).add(bias); // [b*t, out]
  return y.reshape([b, t, weight.shape[1]!]);
}

/** LayerNorm over the last axis (biased variance, as PyTorch). */
export function layerNorm(x: tf.Tensor3D, weight: tf.Tensor, bias: tf.Tensor, eps: number) {
  const centred = x.sub(x.mean(-1, true)); // [b, t, e]
  const variance = centred.square().mean(-1, true); // [b, t, 1]
  return centred.mul(variance.add(eps).rsqrt()).mul(weight).add(bias) as tf.Tensor3D;
}

/** RMSNorm over the last axis, as Llama: `x / sqrt(mean(x^2) + eps) * w`. */
export function rmsNorm(x: tf.Tensor3D, weight: tf.Tensor, eps: number): tf.Tensor3D {
  return x.mul(x.square().mean(-1, true).add(eps).rsqrt()).mul(weight) as tf.Tensor3D;
}

/** GPT-2's `gelu_new`: the tanh approximation of GELU. */
export function geluNew(x: tf.Tensor): tf.Tensor {
  const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(0.5).mul(inner.tanh().add(1));
}

/** `[b, t, n*d]` to `[b, n, t, d]`. */
export function splitHeads(x: tf.Tensor3D, heads: number, headDim: number): tf.Tensor4D {
  const [b, t] = x.shape;
  return x.reshape([b, t, heads, headDim]).transpose([0, 2, 1, 3]);
}

/**
 * Additive attention bias `[b, 1, t, s]`: 0 where query `i` (at absolute step `s - t + i`) may
 * see key `j` (causal, and the key is not padding), -1e9 elsewhere. A large finite value rather
 * than -Infinity keeps fully masked rows (left padding) finite.
 */
export function attentionBias(mask: tf.Tensor2D, queryLength: number): tf.Tensor4D {
  const [b, s] = mask.shape;
  const past = s - queryLength;
  const keys = tf.range(0, s, 1, "int32").reshape([1, s]);
  const queries = tf.range(past, s, 1, "int32").reshape([queryLength, 1]);
  const causal = tf.lessEqual(keys, queries).cast("float32"); // [t, s]
  const allowed = causal.reshape([1, 1, queryLength, s]).mul(
    mask.cast("float32").reshape([b, 1, 1, s]),
  );
  return allowed.sub(1).mul(1e9) as tf.Tensor4D;
}

/** Position ids `[b, t]` for the last `t` of `s` steps: the count of real tokens before each. */
export function positionIds(mask: tf.Tensor2D, queryLength: number): tf.Tensor2D {
  const [b, s] = mask.shape;
  const positions = tf.cumsum(mask.cast("int32"), 1).sub(tf.scalar(1, "int32")).maximum(
    tf.scalar(0, "int32"),
  ); // [b, s]
  return positions.slice([0, s - queryLength], [b, queryLength]) as tf.Tensor2D;
}

/**
 * Scaled dot-product attention with a cache and grouped-query heads. `q` is `[b, h, t, d]`,
 * `k` and `v` are `[b, hkv, t, d]` for the new steps; the cache's keys come first. Query heads
 * are grouped as `h = kv * groups + g` (Hugging Face's `repeat_kv`), which lets the queries of a
 * group share one key matrix without copying it.
 */
export function attend(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor4D,
  past?: LayerCache,
): { out: tf.Tensor3D; cache: LayerCache } {
  const [b, h, t, d] = q.shape;
  const hkv = k.shape[1];
  const key = past ? tf.concat([past.key, k], 2) : k; // [b, hkv, s, d]
  const value = past ? tf.concat([past.value, v], 2) : v; // [b, hkv, s, d]
  const s = key.shape[2];
  const groups = h / hkv;
  const grouped = q.reshape([b, hkv, groups * t, d]);
  const scores = tf.matMul(grouped, key, false, true).mul(1 / Math.sqrt(d)); // [b, hkv, g*t, s]
  const biased = scores.reshape([b, hkv, groups, t, s]).add(bias.reshape([b, 1, 1, t, s]));
  const probs = tf.softmax(biased).reshape([b, hkv, groups * t, s]);
  const out = tf.matMul(probs, value).reshape([b, h, t, d]); // [b, h, t, d]
  const merged = out.transpose([0, 2, 1, 3]).reshape([b, t, h * d]) as tf.Tensor3D;
  return { out: merged, cache: { key: key as tf.Tensor4D, value: value as tf.Tensor4D } };
}

/** Rotary inverse frequencies `theta^(-2i/d)`, computed in fp32 as `transformers` does. */
export function ropeInverseFrequencies(headDim: number, theta: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) out[i] = 1 / theta ** (Math.fround(2 * i) / headDim);
  return out;
}

/** Cosine and sine tables `[b, 1, t, d]` for the given positions. */
export function ropeTables(positions: tf.Tensor2D, inverse: Float32Array) {
  const [b, t] = positions.shape;
  const freqs = positions.cast("float32").reshape([b, t, 1]).mul(tf.tensor1d(inverse)); // [b, t, d/2]
  const angles = tf.concat([freqs, freqs], -1).reshape([b, 1, t, inverse.length * 2]);
  return { cos: angles.cos() as tf.Tensor4D, sin: angles.sin() as tf.Tensor4D };
}

/** Applies rotary embedding (non-interleaved halves, `rotate_half`) to `[b, n, t, d]`. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const half = x.shape[3] / 2;
  const [x1, x2] = tf.split(x, [half, half], 3);
  const rotated = tf.concat([x2!.neg(), x1!], 3);
  return x.mul(cos).add(rotated.mul(sin)) as tf.Tensor4D;
}

/**
 * `tf.tidy` for functions returning structures of tensors (a cache, scores) that TensorFlow.js's
 * `TensorContainer` type does not describe though tidy keeps them: every tensor reachable from
 * the result survives, everything else allocated inside is freed.
 */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}
