/**
 * GPT-2 (Radford et al., 2019) as `transformers`' `GPT2LMHeadModel`: learned positions,
 * pre-LayerNorm blocks, fused QKV `Conv1D`, `gelu_new`, output tied to the token embedding.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import type { ArchitectureImpl, ParamSpec } from "./_architecture.ts";
import { attend, conv1d, geluNew, type LayerCache, layerNorm, splitHeads } from "./_layers.ts";

/** The GPT-2 architecture. */
export const gpt2: ArchitectureImpl = {
  parameters(config) {
    const e = config.hiddenSize;
    const std = config.initializerRange;
    // GPT-2 scales the residual projections by 1/sqrt(2 * layers) at initialisation.
    const residual = { normal: std / Math.sqrt(2 * config.numLayers) };
    const specs: ParamSpec[] = [
      { name: "transformer.wte.weight", shape: [config.vocabSize, e], init: { normal: std } },
      { name: "transformer.wpe.weight", shape: [config.maxPositions, e], init: { normal: std } },
    ];
    for (let i = 0; i < config.numLayers; i++) {
      const h = `transformer.h.${i}`;
      specs.push(
        { name: `${h}.ln_1.weight`, shape: [e], init: "ones" },
        { name: `${h}.ln_1.bias`, shape: [e], init: "zeros" },
        { name: `${h}.attn.c_attn.weight`, shape: [e, 3 * e], init: { normal: std } },
        { name: `${h}.attn.c_attn.bias`, shape: [3 * e], init: "zeros" },
        { name: `${h}.attn.c_proj.weight`, shape: [e, e], init: residual },
        { name: `${h}.attn.c_proj.bias`, shape: [e], init: "zeros" },
        { name: `${h}.ln_2.weight`, shape: [e], init: "ones" },
        { name: `${h}.ln_2.bias`, shape: [e], init: "zeros" },
        {
          name: `${h}.mlp.c_fc.weight`,
          shape: [e, config.intermediateSize],
          init: { normal: std },
        },
        { name: `${h}.mlp.c_fc.bias`, shape: [config.intermediateSize], init: "zeros" },
        { name: `${h}.mlp.c_proj.weight`, shape: [config.intermediateSize, e], init: residual },
        { name: `${h}.mlp.c_proj.bias`, shape: [e], init: "zeros" },
      );
    }
    specs.push(
      { name: "transformer.ln_f.weight", shape: [e], init: "ones" },
      { name: "transformer.ln_f.bias", shape: [e], init: "zeros" },
    );
    if (!config.tieWordEmbeddings) {
      specs.push({ name: "lm_head.weight", shape: [config.vocabSize, e], init: { normal: std } });
    }
    return specs;
  },

  outputWeight(config) {
    return config.tieWordEmbeddings ? "transformer.wte.weight" : "lm_head.weight";
  },

  forward(p, config, { inputIds, positions, bias, cache }) {
    const [b, t] = inputIds.shape;
    const e = config.hiddenSize;
    const tokens = tf.gather(p("transformer.wte.weight"), inputIds.flatten()); // [b*t, e]
    const places = tf.gather(p("transformer.wpe.weight"), positions.flatten()); // [b*t, e]
    let x = tokens.add(places).reshape([b, t, e]) as tf.Tensor3D;
    const next: LayerCache[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const h = `transformer.h.${i}`;
      const normed = layerNorm(x, p(`${h}.ln_1.weight`), p(`${h}.ln_1.bias`), config.normEps);
      const qkv = conv1d(normed, p(`${h}.attn.c_attn.weight`), p(`${h}.attn.c_attn.bias`));
      const [q, k, v] = tf.split(qkv, 3, 2) as tf.Tensor3D[];
      const heads = (y: tf.Tensor3D) => splitHeads(y, config.numHeads, config.headDim);
      const { out, cache: layer } = attend(heads(q!), heads(k!), heads(v!), bias, cache?.[i]);
      next.push(layer);
      x = x.add(conv1d(out, p(`${h}.attn.c_proj.weight`), p(`${h}.attn.c_proj.bias`)));
      const normed2 = layerNorm(x, p(`${h}.ln_2.weight`), p(`${h}.ln_2.bias`), config.normEps);
      const inner = geluNew(conv1d(normed2, p(`${h}.mlp.c_fc.weight`), p(`${h}.mlp.c_fc.bias`)));
      x = x.add(
        conv1d(inner as tf.Tensor3D, p(`${h}.mlp.c_proj.weight`), p(`${h}.mlp.c_proj.bias`)),
      );
    }
    const hidden = layerNorm(
      x,
      p("transformer.ln_f.weight"),
      p("transformer.ln_f.bias"),
      config.normEps,
    );
    return { hidden, cache: next };
  },

  canonicalName(name) {
    if (/\.attn\.(masked_)?bias$/.test(name)) return null;
    if (name === "lm_head.weight" || name.startsWith("transformer.")) return name;
    return `transformer.${name}`;
  },
};
