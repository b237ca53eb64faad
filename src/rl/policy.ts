/**
 * The actor-critic PPO trains: the language model (actor) and a value head on its last hidden
 * state (critic), plus the frozen reference copy that anchors the KL penalty.
 *
 * @module
 */

import type * as tf from "@tensorflow/tfjs";
import type { CausalLm, TokenScores } from "./model.ts";
import { ValueHead } from "./value_head.ts";

/** Options for {@linkcode ActorCritic.score}. */
export interface ScoreOptions {
  readonly attentionMask?: tf.Tensor2D;
  /** Dropout on the value head's input, as PPOCoder trains. @default false */
  readonly training?: boolean;
  /** Seed of the dropout mask. */
  readonly seed?: number;
}

/** {@linkcode TokenScores} plus the critic's values `[b, T]`. */
export interface ActorCriticScores extends TokenScores {
  readonly values: tf.Tensor2D;
}

/** A policy with its value head. */
export class ActorCritic {
  readonly model: CausalLm;
  readonly valueHead: ValueHead;

  constructor(model: CausalLm, valueHead?: ValueHead) {
    this.model = model;
    this.valueHead = valueHead ?? ValueHead.random(model.config.hiddenSize);
  }

  /** Log-probabilities, entropy, hidden states and values in one full pass. */
  score(inputIds: tf.Tensor2D, options: ScoreOptions = {}): ActorCriticScores {
    const scores = this.model.score(
      inputIds,
      options.attentionMask ? { attentionMask: options.attentionMask } : {},
    );
    const values = this.valueHead.values(scores.hidden, {
      training: options.training ?? false,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    });
    return { ...scores, values };
  }

  /** Every trainable variable: the model's and the value head's. */
  trainableVariables(): tf.Variable[] {
    const model = [...this.model.variables.values()].filter((v) => v.trainable);
    return [...model, this.valueHead.weight, this.valueHead.bias];
  }

  /** A frozen deep copy of the language model: the PPO reference. It shares no variable. */
  reference(): CausalLm {
    return this.model.copy({ trainable: false });
  }

  /** Frees the model and the value head. */
  dispose(): void {
    this.model.dispose();
    this.valueHead.dispose();
  }
}
