/**
 * The critic: a linear head on the policy's last hidden state, as PPOCoder's
 * `CodeT5HeadWithValueModel` builds it (`summary = nn.Linear(model_dim, 1)` after
 * `first_dropout = nn.Dropout(0.1)`, applied to the last decoder hidden state, i.e. after the
 * final norm). Initialisation is PyTorch's default for `nn.Linear`, which PPOCoder keeps:
 * weight and bias uniform in `[-1/sqrt(hidden), 1/sqrt(hidden)]`.
 *
 * Saved as `value_head.safetensors` beside `model.safetensors` with PyTorch's names
 * (`summary.weight` `[1, hidden]`, `summary.bias` `[1]`), so the language model's file stays one
 * that `transformers` loads unchanged.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import type { TensorMap } from "./safetensors.ts";

/** Options for {@linkcode ValueHead.random}. */
export interface ValueHeadOptions {
  /** @default 0 */
  readonly seed?: number;
  /** Dropout on the hidden states while training. @default 0.1 (PPOCoder) */
  readonly dropout?: number;
}

/** Options for {@linkcode ValueHead.values}. */
export interface ValuesOptions {
  /** Apply dropout. @default false */
  readonly training?: boolean;
  /** Seed of the dropout mask. */
  readonly seed?: number;
}

/** A linear value head `hidden -> 1`. */
export class ValueHead {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly dropout: number;

  constructor(weight: tf.Variable, bias: tf.Variable, dropout = 0.1) {
    this.weight = weight;
    this.bias = bias;
    this.dropout = dropout;
  }

  /** PyTorch's default `nn.Linear(hidden, 1)` initialisation. */
  static random(hiddenSize: number, options: ValueHeadOptions = {}): ValueHead {
    const bound = 1 / Math.sqrt(hiddenSize);
    const seed = options.seed ?? 0;
    // TensorFlow.js takes a seed of 0 as none (Math.random()): 0 becomes -1, a fixed seed.
    const w = tf.randomUniform([1, hiddenSize], -bound, bound, "float32", seed === 0 ? -1 : seed);
    const b = tf.randomUniform([1], -bound, bound, "float32", seed + 1);
    return new ValueHead(tf.variable(w), tf.variable(b), options.dropout ?? 0.1);
  }

  /** A head from `summary.weight` and `summary.bias`. */
  static fromTensors(tensors: TensorMap, hiddenSize: number, dropout = 0.1): ValueHead {
    const weight = tensors.get("summary.weight");
    const bias = tensors.get("summary.bias");
    if (!weight || !bias || weight.data.length !== hiddenSize || bias.data.length !== 1) {
      throw new RangeError(
        `Cannot load the value head as it must hold summary.weight [1, ${hiddenSize}] and summary.bias [1]: current names are ${
          [...tensors.keys()].join(", ")
        }`,
      );
    }
    return new ValueHead(
      tf.variable(tf.tensor2d(weight.data, [1, hiddenSize])),
      tf.variable(tf.tensor1d(bias.data)),
      dropout,
    );
  }

  /** Values `[b, t]` from hidden states `[b, t, hidden]`. */
  values(hidden: tf.Tensor3D, options: ValuesOptions = {}): tf.Tensor2D {
    const [b, t, e] = hidden.shape;
    const dropped = options.training && this.dropout > 0
      ? tf.dropout(hidden, this.dropout, undefined, options.seed)
      : hidden;
    const flat = tf.matMul(dropped.reshape([b * t, e]), this.weight, false, true); // [b*t, 1]
    return flat.add(this.bias).reshape([b, t]);
  }

  /** The head as PyTorch tensors. */
  toTensors(): TensorMap {
    return new Map([
      ["summary.weight", {
        shape: this.weight.shape,
        data: this.weight.dataSync() as Float32Array,
      }],
      ["summary.bias", { shape: this.bias.shape, data: this.bias.dataSync() as Float32Array }],
    ]);
  }

  /** Frees both variables. */
  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}
