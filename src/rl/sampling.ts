/**
 * Next-token sampling with temperature, top-k (PPOCoder's "action space size") and top-p, from a
 * seeded generator, applied in the order `transformers` applies its logits warpers: temperature,
 * then top-k, then top-p. Temperature 0 is greedy.
 *
 * @module
 */

import type { Sampling } from "../models/backend.ts";

/** The sampling settings a policy uses; the same fields as a generation backend's. */
export type TokenSampling = Pick<Sampling, "temperature" | "topK" | "topP">;

/** Greedy decoding. */
export const GREEDY: TokenSampling = { temperature: 0, topK: 0, topP: 1 };

/** A seeded uniform generator on [0, 1) (mulberry32: 32-bit state, fast, good enough here). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Token ids kept by top-k, best first. */
function candidates(logits: ArrayLike<number>, topK: number): number[] {
  const ids = Array.from({ length: logits.length }, (_, i) => i);
  ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
  return topK > 0 && topK < ids.length ? ids.slice(0, topK) : ids;
}

/** Draws one token id from one row of logits. */
export function sampleToken(
  logits: ArrayLike<number>,
  sampling: TokenSampling,
  random: () => number,
): number {
  if (sampling.temperature <= 0) return argmax(logits);
  const ids = candidates(logits, sampling.topK);
  const top = logits[ids[0]!]! / sampling.temperature;
  const weights = ids.map((id) => Math.exp(logits[id]! / sampling.temperature - top));
  const total = weights.reduce((a, b) => a + b, 0);
  // Top-p: the smallest best-first prefix whose probability reaches p (at least one token).
  let kept = ids.length;
  if (sampling.topP < 1) {
    let mass = 0;
    for (let i = 0; i < ids.length; i++) {
      mass += weights[i]! / total;
      if (mass >= sampling.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  const keptTotal = weights.slice(0, kept).reduce((a, b) => a + b, 0);
  let draw = random() * keptTotal;
  for (let i = 0; i < kept; i++) {
    draw -= weights[i]!;
    if (draw < 0) return ids[i]!;
  }
  return ids[kept - 1]!;
}
