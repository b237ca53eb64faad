import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { generate } from "../../src/rl/generate.ts";
import { FIXTURES, loadFixture, useWasm } from "./_helpers.ts";

await useWasm();

const PROMPTS = [[5, 17, 42, 7], [23, 8], [11, 64, 3, 99, 15, 2]];

Deno.test("generate() gives the same greedy tokens with and without the cache", async (t) => {
  for (const name of FIXTURES) {
    await t.step(`${name}: a left-padded batch of 3, 12 new tokens`, async () => {
      const model = await loadFixture(name);
      const before = tf.memory().numTensors;
      const cached = await generate(model, PROMPTS, { maxNewTokens: 12, eosTokenIds: [] });
      const uncached = await generate(model, PROMPTS, {
        maxNewTokens: 12,
        eosTokenIds: [],
        useCache: false,
      });
      assert.deepEqual(cached.tokens, uncached.tokens);
      assert.ok(cached.tokens.every((row) => row.length === 12));
      assert.equal(tf.memory().numTensors, before);
      // Batching does not change a row: each prompt alone gives the same tokens.
      for (const [i, prompt] of PROMPTS.entries()) {
        const alone = await generate(model, [prompt], { maxNewTokens: 12, eosTokenIds: [] });
        assert.deepEqual(alone.tokens[0], cached.tokens[i]);
      }
      model.dispose();
    });
  }
});

Deno.test("generate() samples reproducibly for a seed", async (t) => {
  const model = await loadFixture("tiny-qwen2");
  const sampling = { temperature: 1, topK: 50, topP: 0.95 };
  const run = (seed: number, useCache = true) =>
    generate(model, PROMPTS, { maxNewTokens: 16, sampling, seed, eosTokenIds: [], useCache });
  await t.step("the same seed gives the same tokens, with or without the cache", async () => {
    const a = await run(7);
    assert.deepEqual((await run(7)).tokens, a.tokens);
    assert.deepEqual((await run(7, false)).tokens, a.tokens);
  });
  await t.step("another seed gives other tokens", async () => {
    assert.notDeepEqual((await run(8)).tokens, (await run(7)).tokens);
  });
  await t.step("top-k 1 is greedy", async () => {
    const greedy = await generate(model, PROMPTS, { maxNewTokens: 8, eosTokenIds: [] });
    const topOne = await generate(model, PROMPTS, {
      maxNewTokens: 8,
      eosTokenIds: [],
      sampling: { temperature: 1, topK: 1, topP: 1 },
      seed: 3,
    });
    assert.deepEqual(topOne.tokens, greedy.tokens);
  });
  model.dispose();
});

Deno.test("generate() stops a row at its end token", async () => {
  const model = await loadFixture("tiny-gpt2");
  const free = await generate(model, [PROMPTS[0]!], { maxNewTokens: 6, eosTokenIds: [] });
  const stop = free.tokens[0]![2]!;
  const stopped = await generate(model, [PROMPTS[0]!, PROMPTS[1]!], {
    maxNewTokens: 6,
    eosTokenIds: [stop],
  });
  assert.deepEqual(stopped.tokens[0], free.tokens[0]!.slice(0, free.tokens[0]!.indexOf(stop) + 1));
  assert.equal(stopped.stopped[0], true);
  model.dispose();
});

Deno.test("generate() rejects an empty prompt", async () => {
  const model = await loadFixture("tiny-gpt2");
  await assert.rejects(() => generate(model, [[1], []], { maxNewTokens: 2 }), {
    name: "RangeError",
    message: "Cannot generate as every prompt must hold at least one token",
  });
  model.dispose();
});
