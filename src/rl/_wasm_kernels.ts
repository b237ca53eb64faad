/**
 * Kernels the TensorFlow.js WASM backend lacks and training needs. `UnsortedSegmentSum` is the
 * gradient of `gather` (the token embedding): without it, no backward pass runs on WASM.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";

interface WasmBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x!;
  const ids = args.inputs.segmentIds!;
  const numSegments = args.attrs!.numSegments as number;
  const segments = ids.shape.reduce((a, b) => a * b, 1);
  const outShape = [numSegments, ...x.shape.slice(ids.shape.length)];
  const inner = outShape.slice(1).reduce((a, b) => a * b, 1);
  const values = backend.readSync(x.dataId);
  const segmentIds = backend.readSync(ids.dataId);
  const out = backend.makeOutput(outShape, x.dtype);
  const result = backend.typedArrayFromHeap(out);
  result.fill(0);
  for (let i = 0; i < segments; i++) {
    const segment = segmentIds[i]!;
    if (segment < 0 || segment >= numSegments) continue; // as TensorFlow: dropped
    const from = i * inner;
    const to = segment * inner;
    for (let j = 0; j < inner; j++) result[to + j]! += values[from + j]!;
  }
  return out;
}

/** Registers the missing kernels on the `wasm` backend (once). */
export function registerWasmKernels(): void {
  if (tf.getKernel("UnsortedSegmentSum", "wasm")) return;
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
  });
}
