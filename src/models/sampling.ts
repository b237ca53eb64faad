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

/**
 * Chooses the next token from `logits` (one vocabulary row): temperature, then top-k, then top-p
 * on the renormalized rest (as Hugging Face orders them). Tokens tied with the last one kept at a
 * cut are kept too. Candidates are drawn in vocabulary order, so no full argsort is needed.
 */
export function chooseToken(
  logits: ArrayLike<number>,
  choice: TokenChoice,
  random: Random,
): number {
  if (choice.temperature <= 0) return argmax(logits);
  const n = logits.length;
  // Temperature keeps the order of logits, so the top-k cut is taken on the raw values.
  const minLogit = choice.topK > 0 && choice.topK < n ? kthLargest(logits, choice.topK) : -Infinity;
  const probs = softmaxAbove(logits, minLogit, choice.temperature);
  const minProb = choice.topP < 1 ? nucleusFloor(probs, choice.topP) : Number.MIN_VALUE;
  let total = 0;
  for (let i = 0; i < n; i++) if ((probs[i] as number) >= minProb) total += probs[i] as number;
  let u = random() * total;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const p = probs[i] as number;
    if (p < minProb) continue;
    last = i;
    u -= p;
    if (u < 0) return i;
  }
  return last;
}

/** The k-th largest of `values` (k >= 1), keeping a small sorted buffer of the top k. */
function kthLargest(values: ArrayLike<number>, k: number): number {
  if (k > 256) return Float64Array.from(values).sort()[values.length - k] as number;
  const top = new Float64Array(k).fill(-Infinity); // ascending: top[0] is the smallest kept
  for (let j = 0; j < values.length; j++) {
    const v = values[j] as number;
    if (v <= (top[0] as number)) continue;
    let i = 1;
    for (; i < k && (top[i] as number) < v; i++) top[i - 1] = top[i] as number;
    top[i - 1] = v;
  }
  return top[0] as number;
}

/** Softmax of `values / temperature` over the values >= `min`; the others get probability 0. */
function softmaxAbove(values: ArrayLike<number>, min: number, temperature: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i] as number);
  const probs = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const e = v >= min ? Math.exp((v - max) / temperature) : 0;
    probs[i] = e;
    sum += e;
  }
  for (let i = 0; i < probs.length; i++) probs[i] = (probs[i] as number) / sum;
  return probs;
}

/**
 * The smallest probability in the smallest set of top tokens whose mass reaches `topP`. Only
 * tokens with p >= (1 - topP) / n can be in that set (the rest weigh less than 1 - topP in
 * all); among those, a quickselect-style partition finds the cut in linear expected time.
 */
function nucleusFloor(probs: Float64Array, topP: number): number {
  const floor = (1 - topP) / probs.length;
  const values = new Float64Array(probs.length);
  let hi = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] as number;
    if (p >= floor && p > 0) values[hi++] = p;
  }
  let lo = 0;
  let need = topP;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1] as number;
    const [gt, lt] = partitionDescending(values, lo, hi, pivot);
    let massAbove = 0;
    for (let i = lo; i < gt; i++) massAbove += values[i] as number;
    if (massAbove >= need) {
      hi = gt;
      continue;
    }
    const massEqual = pivot * (lt - gt);
    if (massAbove + massEqual >= need) return pivot;
    need -= massAbove + massEqual;
    lo = lt;
  }
  return Number.MIN_VALUE; // rounding left `topP` unreached: keep every token
}

/**
 * Three-way partition of `values[lo, hi)` in place: `[lo, gt)` > pivot, `[gt, lt)` == pivot,
 * `[lt, hi)` < pivot.
 */
function partitionDescending(values: Float64Array, lo: number, hi: number, pivot: number) {
  let [gt, i, lt] = [lo, lo, hi];
  while (i < lt) {
    const v = values[i] as number;
    if (v > pivot) {
      values[i++] = values[gt] as number;
      values[gt++] = v;
    } else if (v < pivot) {
      values[i] = values[--lt] as number;
      values[lt] = v;
    } else {
      i++;
    }
  }
  return [gt, lt] as const;
}
