import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { parseConfig } from "../../src/rl/config.ts";
import { CausalLm } from "../../src/rl/model.ts";
import { selectBackend } from "../../src/rl/tf_backend.ts";
import { FIXTURES, hfLogits, loadFixture, maxAbsDiff, tfjsLogits, useWasm } from "./_helpers.ts";

await useWasm();

const TINY_LLAMA = parseConfig({
  model_type: "qwen2",
  vocab_size: 50,
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
});
const TINY_GPT2 = parseConfig({
  model_type: "gpt2",
  vocab_size: 50,
  n_embd: 16,
  n_layer: 2,
  n_head: 2,
  n_positions: 32,
});

Deno.test("CausalLm.forward() agrees with transformers", async (t) => {
  for (const name of FIXTURES) {
    await t.step(`${name}: logits within 1e-4 where the mask is 1`, async () => {
      const model = await loadFixture(name);
      const hf = await hfLogits(name);
      const ours = tfjsLogits(model, hf.ids, hf.mask);
      const v = model.config.vocabSize;
      const columns = hf.logits.shape[2]!;
      let worst = 0;
      hf.mask.flat().forEach((m, row) => {
        if (!m) return;
        const mine = ours.subarray(row * v, row * v + columns);
        worst = Math.max(
          worst,
          maxAbsDiff(mine, hf.logits.data.subarray(row * columns, (row + 1) * columns)),
        );
        // logsumexp covers every vocabulary column, not only the stored ones.
        const max = Math.max(...ours.subarray(row * v, (row + 1) * v));
        let sum = 0;
        for (const x of ours.subarray(row * v, (row + 1) * v)) sum += Math.exp(x - max);
        worst = Math.max(worst, Math.abs(max + Math.log(sum) - hf.logsumexp.data[row]!));
      });
      assert.ok(worst < 1e-4, `max abs diff ${worst}`);
      model.dispose();
    });
  }
});

Deno.test("CausalLm.forward() with a cache matches the full pass", async (t) => {
  for (const config of [TINY_GPT2, TINY_LLAMA]) {
    await t.step(`${config.modelType}: prefix of 3 then one step at a time, left padded`, () => {
      const model = CausalLm.random(config, { seed: 3 });
      const ids = [[5, 6, 7, 8, 9, 10], [0, 0, 11, 12, 13, 14]];
      const mask = [[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]];
      const full = tfjsLogits(model, ids, mask);
      const v = config.vocabSize;
      tf.tidy(() => {
        let out = model.forward({
          inputIds: tf.tensor2d(ids.map((r) => r.slice(0, 3)), undefined, "int32"),
          attentionMask: tf.tensor2d(mask.map((r) => r.slice(0, 3)), undefined, "int32"),
        });
        for (let step = 3; step < 6; step++) {
          out = model.forward({
            inputIds: tf.tensor2d(ids.map((r) => [r[step]!]), undefined, "int32"),
            attentionMask: tf.tensor2d(mask.map((r) => r.slice(0, step + 1)), undefined, "int32"),
            cache: out.cache,
          });
          const logits = out.logits.dataSync();
          for (let b = 0; b < 2; b++) {
            const expected = full.subarray((b * 6 + step) * v, (b * 6 + step + 1) * v);
            assert.ok(maxAbsDiff(logits.subarray(b * v, (b + 1) * v), expected) < 1e-5);
          }
        }
      });
      model.dispose();
    });
  }
});

Deno.test("CausalLm.score() returns log-probabilities, entropy and hidden states", () => {
  const model = CausalLm.random(TINY_LLAMA, { seed: 1 });
  const ids = [[1, 2, 3, 4], [5, 6, 7, 8]];
  tf.tidy(() => {
    const scores = model.score(tf.tensor2d(ids, undefined, "int32"));
    assert.deepEqual(scores.logprobs.shape, [2, 3]);
    assert.deepEqual(scores.entropy.shape, [2, 3]);
    assert.deepEqual(scores.hidden.shape, [2, 4, 16]);
    const logp = tf.logSoftmax(scores.logits).arraySync() as number[][][];
    const logprobs = scores.logprobs.arraySync();
    const entropy = scores.entropy.arraySync();
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 3; t++) {
        const row = logp[b]![t]!;
        assert.ok(Math.abs(logprobs[b]![t]! - row[ids[b]![t + 1]!]!) < 1e-6);
        const h = -row.reduce((sum, x) => sum + Math.exp(x) * x, 0);
        assert.ok(Math.abs(entropy[b]![t]! - h) < 1e-5);
      }
    }
  });
  model.dispose();
});

Deno.test("CausalLm.forward() 1,000 times does not grow memory", () => {
  const model = CausalLm.random(TINY_LLAMA, { seed: 2 });
  const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], undefined, "int32");
  const run = () => tf.tidy(() => model.score(ids).logprobs.sum().dataSync());
  run(); // the first call may allocate lasting state (backend caches)
  const before = tf.memory();
  for (let i = 0; i < 1000; i++) run();
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
  ids.dispose();
  model.dispose();
});

Deno.test("CausalLm gradients on wasm equal those on cpu", async () => {
  const gradients = async (backend: "wasm" | "cpu") => {
    await selectBackend({ force: backend, print: false });
    const model = CausalLm.random(TINY_LLAMA, { seed: 4 });
    const ids = tf.tensor2d([[1, 2, 3, 4, 2, 1]], undefined, "int32");
    const { value, grads } = tf.variableGrads(() =>
      model.score(ids).logprobs.mean().neg() as tf.Scalar
    );
    const out = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync()]));
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ids, ...Object.values(grads)]);
    const byName = new Map([...model.variables].map(([name, v]) => [name, out[v.name]!]));
    model.dispose();
    return { loss, byName };
  };
  const cpu = await gradients("cpu");
  const wasm = await gradients("wasm");
  assert.ok(Math.abs(cpu.loss - wasm.loss) < 1e-5);
  assert.equal(wasm.byName.size, cpu.byName.size);
  for (const [name, grad] of cpu.byName) {
    assert.ok(maxAbsDiff(grad, wasm.byName.get(name)!) < 1e-5, name);
  }
  // The embedding gradient goes through the UnsortedSegmentSum kernel registered on both.
  assert.ok(cpu.byName.get("model.embed_tokens.weight")!.some((x) => x !== 0));
});

Deno.test("the UnsortedSegmentSum kernel sums rows by segment on wasm and cpu", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await selectBackend({ force: backend, print: false });
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
      const sums = tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, 5], "int32"), 3);
      assert.deepEqual(sums.arraySync(), [[3, 4], [0, 0], [6, 8]]); // id 5 is out of range
      const table = tf.ones([3, 2]);
      const grad = tf.grad((w: tf.Tensor) => tf.gather(w, tf.tensor1d([2, 0, 2], "int32")).sum());
      assert.deepEqual(grad(table).arraySync(), [[1, 1], [0, 0], [2, 2]]);
    });
  }
});

Deno.test("CausalLm.copy() shares nothing with the original", () => {
  const model = CausalLm.random(TINY_GPT2, { seed: 5 });
  const ids = [[1, 2, 3]];
  const before = tfjsLogits(model, ids);
  const reference = model.copy({ trainable: false });
  assert.ok([...reference.variables.values()].every((v) => !v.trainable));
  for (const variable of model.variables.values()) {
    tf.tidy(() => variable.assign(tf.zerosLike(variable)));
  }
  assert.equal(maxAbsDiff(tfjsLogits(reference, ids), before), 0);
  model.dispose();
  assert.equal(maxAbsDiff(tfjsLogits(reference, ids), before), 0);
  reference.dispose();
});

Deno.test("CausalLm.fromTensors() rejects wrong weights", async (t) => {
  const source = CausalLm.random(TINY_GPT2);
  const tensors = source.toTensors();
  source.dispose();
  await t.step("an unexpected name", () => {
    const extra = new Map(tensors).set("transformer.h.9.ln_1.weight", {
      shape: [16],
      data: new Float32Array(16),
    });
    assert.throws(() => CausalLm.fromTensors(TINY_GPT2, extra), {
      name: "RangeError",
      message: "Cannot load a gpt2 as parameters are unexpected: transformer.h.9.ln_1.weight",
    });
  });
  await t.step("a wrong shape", () => {
    const wrong = new Map(tensors).set("transformer.ln_f.bias", {
      shape: [8],
      data: new Float32Array(8),
    });
    assert.throws(() => CausalLm.fromTensors(TINY_GPT2, wrong), {
      name: "RangeError",
      message:
        'Cannot load parameter "transformer.ln_f.bias" as its shape must be [16]: current value is [8]',
    });
  });
  await t.step("a missing parameter", () => {
    const missing = new Map(tensors);
    missing.delete("transformer.wpe.weight");
    assert.throws(() => CausalLm.fromTensors(TINY_GPT2, missing), {
      name: "RangeError",
      message: "Cannot build a gpt2 as parameters are missing: transformer.wpe.weight",
    });
  });
  await t.step("accepts GPT2Model names without the transformer. prefix", () => {
    const bare = new Map([...tensors].map(([k, v]) => [k.replace(/^transformer\./, ""), v]));
    const model = CausalLm.fromTensors(TINY_GPT2, bare);
    assert.ok(model.variables.has("transformer.wte.weight"));
    model.dispose();
  });
});

Deno.test("CausalLm.forward() refuses GPT-2 sequences past its position table", () => {
  const model = CausalLm.random(TINY_GPT2);
  assert.throws(() => tfjsLogits(model, [Array.from({ length: 33 }, () => 1)]), {
    name: "RangeError",
    message:
      'Cannot run GPT-2 on 33 steps as its position table must cover them: current "n_positions" is 32',
  });
  model.dispose();
});
