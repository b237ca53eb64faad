/**
 * Llama as `transformers`' `LlamaForCausalLM`: RMSNorm, rotary positions, SwiGLU MLP and
 * grouped-query attention. With biases on q, k and v it is Qwen2 (`Qwen2ForCausalLM`).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import type { ArchitectureImpl, ParamSpec } from "./_architecture.ts";
import {
  applyRope,
  attend,
  type LayerCache,
  linear,
  rmsNorm,
  ropeInverseFrequencies,
  ropeTables,
  splitHeads,
} from "./_layers.ts";
import type { ModelConfig } from "./config.ts";

function linearSpecs(
  name: string,
  shape: [number, number],
  bias: boolean,
  std: number,
): ParamSpec[] {
  const weight: ParamSpec = { name: `${name}.weight`, shape, init: { normal: std } };
  return bias ? [weight, { name: `${name}.bias`, shape: [shape[0]], init: "zeros" }] : [weight];
}

function layerSpecs(config: ModelConfig, i: number): ParamSpec[] {
  const e = config.hiddenSize;
  const std = config.initializerRange;
  const q = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  const f = config.intermediateSize;
  const l = `model.layers.${i}`;
  return [
    { name: `${l}.input_layernorm.weight`, shape: [e], init: "ones" },
    ...linearSpecs(`${l}.self_attn.q_proj`, [q, e], config.qkvBias, std),
    ...linearSpecs(`${l}.self_attn.k_proj`, [kv, e], config.qkvBias, std),
    ...linearSpecs(`${l}.self_attn.v_proj`, [kv, e], config.qkvBias, std),
    ...linearSpecs(`${l}.self_attn.o_proj`, [e, q], config.outputBias, std),
    { name: `${l}.post_attention_layernorm.weight`, shape: [e], init: "ones" },
    ...linearSpecs(`${l}.mlp.gate_proj`, [f, e], config.mlpBias, std),
    ...linearSpecs(`${l}.mlp.up_proj`, [f, e], config.mlpBias, std),
    ...linearSpecs(`${l}.mlp.down_proj`, [e, f], config.mlpBias, std),
  ];
}

/** The Llama architecture (also Mistral without sliding windows, and Qwen2). */
export const llama: ArchitectureImpl = {
  parameters(config) {
    const std = config.initializerRange;
    const specs: ParamSpec[] = [
      {
        name: "model.embed_tokens.weight",
        shape: [config.vocabSize, config.hiddenSize],
        init: { normal: std },
      },
    ];
    for (let i = 0; i < config.numLayers; i++) specs.push(...layerSpecs(config, i));
    specs.push({ name: "model.norm.weight", shape: [config.hiddenSize], init: "ones" });
    if (!config.tieWordEmbeddings) {
      specs.push({
        name: "lm_head.weight",
        shape: [config.vocabSize, config.hiddenSize],
        init: { normal: std },
      });
    }
    return specs;
  },

  outputWeight(config) {
    return config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  },

  forward(p, config, { inputIds, positions, bias, cache }) {
    const [b, t] = inputIds.shape;
    const lin = (x: tf.Tensor3D, name: string) =>
      linear(x, p(`${name}.weight`), p.has(`${name}.bias`) ? p(`${name}.bias`) : undefined);
    const embedded = tf.gather(p("model.embed_tokens.weight"), inputIds.flatten()); // [b*t, e]
    let x = embedded.reshape([b, t, config.hiddenSize]) as tf.Tensor3D;
    const inverse = ropeInverseFrequencies(config.headDim, config.ropeTheta);
    const { cos, sin } = ropeTables(positions, inverse); // [b, 1, t, d]
    const next: LayerCache[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const l = `model.layers.${i}`;
      const a = `${l}.self_attn`;
      const normed = rmsNorm(x, p(`${l}.input_layernorm.weight`), config.normEps);
      const q = splitHeads(lin(normed, `${a}.q_proj`), config.numHeads, config.headDim);
      const k = splitHeads(lin(normed, `${a}.k_proj`), config.numKvHeads, config.headDim);
      const v = splitHeads(lin(normed, `${a}.v_proj`), config.numKvHeads, config.headDim);
      const rq = applyRope(q, cos, sin);
      const rk = applyRope(k, cos, sin);
      const { out, cache: layer } = attend(rq, rk, v, bias, cache?.[i]);
      next.push(layer);
      x = x.add(lin(out, `${a}.o_proj`));
      const normed2 = rmsNorm(x, p(`${l}.post_attention_layernorm.weight`), config.normEps);
      const gate = lin(normed2, `${l}.mlp.gate_proj`);
      const up = lin(normed2, `${l}.mlp.up_proj`);
      const inner = gate.mul(gate.sigmoid()).mul(up) as tf.Tensor3D; // SiLU(gate) * up
      x = x.add(lin(inner, `${l}.mlp.down_proj`));
    }
    return { hidden: rmsNorm(x, p("model.norm.weight"), config.normEps), cache: next };
  },

  canonicalName(name) {
    return name.endsWith("rotary_emb.inv_freq") ? null : name;
  },
};
