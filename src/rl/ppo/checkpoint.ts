/**
 * Training checkpoints: `checkpoints/iter-NNNNNN/` holds the policy as a Hugging Face folder
 * (`config.json`, `model.safetensors`, tokenizer files, `value_head.safetensors`), the optimizer
 * state (`optimizer.safetensors`, PyTorch's `exp_avg`/`exp_avg_sq` names) and
 * `trainer_state.json` (iteration, KL controller, data cursor, seed, the configuration). The
 * folder is written under a temporary name and renamed, so a killed run leaves only whole
 * checkpoints. SFT writes the same layout (its state has no KL controller).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { savePolicy } from "../checkpoint.ts";
import type { ActorCritic } from "../policy.ts";
import { readSafetensors, writeSafetensors } from "../safetensors.ts";
import type { Adam } from "./adam.ts";
import type { PpoConfig } from "./config.ts";
import type { KlState } from "./kl.ts";

/** What every trainer's `trainer_state.json` holds (PPO's and SFT's). */
export interface CheckpointState {
  /** Which trainer wrote it. */
  readonly kind: string;
  /** Iterations (PPO) or steps (SFT) finished. */
  readonly iteration: number;
  readonly optimizerSteps: number;
}

/** PPO's `trainer_state.json`. */
export interface TrainerState extends CheckpointState {
  readonly kind: "ppo";
  readonly kl: KlState;
  /** Tasks taken from the data order so far. */
  readonly cursor: number;
  /** Sampling and shuffling are keyed by (seed, iteration, row): this is the whole RNG state. */
  readonly seed: number;
  readonly config: PpoConfig;
}

/** The folder of the checkpoint after `iteration`. */
export function checkpointDir(runDir: string, iteration: number): string {
  return join(runDir, "checkpoints", `iter-${String(iteration).padStart(6, "0")}`);
}

/** Writes a checkpoint atomically (a temporary folder, then a rename); returns its folder. */
export async function saveCheckpoint<S extends CheckpointState>(
  runDir: string,
  policy: ActorCritic,
  adam: Adam,
  state: S,
  tokenizerFrom: string,
): Promise<string> {
  const final = checkpointDir(runDir, state.iteration);
  const temporary = `${final}.tmp-${Deno.pid}`;
  await Deno.remove(temporary, { recursive: true }).catch(() => {});
  await savePolicy(temporary, policy, { tokenizerFrom });
  const optimizer = adam.state();
  await writeSafetensors(join(temporary, "optimizer.safetensors"), optimizer.tensors);
  const full = { ...state, optimizerSteps: optimizer.step };
  await Deno.writeTextFile(
    join(temporary, "trainer_state.json"),
    JSON.stringify(full, null, 1) + "\n",
  );
  await Deno.remove(final, { recursive: true }).catch(() => {});
  await Deno.rename(temporary, final);
  return final;
}

/** The newest whole checkpoint of a run, or undefined. Temporary folders are ignored. */
export async function latestCheckpoint(runDir: string): Promise<string | undefined> {
  const root = join(runDir, "checkpoints");
  if (!existsSync(root)) return undefined;
  const names: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.isDirectory && /^iter-\d{6}$/.test(entry.name)) names.push(entry.name);
  }
  const newest = names.sort().at(-1);
  return newest === undefined ? undefined : join(root, newest);
}

/** Reads a checkpoint's trainer state (PPO's unless told) and restores the optimizer from it. */
export async function loadTrainerState<S extends CheckpointState = TrainerState>(
  dir: string,
  adam: Adam,
): Promise<S> {
  const state = JSON.parse(await Deno.readTextFile(join(dir, "trainer_state.json"))) as S;
  const path = join(dir, "optimizer.safetensors");
  adam.load(existsSync(path) ? await readSafetensors(path) : new Map(), state.optimizerSteps);
  return state;
}
