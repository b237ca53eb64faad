/**
 * Helpers of the tests of src/rl: fixtures, onnxruntime-node feeds, and comparisons.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";
import { llamaFromGenaiOnnx, readOnnxInitializers } from "../../src/rl/onnx_import.ts";
import { type ModelConfig, readConfig } from "../../src/rl/config.ts";
import { CausalLm } from "../../src/rl/model.ts";
import {
  fp16ToFp32,
  loadCheckpointTensors,
  readSafetensors,
  type TensorMap,
} from "../../src/rl/safetensors.ts";
import { selectBackend } from "../../src/rl/tf_backend.ts";

/** The shared random-weight Llama whose weights `tiny-llama` uses (never committed). */
const SHARED_LLAMA_ONNX = "models/tiny-random-llama-fp16/model.onnx";

/** Whether `../shared` has the Llama that the `tiny-llama` fixture's weights come from. */
export const HAS_SHARED_LLAMA = hasShared(SHARED_LLAMA_ONNX);
if (!HAS_SHARED_LLAMA) {
  console.log(`ignoring tiny-llama in tests/rl: ${sharedPath(SHARED_LLAMA_ONNX)} is absent`);
}

/**
 * The checkpoints of tests/fixtures/rl/make_fixtures.py that can be loaded here. `tiny-llama`
 * has only its config and reference logits committed: its weights are read from the shared ONNX
 * model, so it is left out where `../shared` is absent.
 */
export const FIXTURES: readonly string[] = ["tiny-gpt2", "tiny-qwen2", "tiny-llama"].filter(
  (name) => name !== "tiny-llama" || HAS_SHARED_LLAMA,
);

/** A fixture's weights: from its safetensors, or for `tiny-llama` from the shared ONNX model. */
export async function fixtureTensors(name: string): Promise<TensorMap> {
  if (name !== "tiny-llama") return await loadCheckpointTensors(fixtureDir(name));
  return llamaFromGenaiOnnx(await readOnnxInitializers(sharedPath(SHARED_LLAMA_ONNX)), 2);
}

/** Selects the WASM backend quietly (the one our machines run). */
export async function useWasm(): Promise<void> {
  await selectBackend({ force: "wasm", print: false });
}

/** Folder of a fixture checkpoint. */
export function fixtureDir(name: string): string {
  return fixturePath(`rl/${name}`);
}

/** A fixture checkpoint as a model. */
export async function loadFixture(name: string): Promise<CausalLm> {
  return CausalLm.fromTensors(await readConfig(fixtureDir(name)), await fixtureTensors(name));
}

/** The logits transformers computed for a fixture, with their inputs. */
export async function hfLogits(name: string) {
  const tensors: TensorMap = await readSafetensors(`${fixtureDir(name)}/hf_logits.safetensors`);
  const get = (key: string) => tensors.get(key)!;
  const [b, t] = get("input_ids").shape as [number, number];
  const rows = (data: Float32Array) =>
    Array.from({ length: b }, (_, i) => Array.from(data.subarray(i * t, (i + 1) * t)));
  return {
    ids: rows(get("input_ids").data),
    mask: rows(get("attention_mask").data),
    logits: get("logits"),
    logsumexp: get("logsumexp"),
  };
}

/** Largest absolute difference of two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`Lengths differ: ${a.length} and ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** TFJS logits `[b, t, v]` of a model for plain id rows, as one flat array. */
export function tfjsLogits(model: CausalLm, ids: number[][], mask?: number[][]): Float32Array {
  return tf.tidy(() =>
    model.forward({
      inputIds: tf.tensor2d(ids, undefined, "int32"),
      ...(mask ? { attentionMask: tf.tensor2d(mask, undefined, "int32") } : {}),
    }).logits.dataSync() as Float32Array
  );
}

/** An int64 onnxruntime tensor. */
export function int64(rows: number[][]): ort.Tensor {
  const data = BigInt64Array.from(rows.flat(), (x) => BigInt(x));
  return new ort.Tensor("int64", data, [rows.length, rows[0]!.length]);
}

/** Positions as generate() counts them: real tokens before each step. */
export function positionsOf(mask: number[][]): number[][] {
  return mask.map((row) => {
    let seen = 0;
    return row.map((m) => Math.max((seen += m) - 1, 0));
  });
}

/** Feeds for a first step (empty cache) of an exported or onnxruntime-genai model. */
export function firstStepFeeds(
  config: ModelConfig,
  ids: number[][],
  mask: number[][],
  cacheType: "float32" | "float16" = "float32",
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {
    input_ids: int64(ids),
    attention_mask: int64(mask),
    position_ids: int64(positionsOf(mask)),
  };
  const empty = cacheType === "float32" ? new Float32Array(0) : new Uint16Array(0);
  for (let i = 0; i < config.numLayers; i++) {
    for (const part of ["key", "value"]) {
      feeds[`past_key_values.${i}.${part}`] = new ort.Tensor(cacheType, empty, [
        ids.length,
        config.numKvHeads,
        0,
        config.headDim,
      ]);
    }
  }
  return feeds;
}

/** An onnxruntime tensor's values as fp32 (fp16 arrives as Uint16Array or Float16Array). */
export function toFloat32(tensor: ort.Tensor): Float32Array {
  const data = tensor.data as ArrayLike<number>;
  if (tensor.type === "float16" && data instanceof Uint16Array) {
    return Float32Array.from(data, fp16ToFp32);
  }
  return Float32Array.from(data);
}
