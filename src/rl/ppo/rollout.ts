/**
 * Rollouts: the policy samples a response for each prompt, through its ONNX export on
 * onnxruntime-node (re-exported every iteration, several times the TF.js decode rate) or through
 * TF.js generation as the fallback. Both draw every token with the harness's one token chooser
 * (`chooseToken`) from a stream keyed by (seed, iteration, row), so a resumed run repeats the
 * same rollouts; temperature and top-k here are the ones the scoring passes apply.
 *
 * @module
 */

import { join } from "node:path";
import { OnnxDecoder } from "../../models/_onnx_decoder.ts";
import { chooseToken, type Random, seededRandom } from "../../models/sampling.ts";
import { generate } from "../generate.ts";
import type { CausalLm } from "../model.ts";
import { exportOnnx } from "../onnx_export.ts";
import type { RolloutEngine } from "./config.ts";

/** Options of {@linkcode sampleResponses}. */
export interface RolloutOptions {
  readonly engine: RolloutEngine;
  readonly maxNewTokens: number;
  readonly temperature: number;
  readonly topK: number;
  /** Seed of the run and the iteration: row `i` draws from stream `i` of their mix. */
  readonly seed: number;
  readonly iteration: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number;
  /** Folder the ONNX export is written to (replaced each iteration). */
  readonly exportDir: string;
  /** Whether a row's tokens so far end in a stop sequence (checked after each token; ONNX only). */
  readonly stopped?: (generated: readonly number[]) => boolean;
}

/** Sampled responses. */
export interface Responses {
  /** New tokens of each row, its end-of-sequence token included. */
  readonly tokens: number[][];
  /** Whether each row ended by itself (end of sequence or a stop sequence), not at the limit. */
  readonly finished: boolean[];
}

/** The seed of an iteration's sampling streams. */
export function iterationSeed(seed: number, iteration: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(iteration + 1, 0x85ebca6b)) >>> 0;
}

/** Samples one response per prompt with the chosen engine. */
export async function sampleResponses(
  model: CausalLm,
  prompts: readonly (readonly number[])[],
  options: RolloutOptions,
): Promise<Responses> {
  const seed = iterationSeed(options.seed, options.iteration);
  const randoms = prompts.map((_, row) => seededRandom(seed, row));
  const responses = options.engine === "onnx"
    ? await onnxResponses(model, prompts, randoms, options)
    : await tfjsResponses(model, prompts, seed, options);
  return responses;
}

async function onnxResponses(
  model: CausalLm,
  prompts: readonly (readonly number[])[],
  randoms: readonly Random[],
  options: RolloutOptions,
): Promise<Responses> {
  const file = await exportOnnx(model, options.exportDir, { externalData: false });
  const decoder = await OnnxDecoder.load(file);
  const eos = new Set(options.eosTokenIds);
  const choice = { temperature: options.temperature, topK: options.topK, topP: 1 };
  try {
    const tokens = await decoder.generate(prompts, {
      maxTokens: prompts.map(() => options.maxNewTokens),
      padTokenId: options.padTokenId,
      choose: (row, logits) => chooseToken(logits, choice, randoms[row]!),
      done: (_row, generated) =>
        eos.has(generated.at(-1)!) || (options.stopped?.(generated) ?? false),
    });
    const finished = tokens.map((row) => eos.has(row.at(-1)!) || (options.stopped?.(row) ?? false));
    return { tokens, finished };
  } finally {
    await decoder.release();
  }
}

async function tfjsResponses(
  model: CausalLm,
  prompts: readonly (readonly number[])[],
  seed: number,
  options: RolloutOptions,
): Promise<Responses> {
  const { tokens, stopped } = await generate(model, prompts, {
    maxNewTokens: options.maxNewTokens,
    sampling: { temperature: options.temperature, topK: options.topK, topP: 1 },
    seed,
    eosTokenIds: options.eosTokenIds,
    padTokenId: options.padTokenId,
  });
  return { tokens, finished: stopped };
}

/** Where a run writes the per-iteration rollout export. */
export function rolloutExportDir(runDir: string): string {
  return join(runDir, "rollout-onnx");
}
