/**
 * A causal language model on TensorFlow.js whose weights are `tf.Variable`s named as in Hugging
 * Face checkpoints. {@linkcode CausalLm.forward} runs with a key/value cache for generation;
 * {@linkcode CausalLm.score} is the full pass PPO needs: per-token log-probabilities, entropy and
 * the last hidden states.
 *
 * Memory: the methods that return tensors allocate them and leave their release to the caller,
 * who wraps calls in `tf.tidy` (or disposes what is returned); intermediate tensors are freed
 * inside. Variables live until {@linkcode CausalLm.dispose}.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import type { ArchitectureImpl, ParamSpec } from "./_architecture.ts";
import { attentionBias, type KvCache, type ParamLookup, positionIds } from "./_layers.ts";
import type { Architecture, ModelConfig } from "./config.ts";
import { gpt2 } from "./gpt2.ts";
import { llama } from "./llama.ts";
import type { TensorMap } from "./safetensors.ts";

export type { KvCache, LayerCache } from "./_layers.ts";

/** The forward pass of each architecture. */
export const ARCHITECTURES = { gpt2, llama } as const satisfies Record<
  Architecture,
  ArchitectureImpl
>;

/** Inputs of {@linkcode CausalLm.forward}. */
export interface ForwardInput {
  /** Token ids `[b, t]` (int32). */
  readonly inputIds: tf.Tensor2D;
  /**
   * 1 for real tokens and 0 for padding, `[b, past + t]`: the cached steps and the new ones.
   * Left padding is expected. @default all ones
   */
  readonly attentionMask?: tf.Tensor2D;
  /** Positions `[b, t]`. @default the count of real tokens before each step */
  readonly positionIds?: tf.Tensor2D;
  /** The cache returned by the previous call. */
  readonly cache?: KvCache;
}

/** Outputs of {@linkcode CausalLm.forward}. */
export interface ForwardOutput {
  /** `[b, t, vocab]`. */
  readonly logits: tf.Tensor3D;
  /** Hidden states after the final norm, `[b, t, hidden]`. */
  readonly hidden: tf.Tensor3D;
  /** Keys and values of the cached steps and the new ones. */
  readonly cache: KvCache;
}

/** Outputs of {@linkcode CausalLm.score}. */
export interface TokenScores {
  /** `log p(x[t] | x[<t])` for `t = 1 .. T-1`, `[b, T-1]`. */
  readonly logprobs: tf.Tensor2D;
  /** Entropy of the distribution over `x[t]`, for `t = 1 .. T-1`, `[b, T-1]`. */
  readonly entropy: tf.Tensor2D;
  /** Hidden states after the final norm, `[b, T, hidden]`. */
  readonly hidden: tf.Tensor3D;
  /** `[b, T, vocab]`. */
  readonly logits: tf.Tensor3D;
}

/** Options for building a model. */
export interface ModelOptions {
  /** Whether the optimiser may change the weights. @default true */
  readonly trainable?: boolean;
}

/** Options for {@linkcode CausalLm.random}. */
export interface RandomModelOptions extends ModelOptions {
  /** @default 0 */
  readonly seed?: number;
}

function initial(spec: ParamSpec, seed: number): tf.Tensor {
  if (spec.init === "zeros") return tf.zeros(spec.shape as number[]);
  if (spec.init === "ones") return tf.ones(spec.shape as number[]);
  return tf.randomNormal(spec.shape as number[], 0, spec.init.normal, "float32", tfSeed(seed));
}

/** TensorFlow.js takes a seed of 0 as none (`Math.random()`): 0 becomes -1, a fixed seed. */
export function tfSeed(seed: number): number {
  return seed === 0 ? -1 : seed;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A GPT-2 or Llama-family causal language model. */
export class CausalLm {
  readonly config: ModelConfig;
  readonly #params: Map<string, tf.Variable>;
  readonly #lookup: ParamLookup;

  /** Wraps variables named as {@linkcode ARCHITECTURES}`[arch].parameters(config)` lists. */
  constructor(config: ModelConfig, params: Map<string, tf.Variable>) {
    const missing = ARCHITECTURES[config.architecture].parameters(config)
      .filter((spec) => !params.has(spec.name)).map((spec) => spec.name);
    if (missing.length > 0) {
      throw new RangeError(
        `Cannot build a ${config.modelType} as parameters are missing: ${missing.join(", ")}`,
      );
    }
    this.config = config;
    this.#params = params;
    const lookup = (name: string) => {
      const value = params.get(name);
      if (!value) throw new RangeError(`Cannot find parameter "${name}"`);
      return value;
    };
    this.#lookup = Object.assign(lookup, { has: (name: string) => params.has(name) });
  }

  /** A randomly initialised model (the initialisation `transformers` uses). */
  static random(config: ModelConfig, options: RandomModelOptions = {}): CausalLm {
    const seed = options.seed ?? 0;
    const params = new Map<string, tf.Variable>();
    for (const [i, spec] of ARCHITECTURES[config.architecture].parameters(config).entries()) {
      const value = initial(spec, seed * 100_003 + i);
      params.set(spec.name, tf.variable(value, options.trainable ?? true, undefined, "float32"));
      value.dispose();
    }
    return new CausalLm(config, params);
  }

  /**
   * A model from Hugging Face tensors. Unknown names and wrong shapes are errors; buffers that
   * checkpoints carry (GPT-2's attention masks, Llama's `inv_freq`) and a tied `lm_head.weight`
   * are skipped.
   */
  static fromTensors(config: ModelConfig, tensors: TensorMap, options: ModelOptions = {}) {
    const arch = ARCHITECTURES[config.architecture];
    const specs = new Map(arch.parameters(config).map((spec) => [spec.name, spec]));
    const params = new Map<string, tf.Variable>();
    const unexpected: string[] = [];
    try {
      for (const [original, tensor] of tensors) {
        const name = arch.canonicalName(original);
        if (name === null) continue;
        const spec = specs.get(name);
        if (!spec) {
          if (name === "lm_head.weight" && config.tieWordEmbeddings) continue;
          unexpected.push(original);
          continue;
        }
        if (!sameShape(spec.shape, tensor.shape)) {
          throw new RangeError(
            `Cannot load parameter "${original}" as its shape must be [${spec.shape}]: current value is [${tensor.shape}]`,
          );
        }
        const value = tf.tensor(tensor.data, tensor.shape as number[], "float32");
        params.set(name, tf.variable(value, options.trainable ?? true));
        value.dispose();
      }
      if (unexpected.length > 0) {
        throw new RangeError(
          `Cannot load a ${config.modelType} as parameters are unexpected: ${
            unexpected.join(", ")
          }`,
        );
      }
      return new CausalLm(config, params);
    } catch (error) {
      for (const variable of params.values()) variable.dispose();
      throw error;
    }
  }

  /** The weights, by Hugging Face name. */
  get variables(): ReadonlyMap<string, tf.Variable> {
    return this.#params;
  }

  /** Parameter count. */
  get size(): number {
    let total = 0;
    for (const variable of this.#params.values()) total += variable.size;
    return total;
  }

  /** A deep copy: new variables, nothing shared. The frozen PPO reference is `copy({trainable: false})`. */
  copy(options: ModelOptions = {}): CausalLm {
    const params = new Map<string, tf.Variable>();
    for (const [name, variable] of this.#params) {
      // tf.variable(tensor) and clone() share the backend buffer; a copy through JS does not.
      const value = tf.tensor(variable.dataSync(), variable.shape, "float32");
      params.set(name, tf.variable(value, options.trainable ?? variable.trainable));
      value.dispose();
    }
    return new CausalLm(this.config, params);
  }

  /** Sets every weight to `trainable`. */
  setTrainable(trainable: boolean): void {
    for (const variable of this.#params.values()) variable.trainable = trainable;
  }

  /** Logits, hidden states and the grown cache for new tokens. */
  forward(input: ForwardInput): ForwardOutput {
    const { hidden, cache } = this.hiddenStates(input);
    return { logits: this.logits(hidden), hidden, cache };
  }

  /**
   * Final-norm hidden states `[b, t, hidden]` and the grown cache, without the logits: PPO's
   * scoring passes take logits only at the response positions, which saves most of the memory.
   */
  hiddenStates(input: ForwardInput): Omit<ForwardOutput, "logits"> {
    const [b, t] = input.inputIds.shape;
    const past = input.cache?.[0]?.key.shape[2] ?? 0;
    const mask = input.attentionMask ?? tf.ones([b, past + t], "int32");
    if (mask.shape[1] !== past + t) {
      throw new RangeError(
        `Cannot run the forward pass as the attention mask must cover ${past} cached and ${t} new steps: current width is ${
          mask.shape[1]
        }`,
      );
    }
    if (this.config.architecture === "gpt2" && past + t > this.config.maxPositions) {
      throw new RangeError(
        `Cannot run GPT-2 on ${
          past + t
        } steps as its position table must cover them: current "n_positions" is ${this.config.maxPositions}`,
      );
    }
    const positions = input.positionIds ?? positionIds(mask as tf.Tensor2D, t);
    const inputIds = input.inputIds.dtype === "int32"
      ? input.inputIds
      : input.inputIds.cast("int32") as tf.Tensor2D;
    const { hidden, cache } = ARCHITECTURES[this.config.architecture].forward(
      this.#lookup,
      this.config,
      {
        inputIds,
        positions,
        bias: attentionBias(mask as tf.Tensor2D, t),
        ...(input.cache ? { cache: input.cache } : {}),
      },
    );
    return { hidden, cache };
  }

  /** Logits `[b, t, vocab]` from final hidden states `[b, t, hidden]`. */
  logits(hidden: tf.Tensor3D): tf.Tensor3D {
    const [b, t, e] = hidden.shape;
    const weight = this.#lookup(ARCHITECTURES[this.config.architecture].outputWeight(this.config));
    const logits = tf.matMul(hidden.reshape([b * t, e]), weight as tf.Tensor2D, false, true);
    return logits.reshape([b, t, this.config.vocabSize]);
  }

  /**
   * The full pass over whole sequences `[b, T]`: the log-probability of each token after the
   * first given the ones before, the entropy of each of those distributions, and the hidden
   * states. Differentiable with respect to the weights.
   */
  score(inputIds: tf.Tensor2D, options: { attentionMask?: tf.Tensor2D } = {}): TokenScores {
    const [b, t] = inputIds.shape;
    const v = this.config.vocabSize;
    const { logits, hidden } = this.forward({
      inputIds,
      ...(options.attentionMask ? { attentionMask: options.attentionMask } : {}),
    });
    const logp = tf.logSoftmax(logits.slice([0, 0, 0], [b, t - 1, v])); // [b, T-1, v]
    const flat = logp.reshape([b * (t - 1) * v]);
    // Gather each target's entry from the flattened [b*(T-1), v] table: row * v + token.
    const targets = inputIds.slice([0, 1], [b, t - 1]).cast("int32").reshape([b * (t - 1)]);
    const rows = tf.range(0, b * (t - 1) * v, v, "int32");
    const logprobs = tf.gather(flat, rows.add(targets)).reshape([b, t - 1]) as tf.Tensor2D;
    const entropy = logp.exp().mul(logp).sum(-1).neg() as tf.Tensor2D; // [b, T-1]
    return { logprobs, entropy, hidden, logits };
  }

  /** The weights as Hugging Face tensors, for saving. */
  toTensors(): TensorMap {
    const out: TensorMap = new Map();
    for (const [name, variable] of this.#params) {
      out.set(name, { shape: variable.shape, data: variable.dataSync() as Float32Array });
    }
    return out;
  }

  /** Frees every variable. */
  dispose(): void {
    for (const variable of this.#params.values()) variable.dispose();
    this.#params.clear();
  }
}
