import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Adam } from "../../../src/rl/ppo/adam.ts";
import { useWasm } from "../_helpers.ts";

const OPTIONS = { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxGradNorm: 0 };

Deno.test("Adam", async (t) => {
  await useWasm();
  await t.step("takes PyTorch's first and second steps", () => {
    const x = tf.variable(tf.scalar(1));
    const adam = new Adam(OPTIONS);
    const grad = tf.scalar(2);
    adam.apply(new Map([["x", x]]), new Map([["x", grad]]));
    assert.ok(Math.abs(x.dataSync()[0]! - 0.9) < 1e-6); // lr * m^ / sqrt(v^) = 0.1 * 2 / 2
    const grad2 = tf.scalar(-1);
    adam.apply(new Map([["x", x]]), new Map([["x", grad2]]));
    // m = 0.9*0.2 - 0.1 = 0.08, v = 0.999*0.004 + 0.001 = 0.004996; bias-corrected step:
    const m = 0.08 / (1 - 0.81);
    const v = 0.004996 / (1 - 0.998001);
    assert.ok(Math.abs(x.dataSync()[0]! - (0.9 - 0.1 * m / (Math.sqrt(v) + 1e-8))) < 1e-6);
    tf.dispose([x, grad, grad2]);
    adam.dispose();
  });
  await t.step("returns the global norm before clipping and clips to maxGradNorm", () => {
    const a = tf.variable(tf.tensor1d([0, 0]));
    const adam = new Adam({ ...OPTIONS, maxGradNorm: 1, learningRate: 1, beta1: 0, beta2: 0 });
    const grad = tf.tensor1d([3, 4]);
    const norm = adam.apply(new Map([["a", a]]), new Map([["a", grad]]));
    assert.ok(Math.abs(norm - 5) < 1e-5);
    // beta1 = beta2 = 0: the step is g / |g| elementwise, so clipping leaves its sign only.
    const [x, y] = a.dataSync();
    assert.ok(Math.abs(x! + 1) < 1e-5 && Math.abs(y! + 1) < 1e-5);
    tf.dispose([a, grad]);
    adam.dispose();
  });
  await t.step("restores its moments and step count by name", () => {
    const x = tf.variable(tf.scalar(1));
    const y = tf.variable(tf.scalar(1));
    const first = new Adam(OPTIONS);
    const second = new Adam(OPTIONS);
    const g = tf.scalar(2);
    first.apply(new Map([["x", x]]), new Map([["x", g]]));
    const { tensors, step } = first.state();
    assert.deepEqual([...tensors.keys()], ["x.exp_avg", "x.exp_avg_sq"]);
    second.load(tensors, step);
    first.apply(new Map([["x", x]]), new Map([["x", g]]));
    y.assign(tf.scalar(0.9));
    second.apply(new Map([["x", y]]), new Map([["x", g]]));
    assert.equal(second.steps, 2);
    assert.ok(Math.abs(x.dataSync()[0]! - y.dataSync()[0]!) < 1e-7);
    tf.dispose([x, y, g]);
    first.dispose();
    second.dispose();
  });
});
