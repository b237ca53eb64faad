/**
 * Batched generation from a {@linkcode CausalLm}: prompts left-padded to one length, one token per
 * row per step, with the key/value cache (each step feeds only the new token) or without it
 * (each step re-runs the whole sequence; the reference the cache is tested against).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { type KvCache, tidy } from "./_layers.ts";
import type { CausalLm } from "./model.ts";
// One token chooser for the onnx: backend and the policy, so both sample alike for a seed.
import { chooseToken, seededRandom, type TokenChoice } from "../models/sampling.ts";

/** Greedy decoding. */
export const GREEDY: TokenChoice = { temperature: 0, topK: 0, topP: 1 };

/** Options for {@linkcode generate}. */
export interface GenerateOptions {
  /** Tokens to add to each prompt. */
  readonly maxNewTokens: number;
  /** Temperature, top-k (PPOCoder's "action space size") and top-p. @default greedy */
  readonly sampling?: TokenChoice;
  /** Seed; row `i` draws from its own stream `i`, so a row does not depend on the others. @default 0 */
  readonly seed?: number;
  /** A row stops after one of these. @default the config's `eos_token_id` */
  readonly eosTokenIds?: readonly number[];
  /** Id fed for padding and after a row stopped. @default pad, else first eos, else 0 */
  readonly padTokenId?: number;
  /** Use the key/value cache. @default true */
  readonly useCache?: boolean;
}

/** What {@linkcode generate} returns. */
export interface GenerateResult {
  /** The new tokens of each row, up to and including its stop token. */
  readonly tokens: number[][];
  /** Whether each row ended on a stop token (else it hit `maxNewTokens`). */
  readonly stopped: boolean[];
}

function leftPad(prompts: readonly (readonly number[])[], pad: number) {
  const width = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...Array(width - p.length).fill(pad), ...p]);
  const mask = prompts.map((p) => [...Array(width - p.length).fill(0), ...p.map(() => 1)]);
  return { ids, mask };
}

/** Last-position logits `[b, vocab]` of a forward pass, as rows of numbers. */
function lastLogits(model: CausalLm, ids: number[][], mask: number[][], cache?: KvCache) {
  return tidy(() => {
    const out = model.forward({
      inputIds: tf.tensor2d(ids, undefined, "int32"),
      attentionMask: tf.tensor2d(mask, undefined, "int32"),
      ...(cache ? { cache } : {}),
    });
    const [b, t, v] = out.logits.shape;
    const last = out.logits.slice([0, t - 1, 0], [b, 1, v]).reshape([b, v]);
    return { last, cache: out.cache };
  });
}

function disposeCache(cache: KvCache | undefined): void {
  for (const layer of cache ?? []) tf.dispose([layer.key, layer.value]);
}

/** Generates up to `maxNewTokens` tokens after each prompt. */
export async function generate(
  model: CausalLm,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<GenerateResult> {
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) {
    throw new RangeError(`Cannot generate as every prompt must hold at least one token`);
  }
  const config = model.config;
  const eos = new Set(options.eosTokenIds ?? config.eosTokenIds);
  const pad = options.padTokenId ?? config.padTokenId ?? config.eosTokenIds[0] ?? 0;
  const sampling = options.sampling ?? GREEDY;
  const randoms = prompts.map((_, i) => seededRandom(options.seed ?? 0, i));
  const useCache = options.useCache ?? true;
  const { ids, mask } = leftPad(prompts, pad);
  const tokens: number[][] = prompts.map(() => []);
  const stopped = prompts.map(() => false);
  let cache: KvCache | undefined;
  let feed = ids;
  for (let step = 0; step < options.maxNewTokens && stopped.includes(false); step++) {
    const out = lastLogits(model, feed, mask, useCache ? cache : undefined);
    disposeCache(cache);
    cache = useCache ? out.cache : (disposeCache(out.cache), undefined);
    const rows = (await out.last.array()) as number[][];
    out.last.dispose();
    const next = rows.map((row, i) => {
      if (stopped[i]) return pad;
      const token = chooseToken(row, sampling, randoms[i]!);
      tokens[i]!.push(token);
      stopped[i] = eos.has(token);
      return token;
    });
    next.forEach((token, i) => {
      ids[i]!.push(token);
      mask[i]!.push(1);
    });
    feed = useCache ? next.map((token) => [token]) : ids;
  }
  disposeCache(cache);
  return { tokens, stopped };
}
