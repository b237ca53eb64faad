/**
 * The two n-gram components of CodeBLEU as the reference (`codebleu` on PyPI, from CodeXGLUE)
 * computes them: `bleu.corpus_bleu` (NLTK's corpus BLEU with smoothing `method1`, epsilon 0.1)
 * and `weighted_ngram_match.corpus_bleu` (keyword-weighted unigram recall, plain n-gram recall for
 * orders 2..4). Quirks of the reference are kept on purpose, so scores stay comparable:
 * - the weighted variant's brevity penalty takes the length of each reference as 2 (it measures
 *   the `[tokens, weights]` pair instead of the tokens);
 * - both return 0 as soon as no unigram matches, before any smoothing.
 *
 * @module
 */

/** Tokens of one reference, with a weight for each distinct token (weighted variant only). */
export interface WeightedReference {
  readonly tokens: readonly string[];
  readonly weights: ReadonlyMap<string, number>;
}

type Counts = Map<string, number>;

function ngrams(tokens: readonly string[], n: number): Counts {
  const counts: Counts = new Map();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join("\0");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function sum(counts: Iterable<number>): number {
  let total = 0;
  for (const c of counts) total += c;
  return total;
}

/** `closest_ref_length`: the reference length nearest the hypothesis', the shorter on a tie. */
function closestLength(lengths: readonly number[], hypLength: number): number {
  return lengths.reduce((best, l) => {
    const d = Math.abs(l - hypLength), bd = Math.abs(best - hypLength);
    return d < bd || (d === bd && l < best) ? l : best;
  });
}

/** NLTK `brevity_penalty(closest_ref_len, hyp_len)`. */
function brevityPenalty(refLength: number, hypLength: number): number {
  if (hypLength > refLength) return 1;
  if (hypLength === 0) return 0;
  return Math.exp(1 - refLength / hypLength);
}

/** Geometric mean of smoothed precisions (`method1`, epsilon 0.1) times the brevity penalty. */
function combine(
  numerators: readonly number[],
  denominators: readonly number[],
  bp: number,
): number {
  if (numerators[0] === 0) return 0;
  const logs = numerators.map((num, i) =>
    0.25 * Math.log((num === 0 ? 0.1 : num) / denominators[i]!)
  );
  return bp * Math.exp(logs.reduce((s, x) => s + x, 0));
}

/** `bleu.corpus_bleu` of the reference CodeBLEU: BLEU-4 with NLTK's clipped precision. */
export function ngramMatch(
  references: readonly (readonly string[][])[],
  hypotheses: readonly string[][],
): number {
  const num = [0, 0, 0, 0], den = [0, 0, 0, 0];
  let hypLengths = 0, refLengths = 0;
  hypotheses.forEach((hyp, i) => {
    const refs = references[i]!;
    for (let n = 1; n <= 4; n++) {
      const counts = hyp.length >= n ? ngrams(hyp, n) : new Map<string, number>();
      const refCounts = refs.map((r) => r.length >= n ? ngrams(r, n) : new Map<string, number>());
      for (const [g, c] of counts) {
        num[n - 1]! += Math.min(
          c,
          Math.max(...refCounts.map((rc) => rc.get(g) ?? 0)),
        );
      }
      den[n - 1]! += Math.max(1, sum(counts.values()));
    }
    hypLengths += hyp.length;
    refLengths += closestLength(refs.map((r) => r.length), hyp.length);
  });
  return combine(num, den, brevityPenalty(refLengths, hypLengths));
}

/** `weighted_ngram_match.corpus_bleu` of the reference CodeBLEU. */
export function weightedNgramMatch(
  references: readonly (readonly WeightedReference[])[],
  hypotheses: readonly string[][],
): number {
  const num = [0, 0, 0, 0], den = [0, 0, 0, 0];
  let hypLengths = 0;
  hypotheses.forEach((hyp, i) => {
    for (let n = 1; n <= 4; n++) {
      const counts = hyp.length >= n ? ngrams(hyp, n) : new Map<string, number>();
      for (const { tokens, weights } of references[i]!) {
        const refCounts = tokens.length >= n ? ngrams(tokens, n) : new Map<string, number>();
        // The reference weighs unigrams when its weights cover every distinct reference unigram,
        // which they always do.
        const weigh = n === 1 && weights.size === refCounts.size;
        let clipped = 0, total = 0;
        for (const [g, c] of refCounts) {
          const w = weigh ? weights.get(g) ?? 1 : 1;
          clipped += Math.min(c, counts.get(g) ?? 0) * w;
          total += c * w;
        }
        num[n - 1]! += clipped;
        den[n - 1]! += Math.max(1, total);
      }
    }
    hypLengths += hyp.length;
  });
  // Each reference "length" is that of a [tokens, weights] pair: 2.
  return combine(num, den, brevityPenalty(2 * hypotheses.length, hypLengths));
}
