import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { describeBackend, parseBackendName, selectBackend } from "../../src/rl/tf_backend.ts";

Deno.test("selectBackend()", async (t) => {
  await t.step("takes the best backend that loads and says why better ones did not", async () => {
    const choice = await selectBackend({ print: false });
    assert.equal(tf.getBackend(), choice.tfName);
    assert.equal(choice.forced, false);
    // Native TensorFlow is not installable on our machines; elsewhere it may load.
    if (choice.name === "wasm") {
      assert.deepEqual(choice.skipped.map((s) => s.name), ["tensorflow-gpu", "tensorflow"]);
      assert.match(
        describeBackend(choice),
        /^tfjs backend: wasm \(not available: tensorflow-gpu: /,
      );
    }
  });
  await t.step("records where a native backend was loaded from", async () => {
    const native = await selectBackend({ force: "tensorflow", print: false }).catch(() => null);
    if (native === null) return; // no native build here (CI)
    assert.match(native.detail ?? "", /^@tensorflow\/tfjs-node /);
    assert.match(describeBackend(native), /^tfjs backend: tensorflow \(@tensorflow\/tfjs-node /);
  });
  await t.step("uses a forced backend", async () => {
    const choice = await selectBackend({ force: "cpu", print: false });
    assert.equal(tf.getBackend(), "cpu");
    assert.equal(describeBackend(choice), "tfjs backend: cpu (forced)");
  });
  await t.step("fails when a forced backend does not load", async () => {
    const native = await selectBackend({ force: "tensorflow", print: false }).catch((e) => e);
    if (native instanceof Error) {
      assert.match(
        native.message,
        /^Cannot use TensorFlow.js backend "tensorflow" as it did not load: /,
      );
    }
  });
});

Deno.test("parseBackendName() lists the choices", () => {
  assert.equal(parseBackendName("wasm"), "wasm");
  assert.throws(() => parseBackendName("gpu"), {
    name: "RangeError",
    message:
      'Cannot select TensorFlow.js backend as it must be one of tensorflow-gpu, tensorflow, wasm, cpu: current value is "gpu"',
  });
});
