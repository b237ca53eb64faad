/**
 * Policy checkpoints as Hugging Face folders: `config.json`, `model.safetensors` (or shards with
 * their index), the tokenizer files, and `value_head.safetensors` for the critic. The folder
 * loads in `transformers` as it is (`AutoModelForCausalLM.from_pretrained(dir)`).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { type ModelConfig, readConfig } from "./config.ts";
import { CausalLm } from "./model.ts";
import { ActorCritic } from "./policy.ts";
import {
  loadCheckpointTensors,
  readSafetensors,
  type SaveCheckpointOptions,
  saveCheckpointTensors,
  writeAtomic,
  writeSafetensors,
} from "./safetensors.ts";
import { loadTokenizer, type TextTokenizer } from "./tokenizer.ts";
import { ValueHead } from "./value_head.ts";

/** Files copied unchanged from the source checkpoint on save, when it has them. */
export const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "generation_config.json",
  "vocab.json",
  "merges.txt",
] as const;

/** The value head's file name in a checkpoint folder. */
export const VALUE_HEAD_FILE = "value_head.safetensors";

/** Options for {@linkcode loadPolicy}. */
export interface LoadPolicyOptions {
  /** @default true */
  readonly trainable?: boolean;
  /** Seed of a new value head, when the folder has none. @default 0 */
  readonly valueHeadSeed?: number;
}

/** A loaded checkpoint. */
export interface LoadedPolicy {
  readonly policy: ActorCritic;
  readonly config: ModelConfig;
  /** Absent when the folder has no `tokenizer.json`. */
  readonly tokenizer?: TextTokenizer;
  /** Whether the value head came from the folder (else it is new). */
  readonly valueHeadLoaded: boolean;
}

/** Options for {@linkcode savePolicy}. */
export interface SavePolicyOptions extends SaveCheckpointOptions {
  /** Folder whose tokenizer files are copied. */
  readonly tokenizerFrom?: string;
}

/** Loads a checkpoint folder into an {@linkcode ActorCritic}. */
export async function loadPolicy(
  dir: string,
  options: LoadPolicyOptions = {},
): Promise<LoadedPolicy> {
  const config = await readConfig(dir);
  const model = CausalLm.fromTensors(config, await loadCheckpointTensors(dir), {
    trainable: options.trainable ?? true,
  });
  const headPath = join(dir, VALUE_HEAD_FILE);
  const valueHeadLoaded = existsSync(headPath);
  const valueHead = valueHeadLoaded
    ? ValueHead.fromTensors(await readSafetensors(headPath), config.hiddenSize)
    : ValueHead.random(config.hiddenSize, { seed: options.valueHeadSeed ?? 0 });
  const tokenizer = existsSync(join(dir, "tokenizer.json")) ? await loadTokenizer(dir) : undefined;
  return {
    policy: new ActorCritic(model, valueHead),
    config,
    valueHeadLoaded,
    ...(tokenizer ? { tokenizer } : {}),
  };
}

/** Saves a policy as a Hugging Face folder (weights in fp32 unless told otherwise). */
export async function savePolicy(
  dir: string,
  policy: ActorCritic,
  options: SavePolicyOptions = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await saveCheckpointTensors(dir, policy.model.toTensors(), options);
  await writeSafetensors(join(dir, VALUE_HEAD_FILE), policy.valueHead.toTensors(), options);
  // transformers 5 writes "dtype", 4 wrote "torch_dtype": keep the key the config came with.
  const raw = policy.model.config.raw;
  const key = "dtype" in raw ? "dtype" : "torch_dtype";
  const config = { ...raw, [key]: TORCH_DTYPES[options.dtype ?? "F32"] };
  await writeAtomic(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  await copyTokenizerFiles(options.tokenizerFrom, dir);
}

/** Copies the {@linkcode TOKENIZER_FILES} that `from` has into `to` (nothing when absent). */
export async function copyTokenizerFiles(from: string | undefined, to: string): Promise<void> {
  if (from === undefined || from === to) return;
  for (const file of TOKENIZER_FILES) {
    if (existsSync(join(from, file))) await Deno.copyFile(join(from, file), join(to, file));
  }
}

const TORCH_DTYPES = { F32: "float32", F16: "float16", BF16: "bfloat16" } as const;
