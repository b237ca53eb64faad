/**
 * BLEU and exact match as CodeXGLUE scores code-to-code translation
 * (`Code-Code/code-to-code-trans/evaluator/bleu.py`, which is `compute_bleu` from
 * tensorflow/nmt).
 *
 * Exactly that variant:
 * - Tokens: Python `str.strip().split()`, runs of non-whitespace (the CodeXGLUE data is already
 *   tokenized with spaces; raw code is scored as it is split on whitespace).
 * - Corpus level: n-gram matches and candidate n-gram counts summed over all pairs, orders 1..4
 *   with weights 1/4; with several references, each n-gram is clipped by its largest count in
 *   any reference, and the reference length is the shortest reference.
 * - Smoothing: "smooth BLEU" of Lin and Och (2004, ORANGE): every order's precision is
 *   `(matches + 1) / (candidates + 1)`, unigrams included.
 * - Brevity penalty: `exp(1 - r / c)` when the corpus ratio `c / r` is at most 1.
 * - The result is in [0, 1]; CodeXGLUE prints `round(100 * bleu, 2)`.
 * - Where CodeXGLUE divides by zero (an empty corpus side), an empty candidate corpus scores 0
 *   and an empty reference corpus gets no brevity penalty.
 *
 * This is not NLTK's `corpus_bleu` (closest reference length; NLTK's `method2` leaves unigrams
 * unsmoothed) and not the BLEU inside CodeBLEU (NLTK-style with `method1`); the golden fixture
 * checks all three against Python.
 *
 * @module
 */

import { pySplit } from "./_python_str.ts";
import { checkPairs, referenceList } from "./_pairs.ts";

/** One reference, or several references for the same hypothesis. */
export type References = string | readonly string[];

/** Options for {@linkcode bleu} and {@linkcode sentenceBleu}. */
export interface BleuOptions {
  /** The highest n-gram order. @default 4 */
  readonly maxOrder?: number;
  /** Add one to every order's matches and counts (Lin and Och 2004). @default true */
  readonly smooth?: boolean;
  /** Split a text into tokens. @default Python's `str.split()` */
  readonly tokenize?: (text: string) => string[];
}

/** Counts of every n-gram of order 1..maxOrder, keyed by the tokens joined with U+0000. */
function ngramCounts(tokens: readonly string[], maxOrder: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = `${n}\0${tokens.slice(i, i + n).join("\0")}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Corpus-level smoothed BLEU-4 as CodeXGLUE computes it for code translation, in [0, 1].
 *
 * @example Usage
 * ```ts
 * import { bleu } from "./bleu.ts";
 * bleu(["int x = a + b ;"], ["int x = a + b ;"]); // 1
 * ```
 */
export function bleu(
  references: readonly References[],
  hypotheses: readonly string[],
  options: BleuOptions = {},
): number {
  checkPairs("BLEU", references, hypotheses);
  const { maxOrder = 4, smooth = true, tokenize = pySplit } = options;
  const matches = new Array<number>(maxOrder).fill(0);
  const possible = new Array<number>(maxOrder).fill(0);
  let referenceLength = 0, translationLength = 0;
  hypotheses.forEach((hypothesis, i) => {
    const refs = referenceList(references[i]!).map(tokenize);
    const translation = tokenize(hypothesis);
    referenceLength += Math.min(...refs.map((r) => r.length));
    translationLength += translation.length;
    const merged = new Map<string, number>();
    for (const ref of refs) {
      for (const [k, c] of ngramCounts(ref, maxOrder)) {
        merged.set(k, Math.max(merged.get(k) ?? 0, c));
      }
    }
    for (const [k, c] of ngramCounts(translation, maxOrder)) {
      const order = Number(k.slice(0, k.indexOf("\0")));
      matches[order - 1]! += Math.min(c, merged.get(k) ?? 0);
    }
    for (let n = 1; n <= maxOrder; n++) possible[n - 1]! += Math.max(0, translation.length - n + 1);
  });
  const precisions = matches.map((m, i) =>
    smooth ? (m + 1) / (possible[i]! + 1) : possible[i]! > 0 ? m / possible[i]! : 0
  );
  if (translationLength === 0 || Math.min(...precisions) <= 0) return 0;
  const geoMean = Math.exp(precisions.reduce((s, p) => s + (1 / maxOrder) * Math.log(p), 0));
  const ratio = translationLength / referenceLength;
  return geoMean * (ratio > 1 ? 1 : Math.exp(1 - 1 / ratio));
}

/** Smoothed BLEU-4 of one hypothesis: {@linkcode bleu} on a corpus of one pair. */
export function sentenceBleu(
  references: References,
  hypothesis: string,
  options: BleuOptions = {},
): number {
  return bleu([references], [hypothesis], options);
}

/**
 * The fraction of hypotheses whose whitespace-separated tokens equal those of a reference, as
 * CodeXGLUE's translation evaluator counts exact match (layout differences do not count).
 */
export function exactMatch(
  references: readonly References[],
  hypotheses: readonly string[],
): number {
  checkPairs("exact match", references, hypotheses);
  const same = hypotheses.filter((h, i) => {
    const tokens = pySplit(h).join(" ");
    return referenceList(references[i]!).some((r) => pySplit(r).join(" ") === tokens);
  });
  return same.length / hypotheses.length;
}
