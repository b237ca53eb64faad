/**
 * The PPO update of one iteration (CleanRL's "Optimizing the policy and value network" block):
 * epochs over the batch of rollouts, each in shuffled minibatches; a minibatch's gradient is the
 * token-weighted sum over microbatches, clipped to a global norm and applied by Adam; the epochs
 * stop early once the mean approx-KL of an epoch passes the target.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../../models/sampling.ts";
import type { ActorCritic } from "../policy.ts";
import type { Adam } from "./adam.ts";
import type { PpoConfig } from "./config.ts";
import { ppoLoss } from "./loss.ts";
import { scoreResponses, type ScoringBatch, sliceBatch } from "./score.ts";

/** What the update reads, one row per rollout, `[B, R]` each. */
export interface UpdateBatch {
  readonly batch: ScoringBatch;
  /** Response mask with dropped rollouts zeroed. */
  readonly mask: number[][];
  readonly oldLogprobs: number[][];
  readonly advantages: number[][];
  /** Critic targets and the rollout's values; absent without a critic (group baselines). */
  readonly returns?: number[][];
  readonly oldValues?: number[][];
  readonly allowed?: number[][][];
}

/** Statistics of an update, averaged over its minibatches. */
export interface UpdateStats {
  readonly policyLoss: number;
  readonly valueLoss: number;
  readonly entropy: number;
  readonly policyClipFraction: number;
  readonly valueClipFraction: number;
  readonly approxKl: number;
  readonly policyKl: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  readonly epochs: number;
  readonly earlyStopped: boolean;
  readonly minibatches: number;
}

type StatName = Exclude<keyof UpdateStats, "epochs" | "earlyStopped" | "minibatches" | "gradNorm">;
const STAT_NAMES: readonly StatName[] = [
  "policyLoss",
  "valueLoss",
  "entropy",
  "policyClipFraction",
  "valueClipFraction",
  "approxKl",
  "policyKl",
];

/** Options of {@linkcode ppoUpdate}. */
export interface UpdateOptions {
  readonly iteration: number;
  /** Critic warm-up: only the value head learns, the policy loss weighs 0. */
  readonly criticOnly: boolean;
}

/** Runs the epochs and minibatches of one iteration; returns the statistics. */
export async function ppoUpdate(
  policy: ActorCritic,
  adam: Adam,
  data: UpdateBatch,
  config: PpoConfig,
  options: UpdateOptions,
): Promise<UpdateStats> {
  const variables = namedVariables(policy, options.criticOnly, data.returns !== undefined);
  const rows = data.batch.ids.length;
  const size = rows / config.minibatches;
  const sums: Record<StatName | "gradNorm", number> = Object.fromEntries(
    [...STAT_NAMES, "gradNorm"].map((k) => [k, 0]),
  ) as Record<StatName | "gradNorm", number>;
  let count = 0;
  let epochs = 0;
  let earlyStopped = false;
  for (let epoch = 0; epoch < config.epochs && !earlyStopped; epoch++) {
    const order = shuffled(rows, seededRandom(config.seed + 7, options.iteration * 1000 + epoch));
    let epochKl = 0;
    for (let start = 0; start < rows; start += size) {
      const stats = minibatchStep(
        policy,
        adam,
        variables,
        data,
        order.slice(start, start + size),
        config,
        options,
      );
      for (const name of STAT_NAMES) sums[name] += stats[name];
      sums.gradNorm += stats.gradNorm;
      epochKl += stats.approxKl / config.minibatches;
      count++;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    epochs++;
    earlyStopped = config.targetApproxKl > 0 && epochKl > config.targetApproxKl;
  }
  const mean = (name: StatName | "gradNorm") => (count === 0 ? 0 : sums[name] / count);
  return {
    ...(Object.fromEntries(
      [...STAT_NAMES, "gradNorm"].map((n) => [n, mean(n as StatName)]),
    ) as Record<
      StatName | "gradNorm",
      number
    >),
    epochs,
    earlyStopped,
    minibatches: count,
  };
}

/** The trainable variables by a stable name: Hugging Face names, and `v_head.*` for the critic. */
export function namedVariables(
  policy: ActorCritic,
  criticOnly: boolean,
  withCritic: boolean,
): Map<string, tf.Variable> {
  const named = new Map<string, tf.Variable>();
  if (!criticOnly) {
    for (const [name, variable] of policy.model.variables) {
      if (variable.trainable) named.set(name, variable);
    }
  }
  if (withCritic) {
    named.set("v_head.summary.weight", policy.valueHead.weight);
    named.set("v_head.summary.bias", policy.valueHead.bias);
  }
  return named;
}

function minibatchStep(
  policy: ActorCritic,
  adam: Adam,
  variables: Map<string, tf.Variable>,
  data: UpdateBatch,
  rows: readonly number[],
  config: PpoConfig,
  options: UpdateOptions,
): Record<StatName | "gradNorm", number> {
  const tokens = rows.reduce((sum, i) => sum + data.mask[i]!.reduce((a, b) => a + b, 0), 0);
  const stats = Object.fromEntries(STAT_NAMES.map((k) => [k, 0])) as Record<StatName, number>;
  const byInternal = new Map([...variables].map(([name, v]) => [v.name, name]));
  const grads = new Map<string, tf.Tensor>();
  if (tokens === 0) return { ...stats, gradNorm: 0 };
  for (let start = 0; start < rows.length; start += config.microBatch) {
    const micro = rows.slice(start, start + config.microBatch);
    const weight = micro.reduce((s, i) => s + data.mask[i]!.reduce((a, b) => a + b, 0), 0) / tokens;
    if (weight === 0) continue;
    const { grads: microGrads } = tf.variableGrads(() => {
      const out = microLoss(policy, data, micro, config, options.criticOnly);
      for (const name of STAT_NAMES) stats[name] += out[name].dataSync()[0]! * weight;
      return out.loss.mul(weight) as tf.Scalar;
    }, [...variables.values()]);
    for (const [internal, grad] of Object.entries(microGrads)) {
      const name = byInternal.get(internal)!;
      const sum = grads.get(name);
      grads.set(name, sum === undefined ? grad : tf.tidy(() => sum.add(grad)));
      if (sum !== undefined) tf.dispose([sum, grad]);
    }
  }
  const gradNorm = adam.apply(variables, grads);
  tf.dispose([...grads.values()]);
  return { ...stats, gradNorm };
}

function microLoss(
  policy: ActorCritic,
  data: UpdateBatch,
  rows: readonly number[],
  config: PpoConfig,
  criticOnly: boolean,
) {
  const pick = <T>(xs: readonly T[]) => rows.map((i) => xs[i]!);
  const allowed = data.allowed && tf.tensor3d(pick(data.allowed), undefined, "int32");
  const scores = scoreResponses(
    policy.model,
    sliceBatch(data.batch, rows),
    { temperature: config.temperature, ...(allowed ? { allowed } : {}) },
    data.returns ? policy.valueHead : undefined,
  );
  const t2 = (xs: number[][]) => tf.tensor2d(pick(xs));
  return ppoLoss({
    logprobs: scores.logprobs,
    oldLogprobs: t2(data.oldLogprobs),
    advantages: t2(data.advantages),
    mask: t2(data.mask),
    entropy: scores.entropy,
    ...(data.returns && scores.values
      ? { values: scores.values, oldValues: t2(data.oldValues!), returns: t2(data.returns) }
      : {}),
  }, {
    clipRange: config.clipRange,
    clipRangeValue: config.clipRangeValue,
    valueCoef: config.valueCoef,
    entropyCoef: config.entropyCoef,
    policyCoef: criticOnly ? 0 : 1,
  });
}

/** 0..n-1 in a seeded random order (Fisher-Yates). */
export function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
