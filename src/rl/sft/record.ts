/**
 * What an SFT run writes beside its checkpoints: `sft_log.jsonl` (one line per step: loss,
 * learning rate, gradient norm, tokens/s, and the held-out loss where it was computed) and
 * `sft.json` (configuration, provenance, backend, corpora with what the held-out filter dropped,
 * dataset counts, checkpoints, status). Checkpoints use the PPO trainer's layout
 * (`checkpoints/iter-NNNNNN/` with the step number; see `../ppo/checkpoint.ts`).
 *
 * @module
 */

import { join } from "node:path";
import { readJsonl } from "../../util/jsonl.ts";
import { writeFileAtomic } from "../../util/atomic_write.ts";
import type { SftConfig } from "./config.ts";
import type { HeldOutCount } from "./corpus.ts";
import type { SftDataset } from "./dataset.ts";

export const SFT_LOG_FILE = "sft_log.jsonl";
export const SFT_RECORD_FILE = "sft.json";

/** One line of `sft_log.jsonl`. */
export interface SftLogEntry {
  readonly step: number;
  readonly lr: number;
  /** Training loss of the step, nats per loss token. */
  readonly loss: number;
  readonly gradNorm: number;
  /** Tokens fed in the step (padding excluded) and those the loss was taken on. */
  readonly tokens: number;
  readonly lossTokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  /** Passes over the training rows so far. */
  readonly epoch: number;
  /** Training seconds since the run began, resumed runs included. */
  readonly elapsed: number;
  /** Held-out loss after this step, where computed. */
  readonly valLoss?: number;
}

/** `trainer_state.json` of an SFT checkpoint (the PPO layout without a KL controller). */
export interface SftTrainerState {
  readonly kind: "sft";
  /** Steps done (the checkpoint folder's number). */
  readonly iteration: number;
  readonly optimizerSteps: number;
  /** Training rows consumed so far (steps x batch size): the data cursor. */
  readonly cursor: number;
  readonly seed: number;
  readonly elapsed: number;
  readonly config: SftConfig;
}

/** One corpus in the record. */
export interface CorpusRecord {
  readonly spec: string;
  readonly source: string;
  /** Items read, before the held-out filter. */
  readonly read: number;
  /** Characters of text kept. */
  readonly chars: number;
  readonly heldOut?: HeldOutCount;
}

/** `sft.json`. */
export interface SftRecord {
  readonly schema: 1;
  readonly kind: "sft";
  readonly id: string;
  readonly config: SftConfig;
  readonly model: {
    readonly init: SftConfig["init"];
    readonly source: string;
    readonly parameters: number;
    readonly config: Readonly<Record<string, unknown>>;
  };
  readonly tokenizer: {
    readonly dir: string;
    readonly trained: boolean;
    /** Of its `tokenizer.json`. */
    readonly sha256: string;
    readonly vocabSize: number;
  };
  readonly corpora: readonly CorpusRecord[];
  readonly heldOut: {
    readonly description: string;
    readonly tasks: number;
    readonly repos: number;
    readonly dropRepos: boolean;
  } | null;
  readonly dataset: SftDataset["stats"] & { readonly trainRows: number; readonly valRows: number };
  readonly tfjs: { readonly backend: string; readonly version: string; readonly detail: string };
  readonly provenance: {
    readonly harness: { version: string; commit: string; dirty: boolean };
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly host: Readonly<Record<string, unknown>>;
  };
  readonly status: "running" | "finished";
  readonly step: number;
  readonly checkpoints: readonly string[];
  /** The final checkpoint's ONNX export (for `bench --model onnx:DIR`). */
  readonly onnx: string | null;
  readonly last: { readonly loss: number | null; readonly valLoss: number | null };
}

/** Reads `sft_log.jsonl` (a truncated last line from a kill is dropped). */
export async function readSftLog(runDir: string): Promise<SftLogEntry[]> {
  return await readJsonl<SftLogEntry>(join(runDir, SFT_LOG_FILE), { allowTruncatedTail: true });
}

/** Keeps the log lines of steps up to `step` (resuming from its checkpoint). */
export async function truncateSftLog(runDir: string, step: number): Promise<void> {
  const kept = (await readSftLog(runDir)).filter((entry) => entry.step <= step);
  await writeFileAtomic(
    join(runDir, SFT_LOG_FILE),
    kept.map((entry) => JSON.stringify(entry) + "\n").join(""),
  );
}

/** Writes `sft.json` atomically. */
export async function writeSftRecord(runDir: string, record: SftRecord): Promise<void> {
  await writeFileAtomic(join(runDir, SFT_RECORD_FILE), JSON.stringify(record, null, 1) + "\n");
}
