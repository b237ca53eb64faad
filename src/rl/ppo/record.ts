/**
 * The training record: one `train_log.jsonl` line per iteration (every statistic that exposes a
 * failing run), `rollouts.jsonl` with sampled rollouts and their rewards, and `training.json`,
 * the run's report: provenance, full configuration, checkpoints and evaluation reports.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../../util/atomic_write.ts";
import { readJsonl } from "../../util/jsonl.ts";
import type { PpoConfig } from "./config.ts";
import type { Provenance } from "../../report/schema.ts";

/** File names in a training run folder. */
export const TRAIN_LOG_FILE = "train_log.jsonl";
export const ROLLOUTS_FILE = "rollouts.jsonl";
export const TRAINING_FILE = "training.json";

/** One iteration's statistics. */
export interface TrainLogEntry {
  readonly iteration: number;
  /** Rollouts scored, and those dropped after an infrastructure failure. */
  readonly rollouts: number;
  readonly dropped: number;
  /** Score (weighted terms, KL excluded): mean and std over scored rollouts. */
  readonly rewardMean: number;
  readonly rewardStd: number;
  /** Mean of each term (unweighted), and `kl`: mean of -beta * KL per sequence. */
  readonly terms: Readonly<Record<string, number>>;
  readonly compileRate: number;
  readonly syntaxRate: number;
  readonly passRate: number;
  /** Mean response length in tokens and in characters of the code the model wrote. */
  readonly responseTokens: number;
  readonly writtenChars: number;
  /** Share of rollouts that ended by themselves, and that hit the token limit. */
  readonly eosShare: number;
  readonly truncatedShare: number;
  /** Mean KL to the reference per sequence (sum over tokens, k1), and beta used. */
  readonly kl: number;
  readonly beta: number;
  readonly entropy: number;
  readonly policyLoss: number;
  readonly valueLoss: number;
  readonly policyClipFraction: number;
  readonly valueClipFraction: number;
  readonly approxKl: number;
  readonly policyKl: number;
  readonly explainedVariance: number | null;
  readonly gradNorm: number;
  readonly learningRate: number;
  readonly epochs: number;
  readonly earlyStopped: boolean;
  /** Response tokens generated per second of the rollout phase. */
  readonly tokensPerSecond: number;
  /** Seconds per phase. */
  readonly seconds: Readonly<Record<"rollout" | "reward" | "scoring" | "update" | "total", number>>;
  /** Data cursor after this iteration (tasks taken so far). */
  readonly cursor: number;
}

/** One sampled rollout as stored in `rollouts.jsonl`. */
export interface RolloutRecord {
  readonly iteration: number;
  readonly row: number;
  readonly taskId: string;
  readonly raw: string;
  readonly code: string;
  readonly status: string;
  readonly score: number | null;
  readonly terms: Readonly<Record<string, number>>;
  readonly responseTokens: number;
  readonly finished: boolean;
}

/** An evaluation of a checkpoint through `runBenchmark`. */
export interface EvalRecord {
  readonly iteration: number;
  /** `<folder>/<run>` of the report under the reports root. */
  readonly ref: string;
  readonly reportPath: string;
  readonly metrics: Readonly<Record<string, number | null>>;
}

/** `training.json`. */
export interface TrainingRecord {
  readonly schema: 1;
  readonly id: string;
  readonly benchmark: string;
  readonly split: string;
  readonly evalSplit: string;
  readonly dataset: { readonly sha256: Readonly<Record<string, string>>; readonly source: string };
  readonly taskCount: number;
  readonly model: { readonly path: string; readonly format: string; readonly parameters: number };
  readonly config: PpoConfig;
  readonly tfjs: {
    readonly backend: string;
    readonly version: string;
    readonly skipped: readonly string[];
  };
  readonly onnxruntime: string;
  readonly provenance: Provenance;
  readonly status: "running" | "finished";
  readonly iterations: number;
  readonly checkpoints: readonly string[];
  readonly evals: readonly EvalRecord[];
}

/** Reads `train_log.jsonl` (a truncated last line from a kill is dropped). */
export async function readTrainLog(runDir: string): Promise<TrainLogEntry[]> {
  return await readJsonl<TrainLogEntry>(join(runDir, TRAIN_LOG_FILE), { allowTruncatedTail: true });
}

/** Keeps the JSONL lines of iterations up to `iteration` (resuming from its checkpoint). */
export async function truncateLog(path: string, iteration: number): Promise<void> {
  const records = await readJsonl<{ iteration: number }>(path, { allowTruncatedTail: true });
  const kept = records.filter((r) => r.iteration <= iteration);
  await writeFileAtomic(path, kept.map((r) => JSON.stringify(r) + "\n").join(""));
}

/** Writes `training.json` atomically. */
export async function writeTrainingRecord(runDir: string, record: TrainingRecord) {
  await writeFileAtomic(join(runDir, TRAINING_FILE), JSON.stringify(record, null, 1) + "\n");
}
