/**
 * What each architecture file provides: its parameters (Hugging Face names, shapes, initial
 * values) and its forward pass over a {@linkcode ParamLookup}.
 *
 * @module
 */

import type * as tf from "@tensorflow/tfjs";
import type { KvCache, ParamLookup } from "./_layers.ts";
import type { ModelConfig } from "./config.ts";

/** How a parameter of a random model starts. */
export type ParamInit = "zeros" | "ones" | { readonly normal: number };

/** One parameter: its Hugging Face name, shape and initialisation. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: ParamInit;
}

/** What a forward pass reads besides the weights. */
export interface ArchitectureInput {
  /** Token ids `[b, t]`, int32. */
  readonly inputIds: tf.Tensor2D;
  /** Positions `[b, t]`, int32. */
  readonly positions: tf.Tensor2D;
  /** Additive attention bias `[b, 1, t, s]`. */
  readonly bias: tf.Tensor4D;
  readonly cache?: KvCache;
}

/** What a forward pass returns: final-norm hidden states `[b, t, e]` and the grown cache. */
export interface ArchitectureOutput {
  readonly hidden: tf.Tensor3D;
  readonly cache: KvCache;
}

/** One network shape. */
export interface ArchitectureImpl {
  parameters(config: ModelConfig): ParamSpec[];
  /** The name of the `[vocab, hidden]` matrix the logits are computed with. */
  outputWeight(config: ModelConfig): string;
  forward(p: ParamLookup, config: ModelConfig, input: ArchitectureInput): ArchitectureOutput;
  /**
   * Hugging Face names this architecture accepts for a parameter besides its own (GPT-2 weights
   * saved from `GPT2Model` lack the `transformer.` prefix), and names it ignores (buffers).
   */
  canonicalName(name: string): string | null;
}
