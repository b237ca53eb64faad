import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { parseConfig } from "../../../src/rl/config.ts";
import { CausalLm } from "../../../src/rl/model.ts";
import { scoreRows, scoringBatch } from "../../../src/rl/ppo/score.ts";
import { useWasm } from "../_helpers.ts";

const CONFIG = parseConfig({
  model_type: "gpt2",
  vocab_size: 11,
  n_embd: 16,
  n_layer: 1,
  n_head: 2,
  n_positions: 32,
  eos_token_id: 0,
});

const ROWS = [{ prompt: [3, 4, 5], response: [6, 0] }, { prompt: [7], response: [8, 9, 1] }];

Deno.test("scoringBatch() pads prompts on the left and responses on the right", () => {
  const batch = scoringBatch(ROWS, 2);
  assert.deepEqual(batch.ids, [[3, 4, 5, 6, 0, 2], [2, 2, 7, 8, 9, 1]]);
  assert.deepEqual(batch.attention, [[1, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1]]);
  assert.deepEqual(batch.targets, [[6, 0, 0], [8, 9, 1]]);
  assert.deepEqual(batch.mask, [[1, 1, 0], [1, 1, 1]]);
});

/** log p of each response token at temperature `t`, from full unpadded forward passes. */
function manualLogprobs(model: CausalLm, t: number, topK = 0): number[][] {
  return ROWS.map((row) =>
    tf.tidy(() => {
      const ids = [...row.prompt, ...row.response];
      const logits = model.forward({ inputIds: tf.tensor2d([ids], undefined, "int32") }).logits
        .arraySync()[0]!;
      return row.response.map((token, j) => {
        const scaled = logits[row.prompt.length - 1 + j]!.map((x) => x / t);
        const kept = topK > 0 ? [...scaled].sort((a, b) => b - a).slice(0, topK) : scaled;
        const max = Math.max(...kept);
        const logZ = max + Math.log(kept.reduce((s, x) => s + Math.exp(x - max), 0));
        return scaled[token]! - logZ;
      });
    })
  );
}

Deno.test("scoreRows() scores the sampled distribution: temperature, and the same top-k", async (t) => {
  await useWasm();
  const model = CausalLm.random(CONFIG, { seed: 3 });
  const batch = scoringBatch(ROWS, 2);
  const close = (actual: number[][], expected: number[][]) =>
    expected.forEach((row, i) =>
      row.forEach((e, j) =>
        assert.ok(Math.abs(actual[i]![j]! - e) < 1e-4, `${i},${j}: ${actual[i]![j]} != ${e}`)
      )
    );
  try {
    await t.step(
      "temperature divides the logits of every pass, padding changes nothing",
      async () => {
        const scored = await scoreRows(model, batch, { temperature: 0.7, topK: 0, microBatch: 1 });
        close(scored.logprobs, manualLogprobs(model, 0.7));
        assert.equal(scored.allowed, undefined);
      },
    );
    await t.step(
      "top-k keeps the rollout policy's k tokens and renormalises over them",
      async () => {
        const scored = await scoreRows(model, batch, { temperature: 1, topK: 4, microBatch: 2 });
        assert.equal(scored.allowed![0]![0]!.length, 4);
        const sampledInTopK = ROWS.map((row, i) =>
          row.response.map((tok, j) => scored.allowed![i]![j]!.includes(tok))
        );
        const expected = manualLogprobs(model, 1, 4).map((row, i) =>
          row.map((v, j) => (sampledInTopK[i]![j] ? v : scored.logprobs[i]![j]!))
        );
        close(scored.logprobs, expected);
        const again = await scoreRows(model, batch, {
          temperature: 1,
          topK: 4,
          microBatch: 2,
          allowed: scored.allowed!,
        });
        close(again.logprobs, scored.logprobs);
      },
    );
  } finally {
    model.dispose();
  }
});
