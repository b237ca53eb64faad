/**
 * Adam (Kingma and Ba, 2015) as PyTorch's `torch.optim.Adam` computes it, with the moments kept by
 * parameter name so that they are saved in checkpoints as safetensors and read back by name, and
 * global gradient-norm clipping (`torch.nn.utils.clip_grad_norm_`) before each step.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import type { TensorMap } from "../safetensors.ts";

/** Adam's settings. */
export interface AdamOptions {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Largest global gradient norm; 0 or Infinity: no clipping. */
  readonly maxGradNorm: number;
}

/** Adam over named variables. */
export class Adam {
  readonly options: AdamOptions;
  #step = 0;
  readonly #m = new Map<string, tf.Variable>();
  readonly #v = new Map<string, tf.Variable>();

  constructor(options: AdamOptions) {
    this.options = options;
  }

  /** Steps taken. */
  get steps(): number {
    return this.#step;
  }

  /**
   * One update of `variables` by `grads` (same names); gradients are clipped to the global norm
   * first. Returns the norm before clipping. Disposes nothing of the caller's. `learningRate`
   * overrides the options' for this step (a schedule).
   */
  apply(
    variables: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor>,
    learningRate = this.options.learningRate,
  ) {
    const { beta1, beta2, epsilon, maxGradNorm } = this.options;
    const lr = learningRate;
    const norm = globalNorm([...grads.values()]);
    const scale = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / (norm + 1e-6) : 1;
    this.#step++;
    const correction1 = 1 - beta1 ** this.#step;
    const correction2 = 1 - beta2 ** this.#step;
    for (const [name, grad] of grads) {
      const variable = variables.get(name);
      if (variable === undefined) throw new RangeError(`Cannot update "${name}": no such variable`);
      const m = this.#moment(this.#m, name, variable);
      const v = this.#moment(this.#v, name, variable);
      tf.tidy(() => {
        const g = grad.mul(scale);
        m.assign(m.mul(beta1).add(g.mul(1 - beta1)));
        v.assign(v.mul(beta2).add(g.square().mul(1 - beta2)));
        const denominator = v.div(correction2).sqrt().add(epsilon);
        variable.assign(variable.sub(m.div(correction1).div(denominator).mul(lr)));
      });
    }
    return norm;
  }

  #moment(moments: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let moment = moments.get(name);
    if (moment === undefined) {
      moment = tf.variable(tf.zerosLike(like), false);
      moments.set(name, moment);
    }
    return moment;
  }

  /** The state as tensors (`<name>.exp_avg`, `<name>.exp_avg_sq`, as PyTorch names them) and the step. */
  state(): { tensors: TensorMap; step: number } {
    const tensors: TensorMap = new Map();
    for (const [name, m] of this.#m) {
      tensors.set(`${name}.exp_avg`, { shape: m.shape, data: m.dataSync() as Float32Array });
      const v = this.#v.get(name)!;
      tensors.set(`${name}.exp_avg_sq`, { shape: v.shape, data: v.dataSync() as Float32Array });
    }
    return { tensors, step: this.#step };
  }

  /** Restores a {@linkcode Adam.state}. */
  load(tensors: TensorMap, step: number): void {
    this.dispose();
    this.#step = step;
    for (const [key, tensor] of tensors) {
      const match = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(key);
      if (match === null) throw new RangeError(`Cannot load optimizer state "${key}"`);
      const value = tf.tensor(tensor.data, tensor.shape as number[], "float32");
      (match[2] === "exp_avg" ? this.#m : this.#v).set(match[1]!, tf.variable(value, false));
      value.dispose();
    }
  }

  /** Frees the moments. */
  dispose(): void {
    for (const moment of [...this.#m.values(), ...this.#v.values()]) moment.dispose();
    this.#m.clear();
    this.#v.clear();
  }
}

/** `sqrt(sum of squares)` over every tensor. */
export function globalNorm(tensors: readonly tf.Tensor[]): number {
  return tf.tidy(() => {
    const squares = tensors.map((t) => t.square().sum());
    return squares.length === 0 ? 0 : tf.addN(squares).sqrt().dataSync()[0]!;
  });
}
