/**
 * The unbiased pass@k estimator of Chen et al. (2021), "Evaluating Large Language Models Trained
 * on Code", section 2.1.
 *
 * @module
 */

/**
 * Unbiased pass@k: the probability that at least one of k samples drawn without replacement from
 * n samples, c of them correct, is correct: `1 - C(n-c, k) / C(n, k)`, computed as a stable
 * product.
 *
 * @param n Samples generated.
 * @param c Samples that passed.
 * @param k Samples drawn.
 * @returns pass@k in [0, 1].
 *
 * @example Usage
 * ```ts
 * import { passAtK } from "./pass_at_k.ts";
 * passAtK(10, 3, 1); // 0.3
 * ```
 */
export function passAtK(n: number, c: number, k: number): number {
  for (const [name, value] of [["n", n], ["c", c], ["k", k]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot compute pass@k as ${name} must be a non-negative integer: current value is ${value}`,
      );
    }
  }
  if (k === 0) throw new RangeError(`Cannot compute pass@k as k must be >= 1: current value is 0`);
  if (k > n) {
    throw new RangeError(
      `Cannot compute pass@k as k must be <= n: current values k=${k}, n=${n}`,
    );
  }
  if (c > n) {
    throw new RangeError(
      `Cannot compute pass@k as c must be <= n: current values c=${c}, n=${n}`,
    );
  }
  if (n - c < k) return 1;
  let failAll = 1;
  for (let i = n - c + 1; i <= n; i++) failAll *= 1 - k / i;
  return 1 - failAll;
}

/**
 * Mean pass@k over tasks, or `null` when some task has fewer than k samples (the estimate is
 * undefined there, so reports leave it out rather than mix estimators).
 */
export function meanPassAtK(
  outcomes: readonly { readonly n: number; readonly passed: number }[],
  k: number,
): number | null {
  if (outcomes.length === 0 || outcomes.some((o) => o.n < k)) return null;
  const total = outcomes.reduce((sum, o) => sum + passAtK(o.n, o.passed, k), 0);
  return total / outcomes.length;
}
