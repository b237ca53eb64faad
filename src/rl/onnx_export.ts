/**
 * Exports a {@linkcode CausalLm} to ONNX with a key/value cache, in the layout onnxruntime-genai
 * and Hugging Face Optimum use and the `onnx:` generation backend loads:
 *
 * - inputs `input_ids` and `position_ids` `[batch_size, sequence_length]`, `attention_mask`
 *   `[batch_size, total_sequence_length]` (all int64), and per layer `past_key_values.N.key` and
 *   `.value` `[batch_size, kv_heads, past_sequence_length, head_dim]` (float32; zero length at
 *   the first step);
 * - outputs `logits` `[batch_size, sequence_length, vocab]` and per layer `present.N.key` and
 *   `.value` `[batch_size, kv_heads, total_sequence_length, head_dim]`.
 *
 * Only standard ONNX operators at opset 17 are used. Initializers keep their Hugging Face names
 * and layouts (a Linear weight is transposed by a node that onnxruntime folds at load). The folder
 * also gets `genai_config.json` (the same schema as the models in `shared/models`), `config.json`
 * and the tokenizer files, so it is a complete model folder.
 *
 * @module
 */

import { join } from "node:path";
import { type ExternalData, OnnxGraph } from "./_onnx_graph.ts";
import { ropeInverseFrequencies } from "./_layers.ts";
import { copyTokenizerFiles } from "./checkpoint.ts";
import type { ModelConfig } from "./config.ts";
import { ARCHITECTURES, type CausalLm } from "./model.ts";
import { writeAtomic } from "./safetensors.ts";

/** Options for {@linkcode exportOnnx}. */
export interface ExportOnnxOptions {
  /**
   * Put weights in `model.onnx.data` beside `model.onnx` (needed past protobuf's 2 GiB).
   * @default true when the weights pass 1 GiB
   */
  readonly externalData?: boolean;
  /** Folder whose tokenizer files are copied. */
  readonly tokenizerFrom?: string;
}

/** ONNX opset the exporter targets. */
export const ONNX_OPSET = 17;

interface Context {
  readonly g: OnnxGraph;
  readonly config: ModelConfig;
  readonly weights: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>;
  readonly added: Set<string>;
  /** Additive attention bias `[b, 1, 1, t, s]` (a group axis for grouped-query attention). */
  bias: string;
  /** Rotary tables `[b, 1, t, d]` (Llama). */
  cos?: string;
  sin?: string;
}

/** The initializer of a parameter, added on first use (a tied embedding is used twice). */
function weight(ctx: Context, name: string): string {
  if (ctx.added.has(name)) return name;
  const tensor = ctx.weights.get(name);
  if (!tensor) throw new RangeError(`Cannot export parameter "${name}" as the model lacks it`);
  ctx.added.add(name);
  return ctx.g.floats(name, tensor.shape, tensor.data);
}

/** `x @ W^T (+ b)` for an `nn.Linear` weight `[out, in]`. */
function linear(ctx: Context, x: string, name: string): string {
  const w = ctx.g.op("Transpose", [weight(ctx, `${name}.weight`)], { perm: { ints: [1, 0] } });
  const y = ctx.g.op("MatMul", [x, w]);
  return ctx.weights.has(`${name}.bias`) ? ctx.g.op("Add", [y, weight(ctx, `${name}.bias`)]) : y;
}

/** `x @ W + b` for GPT-2's `Conv1D` weight `[in, out]`. */
function conv1d(ctx: Context, x: string, name: string): string {
  const y = ctx.g.op("MatMul", [x, weight(ctx, `${name}.weight`)]);
  return ctx.g.op("Add", [y, weight(ctx, `${name}.bias`)]);
}

function rmsNorm(ctx: Context, x: string, name: string): string {
  const { g } = ctx;
  const meanSquare = g.op("ReduceMean", [g.op("Mul", [x, x])], {
    axes: { ints: [-1] },
    keepdims: { i: 1 },
  });
  const norm = g.op("Sqrt", [g.op("Add", [meanSquare, g.scalar(ctx.config.normEps)])]);
  return g.op("Mul", [g.op("Div", [x, norm]), weight(ctx, name)]);
}

function layerNorm(ctx: Context, x: string, name: string): string {
  return ctx.g.op(
    "LayerNormalization",
    [x, weight(ctx, `${name}.weight`), weight(ctx, `${name}.bias`)],
    { axis: { i: -1 }, epsilon: { f: ctx.config.normEps } },
  );
}

/** `[b, t, n*d]` to `[b, n, t, d]`. */
function heads(ctx: Context, x: string, n: number): string {
  const shaped = ctx.g.op("Reshape", [x, ctx.g.ints([0, 0, n, ctx.config.headDim])]);
  return ctx.g.op("Transpose", [shaped], { perm: { ints: [0, 2, 1, 3] } });
}

function rope(ctx: Context, x: string): string {
  const { g } = ctx;
  const half = ctx.config.headDim / 2;
  const slice = (from: number, to: number) =>
    g.op("Slice", [x, g.ints([from]), g.ints([to]), g.ints([3])]);
  const rotated = g.op("Concat", [g.op("Neg", [slice(half, 2 * half)]), slice(0, half)], {
    axis: { i: 3 },
  });
  return g.op("Add", [g.op("Mul", [x, ctx.cos!]), g.op("Mul", [rotated, ctx.sin!])]);
}

/** Attention over the cache and the new steps; returns `[b, t, h*d]` and names the presents. */
function attention(ctx: Context, layer: number, q: string, k: string, v: string): string {
  const { g, config } = ctx;
  const h = config.numHeads;
  const hkv = config.numKvHeads;
  const d = config.headDim;
  const key = g.op("Concat", [`past_key_values.${layer}.key`, k], { axis: { i: 2 } });
  const value = g.op("Concat", [`past_key_values.${layer}.value`, v], { axis: { i: 2 } });
  g.node("Identity", [key], {}, [`present.${layer}.key`]);
  g.node("Identity", [value], {}, [`present.${layer}.value`]);
  // Query heads h = kv * groups + g share key head kv: [b, hkv, g, t, d] x [b, hkv, 1, d, s].
  const grouped = g.op("Reshape", [q, g.ints([0, hkv, h / hkv, -1, d])]);
  const keys = g.op("Transpose", [g.op("Unsqueeze", [key, g.ints([2])])], {
    perm: { ints: [0, 1, 2, 4, 3] },
  });
  const scores = g.op("Mul", [g.op("MatMul", [grouped, keys]), g.scalar(1 / Math.sqrt(d))]);
  const probs = g.op("Softmax", [g.op("Add", [scores, ctx.bias])], { axis: { i: -1 } });
  const out = g.op("MatMul", [probs, g.op("Unsqueeze", [value, g.ints([2])])]); // [b,hkv,g,t,d]
  const merged = g.op("Transpose", [g.op("Reshape", [out, g.ints([0, h, -1, d])])], {
    perm: { ints: [0, 2, 1, 3] },
  });
  return g.op("Reshape", [merged, g.ints([0, 0, h * d])]);
}

/** The additive bias `[b, 1, 1, t, s]`: causal, and no padded key. */
function attentionBias(g: OnnxGraph): string {
  const total = g.op("Shape", ["attention_mask"], { start: { i: 1 }, end: { i: 2 } });
  const steps = g.op("Shape", ["input_ids"], { start: { i: 1 }, end: { i: 2 } });
  const scalar = (x: string) => g.op("Squeeze", [x, g.ints([0])]);
  const s = scalar(total);
  const past = scalar(g.op("Sub", [total, steps]));
  const one = g.int64s(`const_one`, [], [1]);
  const zero = g.int64s(`const_zero`, [], [0]);
  const keys = g.op("Unsqueeze", [g.op("Range", [zero, s, one]), g.ints([0])]); // [1, s]
  const queries = g.op("Unsqueeze", [g.op("Range", [past, s, one]), g.ints([1])]); // [t, 1]
  const causal = g.op("LessOrEqual", [keys, queries]); // [t, s]
  const real = g.op("Unsqueeze", [
    g.op("Cast", ["attention_mask"], { to: { i: 9 } }),
    g.ints([
      1,
      2,
    ]),
  ]); // [b, 1, 1, s]
  const allowed = g.op("And", [causal, real]); // [b, 1, t, s]
  const bias = g.op("Where", [allowed, g.scalar(0), g.scalar(-1e9)]);
  return g.op("Unsqueeze", [bias, g.ints([1])]); // [b, 1, 1, t, s]
}

/** GPT-2 from token ids to final-norm hidden states. */
function gpt2Graph(ctx: Context): string {
  const { g, config } = ctx;
  const tokens = g.op("Gather", [weight(ctx, "transformer.wte.weight"), "input_ids"]);
  const places = g.op("Gather", [weight(ctx, "transformer.wpe.weight"), "position_ids"]);
  let x = g.op("Add", [tokens, places]); // [b, t, e]
  for (let i = 0; i < config.numLayers; i++) {
    const h = `transformer.h.${i}`;
    const qkv = conv1d(ctx, layerNorm(ctx, x, `${h}.ln_1`), `${h}.attn.c_attn`);
    const e = config.hiddenSize;
    const [q, k, v] = g.node("Split", [qkv, g.ints([e, e, e])], { axis: { i: 2 } }, 3);
    const n = config.numHeads;
    const out = attention(ctx, i, heads(ctx, q!, n), heads(ctx, k!, n), heads(ctx, v!, n));
    x = g.op("Add", [x, conv1d(ctx, out, `${h}.attn.c_proj`)]);
    const inner = conv1d(ctx, layerNorm(ctx, x, `${h}.ln_2`), `${h}.mlp.c_fc`);
    x = g.op("Add", [x, conv1d(ctx, geluNew(g, inner), `${h}.mlp.c_proj`)]);
  }
  return layerNorm(ctx, x, "transformer.ln_f");
}

function geluNew(g: OnnxGraph, x: string): string {
  const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
  const inner = g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715)])]);
  const t = g.op("Tanh", [g.op("Mul", [inner, g.scalar(Math.sqrt(2 / Math.PI))])]);
  return g.op("Mul", [g.op("Mul", [x, g.scalar(0.5)]), g.op("Add", [t, g.scalar(1)])]);
}

function ropeTables(ctx: Context): void {
  const { g, config } = ctx;
  const inverse = ropeInverseFrequencies(config.headDim, config.ropeTheta);
  const inv = g.floats("rope_inverse_frequencies", [inverse.length], inverse);
  const positions = g.op("Unsqueeze", [
    g.op("Cast", ["position_ids"], { to: { i: 1 } }),
    g.ints([
      2,
    ]),
  ]); // [b, t, 1]
  const freqs = g.op("Mul", [positions, inv]); // [b, t, d/2]
  const angles = g.op("Unsqueeze", [
    g.op("Concat", [freqs, freqs], { axis: { i: -1 } }),
    g.ints([1]),
  ]); // [b, 1, t, d]
  ctx.cos = g.op("Cos", [angles]);
  ctx.sin = g.op("Sin", [angles]);
}

/** Llama from token ids to final-norm hidden states. */
function llamaGraph(ctx: Context): string {
  const { g, config } = ctx;
  ropeTables(ctx);
  let x = g.op("Gather", [weight(ctx, "model.embed_tokens.weight"), "input_ids"]); // [b, t, e]
  for (let i = 0; i < config.numLayers; i++) {
    const l = `model.layers.${i}`;
    const a = `${l}.self_attn`;
    const normed = rmsNorm(ctx, x, `${l}.input_layernorm.weight`);
    const q = rope(ctx, heads(ctx, linear(ctx, normed, `${a}.q_proj`), config.numHeads));
    const k = rope(ctx, heads(ctx, linear(ctx, normed, `${a}.k_proj`), config.numKvHeads));
    const v = heads(ctx, linear(ctx, normed, `${a}.v_proj`), config.numKvHeads);
    x = g.op("Add", [x, linear(ctx, attention(ctx, i, q, k, v), `${a}.o_proj`)]);
    const normed2 = rmsNorm(ctx, x, `${l}.post_attention_layernorm.weight`);
    const gate = linear(ctx, normed2, `${l}.mlp.gate_proj`);
    const silu = g.op("Mul", [gate, g.op("Sigmoid", [gate])]);
    const inner = g.op("Mul", [silu, linear(ctx, normed2, `${l}.mlp.up_proj`)]);
    x = g.op("Add", [x, linear(ctx, inner, `${l}.mlp.down_proj`)]);
  }
  return rmsNorm(ctx, x, "model.norm.weight");
}

/** Builds the ONNX graph of a model; float initializers go to `external` when given. */
export function buildOnnxModel(model: CausalLm, external?: ExternalData): Uint8Array {
  const config = model.config;
  const g = new OnnxGraph(external);
  g.input("input_ids", "int64", ["batch_size", "sequence_length"]);
  g.input("attention_mask", "int64", ["batch_size", "total_sequence_length"]);
  g.input("position_ids", "int64", ["batch_size", "sequence_length"]);
  const cacheDims = ["batch_size", config.numKvHeads, "past_sequence_length", config.headDim];
  const presentDims = ["batch_size", config.numKvHeads, "total_sequence_length", config.headDim];
  for (let i = 0; i < config.numLayers; i++) {
    for (const part of ["key", "value"]) {
      g.input(`past_key_values.${i}.${part}`, "float", cacheDims);
    }
  }
  g.output("logits", "float", ["batch_size", "sequence_length", config.vocabSize]);
  for (let i = 0; i < config.numLayers; i++) {
    for (const part of ["key", "value"]) g.output(`present.${i}.${part}`, "float", presentDims);
  }
  const ctx: Context = {
    g,
    config,
    weights: model.toTensors(),
    added: new Set(),
    bias: attentionBias(g),
  };
  const hidden = config.architecture === "gpt2" ? gpt2Graph(ctx) : llamaGraph(ctx);
  const output = weight(ctx, ARCHITECTURES[config.architecture].outputWeight(config));
  const transposed = g.op("Transpose", [output], { perm: { ints: [1, 0] } });
  g.node("MatMul", [hidden, transposed], {}, ["logits"]);
  return g.build(`ppocoder-${config.modelType}`, ONNX_OPSET);
}

/** The `genai_config.json` of an exported model (the schema of `shared/models`). */
export function genaiConfig(config: ModelConfig, filename = "model.onnx") {
  return {
    model: {
      bos_token_id: config.bosTokenId,
      context_length: config.maxPositions,
      decoder: {
        filename,
        head_size: config.headDim,
        hidden_size: config.hiddenSize,
        inputs: {
          input_ids: "input_ids",
          attention_mask: "attention_mask",
          position_ids: "position_ids",
          past_key_names: "past_key_values.%d.key",
          past_value_names: "past_key_values.%d.value",
        },
        outputs: {
          logits: "logits",
          present_key_names: "present.%d.key",
          present_value_names: "present.%d.value",
        },
        num_attention_heads: config.numHeads,
        num_hidden_layers: config.numLayers,
        num_key_value_heads: config.numKvHeads,
      },
      eos_token_id: config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds,
      pad_token_id: config.padTokenId ?? config.eosTokenIds[0] ?? 0,
      type: config.modelType,
      vocab_size: config.vocabSize,
    },
  };
}

/**
 * Writes `dir/model.onnx` (and `model.onnx.data` when external), `genai_config.json`,
 * `config.json` and the tokenizer files. Returns the model file's path.
 */
export async function exportOnnx(
  model: CausalLm,
  dir: string,
  options: ExportOnnxOptions = {},
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const useExternal = options.externalData ?? model.size * 4 > 2 ** 30;
  const external: ExternalData | undefined = useExternal
    ? { location: "model.onnx.data", chunks: [], offset: 0 }
    : undefined;
  const bytes = buildOnnxModel(model, external);
  const path = join(dir, "model.onnx");
  if (external) {
    const file = await Deno.open(`${path}.data.tmp`, { write: true, create: true, truncate: true });
    try {
      for (const chunk of external.chunks) {
        for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
      }
    } finally {
      file.close();
    }
    await Deno.rename(`${path}.data.tmp`, `${path}.data`);
  }
  await writeAtomic(path, bytes);
  await writeAtomic(
    join(dir, "genai_config.json"),
    JSON.stringify(genaiConfig(model.config), null, 2) + "\n",
  );
  await writeAtomic(join(dir, "config.json"), JSON.stringify(model.config.raw, null, 2) + "\n");
  await copyTokenizerFiles(options.tokenizerFrom, dir);
  return path;
}
