/**
 * The KL penalty to the frozen reference and the controllers of its coefficient beta: Ziegler et
 * al.'s adaptive controller (2019, `AdaptiveKLController` in trl and lm-human-preferences) and a
 * fixed coefficient.
 *
 * @module
 */

import type { KlControl } from "./config.ts";
import type { Matrix } from "./advantages.ts";

/** Per-token KL estimates from sampled tokens' log-probabilities. */
export type KlEstimator =
  /** `log p - log q` (trl `kl_penalty="kl"`): unbiased, can be negative per token. */
  | "k1"
  /** `(r - 1) - log r` with `r = q / p` (Schulman's k3, GRPO): non-negative. */
  | "k3";

/** Per-token KL of the policy (`logprobs`) from the reference (`refLogprobs`), masked. */
export function klPerToken(
  logprobs: Matrix,
  refLogprobs: Matrix,
  mask: Matrix,
  estimator: KlEstimator = "k1",
): number[][] {
  return logprobs.map((row, i) =>
    row.map((lp, t) => {
      if (mask[i]![t]! === 0) return 0;
      const logRatio = lp - refLogprobs[i]![t]!;
      return estimator === "k1" ? logRatio : Math.exp(-logRatio) - 1 + logRatio;
    })
  );
}

/** The state of a KL controller: plain data, saved in checkpoints. */
export interface KlState {
  readonly control: KlControl;
  /** Current coefficient beta. */
  readonly value: number;
  /** Target KL per sequence, in nats (adaptive). */
  readonly target: number;
  /** Horizon in rollouts (adaptive). */
  readonly horizon: number;
}

/**
 * Beta after a batch of `steps` rollouts whose mean KL per sequence was `current` (trl
 * `AdaptiveKLController.update`): the proportional error `current / target - 1`, clipped to
 * [-0.2, 0.2], scales beta by `1 + error * steps / horizon`. A fixed controller never moves.
 */
export function updateKl(state: KlState, current: number, steps: number): KlState {
  if (state.control === "fixed") return state;
  const error = Math.min(0.2, Math.max(-0.2, current / state.target - 1));
  return { ...state, value: state.value * (1 + error * steps / state.horizon) };
}
