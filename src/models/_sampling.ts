/**
 * Token choice for local decoding: greedy argmax or temperature / top-k / top-p sampling driven
 * by a seeded PRNG, so that a (seed, sample index) pair always yields the same tokens.
 *
 * @module
 */

/** Settings of one token choice (a subset of {@linkcode Sampling}). */
export interface TokenChoice {
  /** 0 means greedy. */
  readonly temperature: number;
  /** 1 means no nucleus cut. */
  readonly topP: number;
  /** 0 means no top-k cut. */
  readonly topK: number;
}

/** A PRNG returning uniform floats in [0, 1). */
export type Random = () => number;

/**
 * A mulberry32 generator seeded from `seed` and `stream` (e.g. the sample index), mixed with a
 * splitmix32 step so that neighbouring streams are uncorrelated.
 */
export function seededRandom(seed: number, stream = 0): Random {
  let state = mix32(mix32(seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b9));
  return function next(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Index of the largest logit; ties go to the lowest index. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) {
    if ((logits[i] as number) > (logits[best] as number)) best = i;
  }
  return best;
}

/** Chooses the next token from `logits` (one vocabulary row). */
export function chooseToken(logits: ArrayLike<number>, choice: TokenChoice, random: Random): number {
  if (choice.temperature <= 0) return argmax(logits);
  // Sorting is only needed for a top-k or top-p cut; plain sampling keeps vocabulary order.
  const sorted = choice.topK > 0 || choice.topP < 1;
  const candidates = candidateIds(logits, sorted ? choice.topK : 0, sorted);
  const probs = softmax(candidates.map((i) => (logits[i] as number) / choice.temperature));
  const kept = sorted ? nucleus(probs, choice.topP) : probs.length;
  let total = 0;
  for (let i = 0; i < kept; i++) total += probs[i] as number;
  let u = random() * total;
  for (let i = 0; i < kept; i++) {
    u -= probs[i] as number;
    if (u < 0) return candidates[i] as number;
  }
  return candidates[kept - 1] as number;
}

/** Token ids, optionally sorted by logit (highest first, ties by id) and cut to `topK` > 0. */
function candidateIds(logits: ArrayLike<number>, topK: number, sorted: boolean): number[] {
  const ids = Array.from({ length: logits.length }, (_, i) => i);
  if (!sorted) return ids;
  ids.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  return topK > 0 && topK < ids.length ? ids.slice(0, topK) : ids;
}

function softmax(values: readonly number[]): number[] {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** How many of the (descending) `probs` make up the smallest set with mass >= `topP`. */
function nucleus(probs: readonly number[], topP: number): number {
  if (topP >= 1) return probs.length;
  let mass = 0;
  for (let i = 0; i < probs.length; i++) {
    mass += probs[i] as number;
    if (mass >= topP) return i + 1;
  }
  return probs.length;
}
