/**
 * "Did you mean" for names a person typed: options, benchmarks, backends, languages.
 *
 * @module
 */

/**
 * ` (did you mean X?)` for the closest of `candidates`, or `""` when none is close: a prefix of
 * three letters or more, else an edit distance of at most a third of the name.
 *
 * @example Usage
 * ```ts
 * import { didYouMean } from "./did_you_mean.ts";
 * console.assert(didYouMean("--modle", ["--model", "--limit"]) === " (did you mean --model?)");
 * ```
 */
export function didYouMean(given: string, candidates: readonly string[]): string {
  const scored = candidates
    .map((c) => ({ c, d: editDistance(given.toLowerCase(), c.toLowerCase()) }))
    .sort((a, b) => a.d - b.d);
  const best = scored[0];
  if (best === undefined) return "";
  const prefix = candidates.find((c) => c.startsWith(given) && given.length >= 3);
  if (prefix !== undefined) return ` (did you mean ${prefix}?)`;
  return best.d <= Math.max(1, Math.floor(given.length / 3)) ? ` (did you mean ${best.c}?)` : "";
}

/** Levenshtein distance, with a transposition counted as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
