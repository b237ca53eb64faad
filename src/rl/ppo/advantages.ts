/**
 * PPO's advantage math on plain arrays (a batch is a few dozen rows of at most a few hundred
 * tokens): masked statistics and whitening, per-token rewards, GAE, and the group baselines of
 * RLOO and GRPO. Rows are rollouts, columns are response tokens; `mask` is 1 on real tokens and
 * 0 on padding after a response. Each function follows trl (`trl/core.py` and the PPO, RLOO and
 * GRPO trainers); `tests/rl/ppo/reference_test.ts` checks them against a recorded trace.
 *
 * @module
 */

/** Rows of numbers, `[batch, tokens]`. */
export type Matrix = readonly (readonly number[])[];

function total(mask: Matrix): number {
  return mask.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
}

/** Mean of `values` where `mask` is 1 (trl `masked_mean`). */
export function maskedMean(values: Matrix, mask: Matrix): number {
  const count = total(mask);
  if (count === 0) {
    throw new RangeError("Cannot take a masked mean as the mask is all zeros: current sum is 0");
  }
  let sum = 0;
  values.forEach((row, i) => row.forEach((v, t) => sum += v * mask[i]![t]!));
  return sum / count;
}

/**
 * Variance of `values` where `mask` is 1 (trl `masked_var`): with Bessel's correction unless
 * `unbiased` is false, which needs at least two unmasked values.
 */
export function maskedVar(values: Matrix, mask: Matrix, unbiased = true): number {
  const mean = maskedMean(values, mask);
  const centred = values.map((row) => row.map((v) => (v - mean) ** 2));
  const variance = maskedMean(centred, mask);
  if (!unbiased) return variance;
  const count = total(mask);
  if (count === 1) {
    throw new RangeError(
      "Cannot take an unbiased masked variance of one value: current mask sum is 1: use larger batches",
    );
  }
  return variance * count / (count - 1);
}

/**
 * `(values - mean) / sqrt(var + 1e-8)` over the masked entries (trl `masked_whiten`); the mean is
 * added back unless `shiftMean`. Masked-out entries become 0.
 */
export function maskedWhiten(values: Matrix, mask: Matrix, shiftMean = true): number[][] {
  const mean = maskedMean(values, mask);
  const scale = 1 / Math.sqrt(maskedVar(values, mask) + 1e-8);
  return values.map((row, i) =>
    row.map((v, t) => mask[i]![t]! === 0 ? 0 : (v - mean) * scale + (shiftMean ? 0 : mean))
  );
}

/** Index of the last real token of each row (-1 for an empty row). */
export function lastIndices(mask: Matrix): number[] {
  return mask.map((row) => row.findLastIndex((m) => m !== 0));
}

/**
 * Per-token rewards (trl `compute_rewards`): `-beta * kl` on every real token, plus the
 * sequence's score on its last real token.
 */
export function tokenRewards(
  scores: readonly number[],
  kl: Matrix,
  mask: Matrix,
  beta: number,
): number[][] {
  const last = lastIndices(mask);
  return kl.map((row, i) =>
    row.map((k, t) => mask[i]![t]! * (-beta * k) + (t === last[i] ? scores[i]! : 0))
  );
}

/** Options of {@linkcode computeGae}. */
export interface GaeOptions {
  /** Discount. @default 1 */
  readonly gamma?: number;
  /** GAE lambda. @default 0.95 */
  readonly lam?: number;
}

/**
 * Generalised advantage estimation (Schulman et al. 2016) over right-padded rows, as trl's
 * `compute_advantages`: values and rewards are masked first, so the value after a row's last
 * token is 0; `returns = advantages + values` are the value targets.
 */
export function computeGae(
  rewards: Matrix,
  values: Matrix,
  mask: Matrix,
  options: GaeOptions = {},
): { advantages: number[][]; returns: number[][] } {
  const { gamma = 1, lam = 0.95 } = options;
  const advantages = rewards.map((row, i) => {
    const v = values[i]!.map((x, t) => x * mask[i]![t]!);
    const r = row.map((x, t) => x * mask[i]![t]!);
    const out = new Array<number>(r.length).fill(0);
    let last = 0;
    for (let t = r.length - 1; t >= 0; t--) {
      const next = t < r.length - 1 ? v[t + 1]! : 0;
      const delta = r[t]! + gamma * next - v[t]!;
      last = delta + gamma * lam * last;
      out[t] = last;
    }
    return out;
  });
  const returns = advantages.map((row, i) => row.map((a, t) => a + values[i]![t]! * mask[i]![t]!));
  return { advantages, returns };
}

/**
 * Advantages from the scores of each task's samples, no critic: `rloo` subtracts the mean of the
 * other samples of the task (trl `RLOOTrainer`), `grpo` divides the deviation from the group
 * mean by the group's standard deviation plus 1e-4 (trl `GRPOTrainer`, unbiased std).
 * `groups[i]` names the task of sample `i`; every group needs two samples at least.
 */
export function groupAdvantages(
  scores: readonly number[],
  groups: readonly (string | number)[],
  kind: "rloo" | "grpo",
): number[] {
  const members = Map.groupBy(scores.map((_, i) => i), (i) => groups[i]!);
  const out = new Array<number>(scores.length).fill(0);
  for (const [group, indices] of members) {
    const k = indices.length;
    if (k < 2) {
      throw new RangeError(
        `Cannot compute a group baseline as group "${group}" must hold two samples at least: current count is ${k}`,
      );
    }
    const sum = indices.reduce((s, i) => s + scores[i]!, 0);
    const mean = sum / k;
    const std = Math.sqrt(indices.reduce((s, i) => s + (scores[i]! - mean) ** 2, 0) / (k - 1));
    for (const i of indices) {
      out[i] = kind === "rloo"
        ? scores[i]! - (sum - scores[i]!) / (k - 1)
        : (scores[i]! - mean) / (std + 1e-4);
    }
  }
  return out;
}

/** Explained variance of `values` as predictors of `returns` over the mask (CleanRL). */
export function explainedVariance(values: Matrix, returns: Matrix, mask: Matrix): number {
  const varReturns = maskedVar(returns, mask, false);
  if (varReturns === 0) return Number.NaN;
  const residual = returns.map((row, i) => row.map((r, t) => r - values[i]![t]!));
  return 1 - maskedVar(residual, mask, false) / varReturns;
}
