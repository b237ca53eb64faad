/**
 * Model configuration read from a Hugging Face `config.json`: GPT-2, and the Llama family (Llama,
 * Mistral, and Qwen2, which is Llama with biases on the query, key and value projections).
 *
 * @module
 */

/** The two network shapes implemented. */
export type Architecture = "gpt2" | "llama";

/** Hugging Face `model_type`s read, and the architecture each one runs on. */
export const MODEL_TYPES = {
  gpt2: "gpt2",
  llama: "llama",
  mistral: "llama",
  qwen2: "llama",
} as const satisfies Record<string, Architecture>;

/** A `model_type` this module reads. */
export type ModelType = keyof typeof MODEL_TYPES;

/** Everything the forward pass needs, under one naming for both architectures. */
export interface ModelConfig {
  readonly architecture: Architecture;
  readonly modelType: ModelType;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Key/value heads: fewer than `numHeads` for grouped-query attention. */
  readonly numKvHeads: number;
  readonly headDim: number;
  /** Width of the MLP's inner layer. */
  readonly intermediateSize: number;
  /** Longest sequence the position embedding (GPT-2) or rotary table covers. */
  readonly maxPositions: number;
  /** LayerNorm (GPT-2) or RMSNorm (Llama) epsilon. */
  readonly normEps: number;
  /** Rotary base (Llama). */
  readonly ropeTheta: number;
  /** Biases on the q, k and v projections (GPT-2 and Qwen2: yes; Llama: `attention_bias`). */
  readonly qkvBias: boolean;
  /** Bias on the attention output projection (GPT-2: yes; Llama: `attention_bias`). */
  readonly outputBias: boolean;
  /** Biases in the MLP (GPT-2: yes; Llama: `mlp_bias`). */
  readonly mlpBias: boolean;
  /** Whether the output projection is the token embedding matrix. */
  readonly tieWordEmbeddings: boolean;
  /** Standard deviation of the normal initialisation of a random model. */
  readonly initializerRange: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
  /** The `config.json` as read, written back unchanged on save. */
  readonly raw: Readonly<Record<string, unknown>>;
}

function num(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const value = raw[key] ?? fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(
      `Cannot read config.json as "${key}" must be a number: current value is ${
        JSON.stringify(raw[key])
      }`,
    );
  }
  return value;
}

function optionalId(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}

function ids(value: unknown): number[] {
  if (typeof value === "number") return [value];
  return Array.isArray(value) ? value.filter((v): v is number => typeof v === "number") : [];
}

function common(raw: Record<string, unknown>) {
  return {
    raw,
    bosTokenId: optionalId(raw.bos_token_id),
    eosTokenIds: ids(raw.eos_token_id),
    padTokenId: optionalId(raw.pad_token_id),
    initializerRange: num(raw, "initializer_range", 0.02),
  };
}

function gpt2Config(raw: Record<string, unknown>): ModelConfig {
  const activation = raw.activation_function ?? "gelu_new";
  if (activation !== "gelu_new") {
    throw new RangeError(
      `Cannot build a GPT-2 as "activation_function" must be "gelu_new": current value is ${
        JSON.stringify(activation)
      }`,
    );
  }
  for (const flag of ["scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"]) {
    if (raw[flag] === true) {
      throw new RangeError(`Cannot build a GPT-2 as "${flag}" is not supported: set it to false`);
    }
  }
  const hiddenSize = num(raw, "n_embd");
  const numHeads = num(raw, "n_head");
  return {
    ...common(raw),
    architecture: "gpt2",
    modelType: "gpt2",
    vocabSize: num(raw, "vocab_size"),
    hiddenSize,
    numLayers: num(raw, "n_layer"),
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize: typeof raw.n_inner === "number" ? raw.n_inner : 4 * hiddenSize,
    maxPositions: num(raw, "n_positions"),
    normEps: num(raw, "layer_norm_epsilon", 1e-5),
    ropeTheta: 0,
    qkvBias: true,
    outputBias: true,
    mlpBias: true,
    tieWordEmbeddings: raw.tie_word_embeddings !== false,
  };
}

/** Rotary base from `rope_theta` (transformers 4) or `rope_parameters` (transformers 5). */
function ropeTheta(raw: Record<string, unknown>, modelType: ModelType): number {
  const scaling = (raw.rope_parameters ?? raw.rope_scaling ?? null) as
    | Record<string, unknown>
    | null;
  const kind = scaling?.rope_type ?? scaling?.type ?? "default";
  if (kind !== "default") {
    throw new RangeError(
      `Cannot build a ${modelType} as only the default rotary embedding is supported: current "rope_type" is ${
        JSON.stringify(kind)
      }`,
    );
  }
  return num({ rope_theta: scaling?.rope_theta ?? raw.rope_theta }, "rope_theta", 10000);
}

function llamaConfig(raw: Record<string, unknown>, modelType: ModelType): ModelConfig {
  const activation = raw.hidden_act ?? "silu";
  if (activation !== "silu") {
    throw new RangeError(
      `Cannot build a ${modelType} as "hidden_act" must be "silu": current value is ${
        JSON.stringify(activation)
      }`,
    );
  }
  const hiddenSize = num(raw, "hidden_size");
  const numHeads = num(raw, "num_attention_heads");
  const numKvHeads = num(raw, "num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new RangeError(
      `Cannot build a ${modelType} as "num_attention_heads" must be a multiple of "num_key_value_heads": current values are ${numHeads} and ${numKvHeads}`,
    );
  }
  const attentionBias = raw.attention_bias === true;
  return {
    ...common(raw),
    architecture: "llama",
    modelType,
    vocabSize: num(raw, "vocab_size"),
    hiddenSize,
    numLayers: num(raw, "num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim: typeof raw.head_dim === "number" ? raw.head_dim : hiddenSize / numHeads,
    intermediateSize: num(raw, "intermediate_size"),
    maxPositions: num(raw, "max_position_embeddings", 2048),
    normEps: num(raw, "rms_norm_eps", 1e-6),
    ropeTheta: ropeTheta(raw, modelType),
    qkvBias: modelType === "qwen2" || attentionBias,
    outputBias: attentionBias,
    mlpBias: raw.mlp_bias === true,
    tieWordEmbeddings: raw.tie_word_embeddings === true,
  };
}

/** Reads a Hugging Face `config.json` object. */
export function parseConfig(json: unknown): ModelConfig {
  if (typeof json !== "object" || json === null) {
    throw new TypeError(`Cannot read config.json as it must be a JSON object`);
  }
  const raw = json as Record<string, unknown>;
  const modelType = raw.model_type;
  if (typeof modelType !== "string" || !(modelType in MODEL_TYPES)) {
    throw new RangeError(
      `Cannot build a model as "model_type" must be one of ${
        Object.keys(MODEL_TYPES).join(", ")
      }: current value is ${JSON.stringify(modelType)}`,
    );
  }
  const type = modelType as ModelType;
  return MODEL_TYPES[type] === "gpt2" ? gpt2Config(raw) : llamaConfig(raw, type);
}

/** Reads `config.json` from a checkpoint folder. */
export async function readConfig(dir: string): Promise<ModelConfig> {
  return parseConfig(JSON.parse(await Deno.readTextFile(`${dir}/config.json`)));
}
