import assert from "node:assert/strict";
import { parseConfig, readConfig } from "../../src/rl/config.ts";
import { fixtureDir } from "./_helpers.ts";

Deno.test("parseConfig()", async (t) => {
  await t.step("reads GPT-2", async () => {
    const c = await readConfig(fixtureDir("tiny-gpt2"));
    assert.equal(c.architecture, "gpt2");
    assert.equal(c.headDim, 8);
    assert.equal(c.intermediateSize, 128);
    assert.equal(c.tieWordEmbeddings, true);
  });
  await t.step("reads Qwen2 (transformers 5 rope_parameters) with q/k/v biases", async () => {
    const c = await readConfig(fixtureDir("tiny-qwen2"));
    assert.equal(c.architecture, "llama");
    assert.equal(c.numKvHeads, 2);
    assert.equal(c.ropeTheta, 10000);
    assert.equal(c.qkvBias, true);
    assert.equal(c.outputBias, false);
  });
  await t.step("reads Llama (transformers 4 rope_theta)", async () => {
    const c = await readConfig(fixtureDir("tiny-llama"));
    assert.equal(c.qkvBias, false);
    assert.equal(c.tieWordEmbeddings, false);
    assert.deepEqual(c.eosTokenIds, [2]);
    assert.equal(parseConfig({ ...c.raw, rope_theta: 500000 }).ropeTheta, 500000);
  });
  await t.step("rejects an unknown model_type", () => {
    assert.throws(() => parseConfig({ model_type: "t5" }), {
      name: "RangeError",
      message:
        'Cannot build a model as "model_type" must be one of gpt2, llama, mistral, qwen2: current value is "t5"',
    });
  });
  await t.step("rejects rotary scaling it does not implement", async () => {
    const raw = (await readConfig(fixtureDir("tiny-llama"))).raw;
    assert.throws(() => parseConfig({ ...raw, rope_scaling: { rope_type: "llama3" } }), {
      name: "RangeError",
      message:
        'Cannot build a llama as only the default rotary embedding is supported: current "rope_type" is "llama3"',
    });
  });
  await t.step("rejects a missing size", () => {
    assert.throws(() => parseConfig({ model_type: "gpt2", vocab_size: 10 }), {
      name: "TypeError",
      message: 'Cannot read config.json as "n_embd" must be a number: current value is undefined',
    });
  });
});
