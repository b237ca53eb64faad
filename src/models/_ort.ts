/**
 * onnxruntime-node, set up for Deno: every module of ppocoder imports `ort` from here.
 *
 * onnxruntime-common stores fp16 tensor data in a `Float16Array` where the runtime has one (Deno
 * does), but Deno's N-API cannot hand a `Float16Array` to the native binding: it reads as empty
 * ("not enough space: expected 768, got 0"). So the one-time typed-array check of
 * onnxruntime-common runs here with `Float16Array` hidden, and fp16 data stays raw `Uint16Array`
 * bits both ways, as it does on older Node.
 *
 * @module
 */

import * as ort from "onnxruntime-node";

const descriptor = Object.getOwnPropertyDescriptor(globalThis, "Float16Array");
if (descriptor?.configurable) {
  delete (globalThis as Record<string, unknown>).Float16Array;
  try {
    new ort.Tensor("float32", new Float32Array(0), [0]);
  } finally {
    Object.defineProperty(globalThis, "Float16Array", descriptor);
  }
}
if (!(new ort.Tensor("float16", new Uint16Array(1), [1]).data instanceof Uint16Array)) {
  throw new TypeError(
    "Cannot run fp16 ONNX models as onnxruntime-common already chose Float16Array storage: " +
      'import onnxruntime-node through "src/models/_ort.ts" before any other use of it',
  );
}

export { ort };
