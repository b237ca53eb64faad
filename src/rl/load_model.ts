/**
 * A starting policy from either kind of model folder training takes: a Hugging Face folder
 * (`config.json` and safetensors, as `savePolicy` writes), or an onnxruntime-genai Llama export
 * (`genai_config.json`, `model.onnx`, as in `../shared/models`), whose weights are read from the
 * ONNX initializers and renamed to Hugging Face's.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { type LoadedPolicy, loadPolicy } from "./checkpoint.ts";
import { parseConfig } from "./config.ts";
import { CausalLm } from "./model.ts";
import { llamaFromGenaiOnnx, readOnnxInitializers } from "./onnx_import.ts";
import { ActorCritic } from "./policy.ts";
import { loadTokenizer } from "./tokenizer.ts";
import { ValueHead } from "./value_head.ts";

/** What {@linkcode loadTrainablePolicy} returns: a policy with its tokenizer and config JSON. */
export interface TrainablePolicy extends LoadedPolicy {
  readonly tokenizer: NonNullable<LoadedPolicy["tokenizer"]>;
  /** Where the model came from: `hf` or `onnx-genai`. */
  readonly format: "hf" | "onnx-genai";
}

/** Loads `dir` as a trainable policy; its tokenizer is required. */
export async function loadTrainablePolicy(
  dir: string,
  options: { valueHeadSeed?: number; trainable?: boolean } = {},
): Promise<TrainablePolicy> {
  if (existsSync(join(dir, "config.json")) && hasSafetensors(dir)) {
    const loaded = await loadPolicy(dir, options);
    if (loaded.tokenizer === undefined) {
      throw new Deno.errors.NotFound(
        `Cannot train the model in "${dir}" as it has no tokenizer.json: copy the model's tokenizer.json there`,
      );
    }
    return { ...loaded, tokenizer: loaded.tokenizer, format: "hf" };
  }
  if (existsSync(join(dir, "genai_config.json"))) return await fromGenaiFolder(dir, options);
  throw new Deno.errors.NotFound(
    `Cannot load a model from "${dir}" as it holds neither config.json with safetensors nor genai_config.json: pass a Hugging Face folder or an onnxruntime-genai export`,
  );
}

function hasSafetensors(dir: string): boolean {
  return existsSync(join(dir, "model.safetensors")) ||
    existsSync(join(dir, "model.safetensors.index.json"));
}

interface GenaiModel {
  type?: string;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number;
  vocab_size?: number;
  context_length?: number;
  decoder?: {
    filename?: string;
    head_size?: number;
    hidden_size?: number;
    num_attention_heads?: number;
    num_key_value_heads?: number;
    num_hidden_layers?: number;
  };
}

async function fromGenaiFolder(
  dir: string,
  options: { valueHeadSeed?: number; trainable?: boolean },
): Promise<TrainablePolicy> {
  const genai = JSON.parse(await Deno.readTextFile(join(dir, "genai_config.json"))).model as
    | GenaiModel
    | undefined;
  if (genai?.type !== "llama") {
    throw new RangeError(
      `Cannot train the ONNX model in "${dir}" as only onnxruntime-genai Llama exports are read: current type is ${
        JSON.stringify(genai?.type)
      }: convert it to a Hugging Face folder`,
    );
  }
  const decoder = genai.decoder ?? {};
  const layers = decoder.num_hidden_layers ?? 0;
  const tensors = llamaFromGenaiOnnx(
    await readOnnxInitializers(join(dir, decoder.filename ?? "model.onnx")),
    layers,
  );
  const up = tensors.get("model.layers.0.mlp.up_proj.weight");
  // genai_config.json does not carry the norm epsilon or rotary base: Llama's defaults are used.
  const config = parseConfig({
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: decoder.hidden_size,
    intermediate_size: up?.shape[0],
    num_attention_heads: decoder.num_attention_heads,
    num_key_value_heads: decoder.num_key_value_heads,
    num_hidden_layers: layers,
    head_dim: decoder.head_size,
    vocab_size: genai.vocab_size,
    max_position_embeddings: genai.context_length ?? 2048,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    bos_token_id: genai.bos_token_id,
    eos_token_id: genai.eos_token_id,
    pad_token_id: genai.pad_token_id,
    hidden_act: "silu",
    torch_dtype: "float32",
  });
  const model = CausalLm.fromTensors(config, tensors, { trainable: options.trainable ?? true });
  const valueHead = ValueHead.random(config.hiddenSize, { seed: options.valueHeadSeed ?? 0 });
  return {
    policy: new ActorCritic(model, valueHead),
    config,
    tokenizer: await loadTokenizer(dir),
    valueHeadLoaded: false,
    format: "onnx-genai",
  };
}
