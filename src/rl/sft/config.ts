/**
 * Every knob of supervised fine-tuning in one object, with its default and where it comes from
 * (nanoGPT's `train.py`: AdamW with betas 0.9/0.95, decoupled weight decay 0.1 on matrices only,
 * linear warm-up then cosine decay to a tenth of the peak, gradient clipping at 1), and the
 * learning-rate schedule. Model sizes for training from scratch are named presets of Hugging
 * Face `config.json` objects.
 *
 * @module
 */

/** How the policy starts: random weights, or a model folder's. */
export type SftInit = "random" | "pretrained";

/** The SFT configuration. */
export interface SftConfig {
  /** Optimizer steps in all. @default 1000 */
  readonly steps: number;
  /** Rows (sequences) per optimizer step. @default 16 */
  readonly batchSize: number;
  /** Rows per forward/backward pass; the step's gradients are their sum. @default 8 */
  readonly microBatch: number;
  /** Tokens per row: packed documents are cut to this length, pairs truncated to it. @default 256 */
  readonly seqLen: number;
  /** Peak learning rate (nanoGPT's small models: 1e-3). @default 1e-3 */
  readonly learningRate: number;
  /** The schedule ends at `learningRate * minLrRatio` (nanoGPT: a tenth). @default 0.1 */
  readonly minLrRatio: number;
  /** Linear warm-up steps from 0 to the peak. @default 100 */
  readonly warmupSteps: number;
  /** Decoupled weight decay (AdamW) on matrices; norms, biases and embeddings: none. @default 0.1 */
  readonly weightDecay: number;
  readonly adamBeta1: number;
  /** nanoGPT's 0.95 rather than PyTorch's 0.999: steadier with small batches. @default 0.95 */
  readonly adamBeta2: number;
  readonly adamEpsilon: number;
  /** Largest global gradient norm. @default 1 */
  readonly maxGradNorm: number;
  /** Held-out loss every N steps (and at the end). @default 100 */
  readonly evalEvery: number;
  /** Held-out rows scored each time, at most. @default 64 */
  readonly evalRows: number;
  /** Checkpoint every N steps (and at the end). @default 200 */
  readonly checkpointEvery: number;
  /** Progress line every N steps. @default 10 */
  readonly logEvery: number;
  /** Share of documents (by a hash of their id) held out for the loss. @default 0.02 */
  readonly valFraction: number;
  /** Tokenizer vocabulary when one is trained (from scratch). @default 4096 */
  readonly vocabSize: number;
  /** Bytes of corpus text the tokenizer is trained on, at most. @default 20000000 */
  readonly tokenizerBytes: number;
  /** Seed of initialisation and data order. @default 0 */
  readonly seed: number;
  readonly init: SftInit;
  /** The model folder (pretrained), or the preset or config file (random). */
  readonly model: string;
  /** The `--corpus` values, in order. */
  readonly corpora: readonly string[];
  /** What was held out, for the record and the resume check. */
  readonly heldOut: string | null;
}

/** The defaults (see each field); `model`, `corpora` and `init` have none. */
export const DEFAULT_SFT_CONFIG = {
  steps: 1000,
  batchSize: 16,
  microBatch: 8,
  seqLen: 256,
  learningRate: 1e-3,
  minLrRatio: 0.1,
  warmupSteps: 100,
  weightDecay: 0.1,
  adamBeta1: 0.9,
  adamBeta2: 0.95,
  adamEpsilon: 1e-8,
  maxGradNorm: 1,
  evalEvery: 100,
  evalRows: 64,
  checkpointEvery: 200,
  logEvery: 10,
  valFraction: 0.02,
  vocabSize: 4096,
  tokenizerBytes: 20_000_000,
  seed: 0,
  heldOut: null,
} as const satisfies Partial<SftConfig>;

/** Fields that may change between a run and its resumption (they do not change what is learnt). */
export const SFT_RESUMABLE_FIELDS: readonly (keyof SftConfig)[] = [
  "evalEvery",
  "checkpointEvery",
  "logEvery",
  "microBatch",
];

const POSITIVE_INTEGERS = [
  "steps",
  "batchSize",
  "microBatch",
  "seqLen",
  "evalEvery",
  "evalRows",
  "checkpointEvery",
  "logEvery",
  "vocabSize",
] as const;

/** The defaults with `fields`, checked. */
export function sftConfig(
  fields: Partial<SftConfig> & Pick<SftConfig, "init" | "model" | "corpora">,
): SftConfig {
  const config: SftConfig = { ...DEFAULT_SFT_CONFIG, ...fields };
  for (const field of POSITIVE_INTEGERS) {
    const value = config[field];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(
        `Cannot train as "${field}" must be a positive integer: current value is ${value}`,
      );
    }
  }
  if (config.seqLen < 2) {
    throw new RangeError(
      `Cannot train as "seqLen" must be at least 2: current value is ${config.seqLen}`,
    );
  }
  if (!(config.learningRate > 0) || !(config.minLrRatio >= 0 && config.minLrRatio <= 1)) {
    throw new RangeError(
      `Cannot train as "learningRate" must be > 0 and "minLrRatio" in [0, 1]: current values are ${config.learningRate}, ${config.minLrRatio}`,
    );
  }
  if (!(config.valFraction > 0 && config.valFraction < 1)) {
    throw new RangeError(
      `Cannot train as "valFraction" must be between 0 and 1: current value is ${config.valFraction}`,
    );
  }
  if (config.corpora.length === 0) {
    throw new RangeError(`Cannot train as no corpus was given: pass --corpus (see --help)`);
  }
  return config;
}

/** Fields whose values differ, as `field: old -> new`, ignoring {@linkcode SFT_RESUMABLE_FIELDS}. */
export function sftConfigDifferences(stored: SftConfig, current: SftConfig): string[] {
  const keys = new Set([...Object.keys(stored), ...Object.keys(current)]) as Set<keyof SftConfig>;
  return [...keys].filter((key) => !SFT_RESUMABLE_FIELDS.includes(key)).filter((key) =>
    JSON.stringify(stored[key]) !== JSON.stringify(current[key])
  ).map((key) => `${key}: ${JSON.stringify(stored[key])} -> ${JSON.stringify(current[key])}`);
}

/**
 * The learning rate of optimizer step `step` (1-based): linear warm-up to the peak over
 * `warmupSteps`, then half a cosine down to `learningRate * minLrRatio` at `steps`.
 */
export function learningRateAt(step: number, config: SftConfig): number {
  const peak = config.learningRate;
  const floor = peak * config.minLrRatio;
  if (step <= config.warmupSteps) return peak * step / config.warmupSteps;
  const span = Math.max(1, config.steps - config.warmupSteps);
  const progress = Math.min(1, (step - config.warmupSteps) / span);
  return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
}

/**
 * Model shapes for training from scratch, as Hugging Face `config.json` objects (`vocab_size`,
 * the special token ids from the tokenizer, and the context to at least `seqLen`).
 * Sizes are for a 4096-token vocabulary with tied embeddings.
 */
export const MODEL_PRESETS = {
  /** About 1.3M parameters: 4 layers of width 128 (this project's preparation run). */
  "llama-1m": llamaPreset(128, 4, 4, 352),
  /** About 4.6M parameters: 6 layers of width 256. */
  "llama-5m": llamaPreset(256, 6, 8, 688),
  /** About 11M parameters: 8 layers of width 384. */
  "llama-11m": llamaPreset(384, 8, 6, 1024),
  /** GPT-2 shape, about 4.3M parameters: 6 layers of width 256. */
  "gpt2-4m": {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    n_embd: 256,
    n_layer: 6,
    n_head: 8,
    n_inner: 1024,
    activation_function: "gelu_new",
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    n_positions: 1024,
    tie_word_embeddings: true,
  },
} as const satisfies Record<string, Record<string, unknown>>;

function llamaPreset(hidden: number, layers: number, heads: number, intermediate: number) {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: heads,
    hidden_act: "silu",
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    initializer_range: 0.02,
    // Rotary positions run past the training length; generation is capped here, not at seqLen.
    max_position_embeddings: 2048,
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
  } as const;
}

/**
 * A `config.json` object for a model trained from scratch: the preset or file `model`, with the
 * vocabulary, special ids and context length set.
 */
export async function randomModelConfig(
  model: string,
  options: { vocabSize: number; eosTokenId: number; seqLen: number },
): Promise<Record<string, unknown>> {
  const base: Record<string, unknown> = Object.hasOwn(MODEL_PRESETS, model)
    ? { ...MODEL_PRESETS[model as keyof typeof MODEL_PRESETS] }
    : await readConfigFile(model);
  const gpt2 = base.model_type === "gpt2";
  return {
    ...base,
    vocab_size: options.vocabSize,
    bos_token_id: options.eosTokenId,
    eos_token_id: options.eosTokenId,
    pad_token_id: options.eosTokenId,
    ...(gpt2 ? { n_positions: Math.max(Number(base.n_positions ?? 0), options.seqLen) } : {
      max_position_embeddings: Math.max(
        Number(base.max_position_embeddings ?? 0),
        options.seqLen,
      ),
    }),
    torch_dtype: "float32",
  };
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Deno.errors.NotFound(
      `Cannot build a model from "${path}" as it is neither a preset nor a config.json file: use one of ${
        Object.keys(MODEL_PRESETS).join(", ")
      } or a path to a Hugging Face config.json`,
    );
  }
}
