import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { OnnxBackend } from "../../src/models/onnx.ts";
import { argmax } from "../../src/models/sampling.ts";
import { generate } from "../../src/rl/generate.ts";
import { exportOnnx } from "../../src/rl/onnx_export.ts";
import { hasShared, sharedPath } from "../_shared.ts";
import {
  firstStepFeeds,
  FIXTURES,
  hfLogits,
  int64,
  loadFixture,
  maxAbsDiff,
  positionsOf,
  tfjsLogits,
  toFloat32,
  useWasm,
} from "./_helpers.ts";

await useWasm();

const SHARED_LLAMA = "models/tiny-random-llama-fp16";

Deno.test({
  name: "CausalLm agrees with onnxruntime-node on the shared fp16 Llama",
  ignore: !hasShared(SHARED_LLAMA),
  async fn(t) {
    const model = await loadFixture("tiny-llama");
    const session = await ort.InferenceSession.create(sharedPath(`${SHARED_LLAMA}/model.onnx`));
    await t.step(
      "logits of a left-padded batch within 1e-3 (onnxruntime computes in fp16)",
      async () => {
        const ids = [[1, 822, 788, 29898, 29874, 29892, 289, 1125, 13], [
          2,
          2,
          2,
          2,
          1,
          1596,
          29898,
          13,
          736,
        ]];
        const mask = [[1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1, 1]];
        const out = await session.run(firstStepFeeds(model.config, ids, mask, "float16"));
        const theirs = toFloat32(out.logits!);
        const ours = tfjsLogits(model, ids, mask);
        const v = model.config.vocabSize;
        let worst = 0;
        mask.flat().forEach((m, row) => {
          if (m) {
            worst = Math.max(
              worst,
              maxAbsDiff(
                ours.subarray(row * v, (row + 1) * v),
                theirs.subarray(row * v, (row + 1) * v),
              ),
            );
          }
        });
        assert.ok(worst < 1e-3, `max abs diff ${worst}`);
      },
    );
    await t.step(
      "greedy ids equal those the onnx: backend's tests pin for this model",
      async () => {
        // tests/models/onnx_test.ts pins these from onnxruntime-node 1.30.0 on CPU.
        const { tokens } = await generate(model, [
          [1, 822, 788, 29898, 29874, 29892, 289, 1125, 13],
          [1, 921, 353, 29871, 29896],
        ], { maxNewTokens: 10, eosTokenIds: [] });
        assert.deepEqual(tokens, [
          [19053, 25470, 2323, 21742, 13486, 13934, 26715, 23287, 16710, 27488],
          [21711, 24282, 841, 23124, 30954, 4355, 14017, 25190, 6074, 6566],
        ]);
      },
    );
    await session.release();
    model.dispose();
  },
});

Deno.test("exportOnnx() writes a model onnxruntime-node runs as TensorFlow.js does", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rl_onnx_" });
  try {
    for (const name of FIXTURES) {
      await t.step(`${name}: logits within 1e-4, then one cached step`, async () => {
        const model = await loadFixture(name);
        const path = await exportOnnx(model, join(dir, name), {
          externalData: name === "tiny-llama",
        });
        const session = await ort.InferenceSession.create(path);
        const { ids, mask } = await hfLogits(name);
        const first = await session.run(firstStepFeeds(model.config, ids, mask));
        const ours = tfjsLogits(model, ids, mask);
        const v = model.config.vocabSize;
        const real = (logits: Float32Array) =>
          mask.flat().flatMap((m, row) => m ? [...logits.subarray(row * v, (row + 1) * v)] : []);
        assert.ok(maxAbsDiff(real(toFloat32(first.logits!)), real(ours)) < 1e-4);
        // Feed present.N back as past_key_values.N with one new token per row.
        const next = [[9], [4]];
        const mask2 = mask.map((row) => [...row, 1]);
        const feeds: Record<string, ort.Tensor> = {
          input_ids: int64(next),
          attention_mask: int64(mask2),
          position_ids: int64(positionsOf(mask2).map((row) => row.slice(-1))),
        };
        for (let i = 0; i < model.config.numLayers; i++) {
          feeds[`past_key_values.${i}.key`] = first[`present.${i}.key`]!;
          feeds[`past_key_values.${i}.value`] = first[`present.${i}.value`]!;
        }
        const step = await session.run(feeds);
        const full = tfjsLogits(model, ids.map((row, i) => [...row, next[i]![0]!]), mask2);
        const t1 = ids[0]!.length + 1;
        const lastRows = [0, 1].flatMap((
          b,
        ) => [...full.subarray(((b + 1) * t1 - 1) * v, (b + 1) * t1 * v)]);
        assert.ok(maxAbsDiff(toFloat32(step.logits!), lastRows) < 1e-4);
        await session.release();
        model.dispose();
      });
    }
    await t.step({
      name: "the onnx: backend loads an export and decodes the policy's greedy ids",
      ignore: !hasShared(SHARED_LLAMA), // the tokenizer comes from there
      fn: async () => {
        const model = await loadFixture("tiny-llama");
        const folder = join(dir, "for-backend");
        await exportOnnx(model, folder, { tokenizerFrom: sharedPath(SHARED_LLAMA) });
        const backend = await OnnxBackend.open(folder, { batchSize: 2 });
        const prompts = [[1, 822, 788, 29898], [1, 1596, 29898, 13, 5215]];
        const theirs = await backend.decoder.generate(prompts, {
          maxTokens: [6, 6],
          choose: (_row, logits) => argmax(logits),
          done: () => false,
          padTokenId: backend.config.padTokenId,
          cache: true,
        });
        const { tokens } = await generate(model, prompts, { maxNewTokens: 6, eosTokenIds: [] });
        assert.deepEqual(theirs, tokens);
        await backend.close();
        model.dispose();
      },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exportOnnx() writes genai_config.json in the shared models' schema", async () => {
  const model = await loadFixture("tiny-qwen2");
  const dir = await Deno.makeTempDir({ prefix: "rl_onnx_" });
  try {
    await exportOnnx(model, dir);
    const genai = JSON.parse(await Deno.readTextFile(join(dir, "genai_config.json")));
    assert.deepEqual(genai.model.decoder.inputs, {
      input_ids: "input_ids",
      attention_mask: "attention_mask",
      position_ids: "position_ids",
      past_key_names: "past_key_values.%d.key",
      past_value_names: "past_key_values.%d.value",
    });
    assert.equal(genai.model.decoder.num_key_value_heads, 2);
    assert.equal(genai.model.type, "qwen2");
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(join(dir, "config.json"))),
      model.config.raw,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    model.dispose();
  }
});
