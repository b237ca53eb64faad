/**
 * Every knob of PPO training in one object, each with its default and where the default comes
 * from (CleanRL's `Args`, trl's `PPOConfig`, PPOCoder, Ziegler et al. 2019). Defaults fix
 * PPOCoder's bugs rather than copy them: minibatches of many rollouts (not one), several
 * gradient steps per batch of rollouts, a constant learning rate, and sampling from exactly the
 * distribution that is scored.
 *
 * @module
 */

import type { RewardWeights } from "./rewards.ts";

/** How advantages are estimated. */
export type AdvantageEstimator =
  /** GAE over the value head's estimates (PPO proper). */
  | "gae"
  /** REINFORCE leave-one-out over the samples of one task (trl's RLOO); no critic. */
  | "rloo"
  /** Group-normalised scores (GRPO): (r - mean) / (std + eps) over one task's samples; no critic. */
  | "grpo";

/** How the policy rolls out. */
export type RolloutEngine = "onnx" | "tfjs";

/** The KL controller. */
export type KlControl = "adaptive" | "fixed";

/** The PPO configuration. */
export interface PpoConfig {
  /** PPO iterations (rollout, reward, update). @default 20 */
  readonly iterations: number;
  /** Tasks per iteration. @default 4 */
  readonly batchTasks: number;
  /** Samples per task (a group, for RLOO/GRPO). @default 2 */
  readonly samplesPerTask: number;
  /** Passes over each batch of rollouts (CleanRL `update_epochs`, trl `num_ppo_epochs`). @default 4 */
  readonly epochs: number;
  /** Minibatches per epoch (trl `num_mini_batches`). @default 2 */
  readonly minibatches: number;
  /** Rows per forward/backward pass; gradients of a minibatch's rows are summed. @default 4 */
  readonly microBatch: number;
  /** Adam learning rate, constant (PPOCoder annealed it to ~0). @default 1e-5 */
  readonly learningRate: number;
  /** Adam betas and epsilon (PyTorch defaults; CleanRL uses eps 1e-5). */
  readonly adamBeta1: number;
  readonly adamBeta2: number;
  readonly adamEpsilon: number;
  /** Largest global gradient norm (CleanRL `max_grad_norm`). @default 0.5 */
  readonly maxGradNorm: number;
  /** Discount (trl `gamma`). @default 1 */
  readonly gamma: number;
  /** GAE lambda (trl `lam`). @default 0.95 */
  readonly lam: number;
  /** Policy ratio clip (CleanRL `clip_coef`, trl `cliprange`). @default 0.2 */
  readonly clipRange: number;
  /** Value clip around the rollout's values (trl `cliprange_value`). @default 0.2 */
  readonly clipRangeValue: number;
  /** Value loss coefficient (trl `vf_coef`). @default 0.1 */
  readonly valueCoef: number;
  /** Entropy bonus coefficient (CleanRL `ent_coef`; 0 for LMs as in trl). @default 0 */
  readonly entropyCoef: number;
  /** Whiten advantages over the masked batch (CleanRL `norm_adv`). @default true */
  readonly whitenAdvantages: boolean;
  /** Stop an iteration's epochs when the mean approx-KL passes this (CleanRL `target_kl`); 0 never. @default 0.1 */
  readonly targetApproxKl: number;
  /** Iterations at the start that train only the value head (critic warm-up). @default 0 */
  readonly criticWarmup: number;
  /** Advantage estimator. @default "gae" */
  readonly advantage: AdvantageEstimator;
  /** KL controller: Ziegler's adaptive one, or a fixed coefficient. @default "adaptive" */
  readonly klControl: KlControl;
  /** Initial (or fixed) KL coefficient beta (trl `init_kl_coef` 0.2; trl v1 `kl_coef` 0.05). @default 0.05 */
  readonly klCoef: number;
  /** Adaptive controller: target KL per sequence, in nats (trl `target` 6). @default 6 */
  readonly klTarget: number;
  /** Adaptive controller: horizon in rollouts (trl `horizon` 10000). @default 10000 */
  readonly klHorizon: number;
  /** Reward recipe name, for the record. @default "ppocoder" */
  readonly reward: string;
  /** Weight of each reward term (the recipe's, with any overrides). */
  readonly rewardWeights: RewardWeights;
  /** Sampling temperature, in generation and in every scoring pass. @default 1 */
  readonly temperature: number;
  /** Top-k cut; the same allowed tokens are used in every scoring pass. 0: none. @default 0 */
  readonly topK: number;
  /** New tokens per rollout at most. @default 128 */
  readonly maxNewTokens: number;
  /** Prompt tokens kept at most (the tail is kept). @default 384 */
  readonly maxPromptTokens: number;
  /** Few-shot examples in the prompt. @default 0 */
  readonly shots: number;
  /** Rollout engine: the policy's ONNX export on onnxruntime-node, or TF.js. @default "onnx" */
  readonly rollout: RolloutEngine;
  /** Seed of data order, sampling and minibatch order. @default 0 */
  readonly seed: number;
  /** Write a checkpoint every N iterations (and at the end). @default 10 */
  readonly checkpointEvery: number;
  /** Evaluate every N iterations (and at the start and end); 0 only at the end. @default 0 */
  readonly evalEvery: number;
  /** Shuffle scores across the batch before advantages: a control that must not learn. @default false */
  readonly shuffleRewards: boolean;
  /** Reward retries after an infrastructure failure (sandbox error), then the sample is dropped. @default 2 */
  readonly rewardRetries: number;
}

/** The defaults (see each field). */
export const DEFAULT_PPO_CONFIG: PpoConfig = {
  iterations: 20,
  batchTasks: 4,
  samplesPerTask: 2,
  epochs: 4,
  minibatches: 2,
  microBatch: 4,
  learningRate: 1e-5,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  maxGradNorm: 0.5,
  gamma: 1,
  lam: 0.95,
  clipRange: 0.2,
  clipRangeValue: 0.2,
  valueCoef: 0.1,
  entropyCoef: 0,
  whitenAdvantages: true,
  targetApproxKl: 0.1,
  criticWarmup: 0,
  advantage: "gae",
  klControl: "adaptive",
  klCoef: 0.05,
  klTarget: 6,
  klHorizon: 10000,
  reward: "ppocoder",
  rewardWeights: { compile: 1, ast_match: 1, dataflow_match: 1 },
  temperature: 1,
  topK: 0,
  maxNewTokens: 128,
  maxPromptTokens: 384,
  shots: 0,
  rollout: "onnx",
  seed: 0,
  checkpointEvery: 10,
  evalEvery: 0,
  shuffleRewards: false,
  rewardRetries: 2,
};

/** Fields that may change between a run and its resumption (they do not shape the rollouts). */
export const RESUMABLE_FIELDS: readonly (keyof PpoConfig)[] = [
  "iterations",
  "checkpointEvery",
  "evalEvery",
];

/** The defaults with `overrides`, checked. */
export function ppoConfig(overrides: Partial<PpoConfig> = {}): PpoConfig {
  const config = { ...DEFAULT_PPO_CONFIG, ...overrides };
  checkConfig(config);
  return config;
}

const POSITIVE_INTEGERS = [
  "batchTasks",
  "samplesPerTask",
  "epochs",
  "minibatches",
  "microBatch",
  "maxNewTokens",
  "maxPromptTokens",
  "checkpointEvery",
] as const;

/** Throws a `RangeError` naming the first field out of range. */
export function checkConfig(config: PpoConfig): void {
  for (const field of POSITIVE_INTEGERS) {
    const value = config[field];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(
        `Cannot train as "${field}" must be a positive integer: current value is ${value}`,
      );
    }
  }
  const rows = config.batchTasks * config.samplesPerTask;
  if (rows % config.minibatches !== 0) {
    throw new RangeError(
      `Cannot train as the rollouts of an iteration (batchTasks x samplesPerTask = ${rows}) must split evenly into "minibatches": current value is ${config.minibatches}`,
    );
  }
  if (config.advantage !== "gae" && config.samplesPerTask < 2) {
    throw new RangeError(
      `Cannot use the "${config.advantage}" advantage as a group baseline needs "samplesPerTask" >= 2: current value is ${config.samplesPerTask}`,
    );
  }
  if (!(config.temperature > 0)) {
    throw new RangeError(
      `Cannot train as "temperature" must be > 0 (PPO samples and scores the same distribution): current value is ${config.temperature}`,
    );
  }
  if (!(config.learningRate > 0) || !(config.klCoef >= 0) || !(config.klTarget > 0)) {
    throw new RangeError(
      `Cannot train as "learningRate" and "klTarget" must be > 0 and "klCoef" >= 0: current values are ${config.learningRate}, ${config.klTarget}, ${config.klCoef}`,
    );
  }
}

/** Fields whose values differ, as `field: old -> new`, ignoring {@linkcode RESUMABLE_FIELDS}. */
export function configDifferences(stored: PpoConfig, current: PpoConfig): string[] {
  const keys = new Set([...Object.keys(stored), ...Object.keys(current)]) as Set<keyof PpoConfig>;
  return [...keys].filter((key) => !RESUMABLE_FIELDS.includes(key)).filter((key) =>
    JSON.stringify(stored[key]) !== JSON.stringify(current[key])
  ).map((key) => `${key}: ${JSON.stringify(stored[key])} -> ${JSON.stringify(current[key])}`);
}
