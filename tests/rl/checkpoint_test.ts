import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadPolicy, savePolicy } from "../../src/rl/checkpoint.ts";
import { exportOnnx } from "../../src/rl/onnx_export.ts";
import { ValueHead } from "../../src/rl/value_head.ts";
import {
  firstStepFeeds,
  fixtureDir,
  maxAbsDiff,
  tfjsLogits,
  toFloat32,
  useWasm,
} from "./_helpers.ts";

await useWasm();

const IDS = [[3, 1, 4, 1, 5, 9, 2, 6]];
const MASK = [[1, 1, 1, 1, 1, 1, 1, 1]];

function values(head: ValueHead, hidden: tf.Tensor3D, training = false): Float32Array {
  return tf.tidy(() => head.values(hidden, { training, seed: 1 }).dataSync() as Float32Array);
}

Deno.test("savePolicy() then loadPolicy() then exportOnnx() preserves logits", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rl_ckpt_" });
  const { policy, valueHeadLoaded } = await loadPolicy(fixtureDir("tiny-qwen2"));
  assert.equal(valueHeadLoaded, false);
  const logits = tfjsLogits(policy.model, IDS);
  const hidden = tf.tidy(() => policy.model.score(tf.tensor2d(IDS, undefined, "int32")).hidden);
  try {
    await t.step("fp32 in shards: logits and values identical", async () => {
      const out = join(dir, "fp32");
      await savePolicy(out, policy, { maxShardBytes: 8_000 });
      const index = JSON.parse(await Deno.readTextFile(join(out, "model.safetensors.index.json")));
      const shards = [...new Set(Object.values(index.weight_map) as string[])];
      assert.ok(shards.length > 1 && shards.every((file) => existsSync(join(out, file))));
      assert.ok(!existsSync(join(out, "model.safetensors")));
      const loaded = await loadPolicy(out);
      assert.equal(loaded.valueHeadLoaded, true);
      assert.equal(maxAbsDiff(tfjsLogits(loaded.policy.model, IDS), logits), 0);
      assert.equal(
        maxAbsDiff(values(loaded.policy.valueHead, hidden), values(policy.valueHead, hidden)),
        0,
      );
      loaded.policy.dispose();
    });
    await t.step("resaving as one file removes the stale index", async () => {
      const out = join(dir, "fp32");
      await savePolicy(out, policy);
      assert.ok(!existsSync(join(out, "model.safetensors.index.json")));
      const loaded = await loadPolicy(out);
      assert.equal(maxAbsDiff(tfjsLogits(loaded.policy.model, IDS), logits), 0);
      loaded.policy.dispose();
    });
    await t.step("bf16 (the fixture's own precision): logits identical", async () => {
      const out = join(dir, "bf16");
      await savePolicy(out, policy, { dtype: "BF16" });
      const raw = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
      assert.equal(raw.dtype, "bfloat16");
      const loaded = await loadPolicy(out);
      assert.equal(maxAbsDiff(tfjsLogits(loaded.policy.model, IDS), logits), 0);
      loaded.policy.dispose();
    });
    await t.step("fp16: logits within 1e-2", async () => {
      const out = join(dir, "fp16");
      await savePolicy(out, policy, { dtype: "F16" });
      const loaded = await loadPolicy(out);
      assert.ok(maxAbsDiff(tfjsLogits(loaded.policy.model, IDS), logits) < 1e-2);
      loaded.policy.dispose();
    });
    await t.step("the export of the reloaded policy gives the original logits", async () => {
      const loaded = await loadPolicy(join(dir, "fp32"));
      const path = await exportOnnx(loaded.policy.model, join(dir, "onnx"));
      const session = await ort.InferenceSession.create(path);
      const out = await session.run(firstStepFeeds(loaded.config, IDS, MASK));
      assert.ok(maxAbsDiff(toFloat32(out.logits!), logits) < 1e-4);
      await session.release();
      loaded.policy.dispose();
    });
  } finally {
    hidden.dispose();
    policy.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ValueHead", async (t) => {
  await t.step("random() draws PyTorch's nn.Linear init, U(-1/sqrt(h), 1/sqrt(h))", () => {
    const head = ValueHead.random(64, { seed: 3 });
    const bound = 1 / Math.sqrt(64);
    const weights = head.weight.dataSync();
    assert.deepEqual(head.weight.shape, [1, 64]);
    assert.ok(weights.every((w) => Math.abs(w) <= bound));
    assert.ok(Math.max(...weights) > bound / 2 && Math.min(...weights) < -bound / 2);
    assert.ok(Math.abs(head.bias.dataSync()[0]!) <= bound);
    head.dispose();
  });
  await t.step("values() is [b, t], with dropout only when training", () => {
    const head = ValueHead.random(8, { seed: 1, dropout: 0.5 });
    const hidden = tf.randomNormal([2, 3, 8], 0, 1, "float32", 2) as tf.Tensor3D;
    const evaluation = values(head, hidden);
    assert.equal(evaluation.length, 6);
    assert.equal(maxAbsDiff(values(head, hidden), evaluation), 0);
    assert.ok(maxAbsDiff(values(head, hidden, true), evaluation) > 0);
    hidden.dispose();
    head.dispose();
  });
  await t.step("fromTensors() names what it needs", () => {
    assert.throws(() => ValueHead.fromTensors(new Map(), 8), {
      name: "RangeError",
      message:
        "Cannot load the value head as it must hold summary.weight [1, 8] and summary.bias [1]: current names are ",
    });
  });
});

Deno.test("ActorCritic", async (t) => {
  const { policy } = await loadPolicy(fixtureDir("tiny-gpt2"));
  await t.step("score() adds values [b, T] to the model's scores", () => {
    tf.tidy(() => {
      const scores = policy.score(tf.tensor2d(IDS, undefined, "int32"));
      assert.deepEqual(scores.values.shape, [1, 8]);
      assert.deepEqual(scores.logprobs.shape, [1, 7]);
    });
  });
  await t.step("reference() is frozen and unmoved by training the policy", () => {
    const reference = policy.reference();
    const before = tfjsLogits(reference, IDS);
    const optimizer = tf.train.sgd(0.5);
    const ids = tf.tensor2d(IDS, undefined, "int32");
    for (let i = 0; i < 3; i++) {
      optimizer.minimize(
        () => {
          const s = policy.score(ids, { training: true, seed: i });
          return s.logprobs.mean().neg().add(s.values.square().mean()) as tf.Scalar;
        },
        false,
        policy.trainableVariables(),
      );
    }
    assert.ok(maxAbsDiff(tfjsLogits(policy.model, IDS), before) > 1e-3);
    assert.equal(maxAbsDiff(tfjsLogits(reference, IDS), before), 0);
    assert.ok([...reference.variables.values()].every((v) => !v.trainable));
    ids.dispose();
    optimizer.dispose();
    reference.dispose();
  });
  policy.dispose();
});
