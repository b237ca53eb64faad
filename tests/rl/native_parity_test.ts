/**
 * The native TensorFlow backend (`deno task setup:native`, or tfjs-node from the import map)
 * against WASM on the model fixtures: the same weights and inputs give the same logits, and the
 * SFT loss the same value and gradients, within stated tolerances. (Weights after an Adam step
 * are not compared: Adam's first step moves each weight by about the learning rate times the
 * sign of its gradient, so a gradient that rounding puts on the other side of 0 moves differently.)
 * Ignored, with the reason, where no native build is present (CI does not build one).
 */

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { findNative } from "../../src/rl/native.ts";
import { CausalLm } from "../../src/rl/model.ts";
import { padBatch } from "../../src/rl/sft/dataset.ts";
import { maskedLossSum } from "../../src/rl/sft/step.ts";
import { selectBackend } from "../../src/rl/tf_backend.ts";
import { readConfig } from "../../src/rl/config.ts";
import {
  fixtureDir,
  FIXTURES,
  fixtureTensors,
  hfLogits,
  maxAbsDiff,
  tfjsLogits,
} from "./_helpers.ts";

/** Largest difference allowed between the backends' logits (fp32, different kernels). */
export const LOGIT_TOLERANCE = 1e-4;
/** Largest relative difference allowed in the loss. */
export const LOSS_TOLERANCE = 1e-5;
/** Largest difference allowed in a gradient, relative to the largest gradient of its tensor. */
export const GRADIENT_TOLERANCE = 1e-3;

const absent = (() => {
  try {
    findNative();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
})();
if (absent !== null) console.log(`ignoring the native parity tests: ${absent}`);

interface Outcome {
  logits: Float32Array;
  loss: number;
  grads: Map<string, Float32Array>;
}

async function runOn(backend: "wasm" | "tensorflow", fixture: string): Promise<Outcome> {
  await selectBackend({ force: backend, print: false });
  const config = await readConfig(fixtureDir(fixture));
  const model = CausalLm.fromTensors(config, await fixtureTensors(fixture));
  const { ids, mask } = await hfLogits(fixture);
  const logits = tfjsLogits(model, ids, mask);
  const width = ids[0]!.length;
  const rows = {
    tokens: Int32Array.from(ids.flat()),
    offsets: Int32Array.from({ length: ids.length + 1 }, (_, r) => r * width),
    lossStart: new Int32Array(ids.length).fill(1),
  };
  const batch = padBatch(rows, [...ids.keys()], 0);
  const names = new Map([...model.variables].map(([name, v]) => [v.name, name]));
  const { value, grads } = tf.variableGrads(
    () => maskedLossSum(model, batch).div(batch.lossTokens) as tf.Scalar,
    [...model.variables.values()],
  );
  const outcome = {
    logits,
    loss: value.dataSync()[0]!,
    grads: new Map(
      Object.entries(grads).map(([k, g]) => [names.get(k)!, g.dataSync() as Float32Array]),
    ),
  };
  tf.dispose([value, ...Object.values(grads)]);
  model.dispose();
  return outcome;
}

for (const fixture of FIXTURES) {
  Deno.test({
    name: `native backend matches WASM on ${fixture}: logits, loss and gradients`,
    ignore: absent !== null,
    async fn() {
      const wasm = await runOn("wasm", fixture);
      const native = await runOn("tensorflow", fixture);
      const logitDiff = maxAbsDiff(native.logits, wasm.logits);
      assert.ok(logitDiff < LOGIT_TOLERANCE, `logits differ by ${logitDiff}`);
      const relative = Math.abs(native.loss - wasm.loss) / wasm.loss;
      assert.ok(relative < LOSS_TOLERANCE, `loss ${native.loss} vs ${wasm.loss}`);
      let gradDiff = 0;
      for (const [name, expected] of wasm.grads) {
        const scale = expected.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-12);
        gradDiff = Math.max(gradDiff, maxAbsDiff(native.grads.get(name)!, expected) / scale);
      }
      console.log(
        `${fixture}: logits within ${logitDiff.toExponential(1)}, loss ${
          relative.toExponential(1)
        } relative, gradients ${gradDiff.toExponential(1)} of each tensor's largest`,
      );
      assert.ok(gradDiff < GRADIENT_TOLERANCE, `gradients differ by ${gradDiff} of the largest`);
      assert.equal(tf.getBackend(), "tensorflow");
      await selectBackend({ force: "wasm", print: false });
    },
  });
}
