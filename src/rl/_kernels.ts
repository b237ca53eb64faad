/**
 * Two repairs to the TensorFlow.js WASM backend (4.22), both needed to train on it:
 *
 * - `UnsortedSegmentSum` is missing. It is the gradient of `gather` (the token embedding):
 *   without it, no backward pass runs on WASM.
 * - `BatchMatMul` with `transposeA` or `transposeB` leaves XNNPACK's fast path: measured here on
 *   `[512, 256] x [32000, 256]^T`, 5.4 s against 0.29 s untransposed. The output projection
 *   multiplies by the embedding transposed, and every matMul gradient uses a transposed operand,
 *   so the kernel is wrapped to transpose explicitly (a copy, cheap next to the product) and
 *   call the original kernel untransposed.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";

interface WasmBackend {
  readSync(dataId: object): ArrayLike<number>;
  disposeData(dataId: object): boolean;
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

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Rows (columns) of the other operand from which transposing first is faster. */
const MIN_OTHER_SIDE = 8;

/** Wraps the wasm `BatchMatMul` so that transposed operands are transposed beforehand. */
function untransposedMatMul(original: tf.KernelConfig): tf.KernelConfig {
  const transpose = tf.getKernel("Transpose", "wasm")!.kernelFunc;
  const swapLast = (info: tf.TensorInfo, backend: unknown) => {
    const perm = info.shape.map((_, i) => i);
    perm.splice(-2, 2, perm.length - 1, perm.length - 2);
    return transpose(
      { inputs: { x: info }, backend, attrs: { perm } } as KernelArgs,
    ) as tf.TensorInfo;
  };
  const kernelFunc = (args: KernelArgs) => {
    const flags = args.attrs as { transposeA: boolean; transposeB: boolean };
    const a0 = args.inputs.a!;
    const b0 = args.inputs.b!;
    // The copy pays when the other operand brings at least a few rows (columns) to multiply:
    // a decoding step ([2, 256] x [32000, 256]^T) is faster on the slow path than after a copy.
    const rows = a0.shape[a0.shape.length - (flags.transposeA ? 1 : 2)]!;
    const columns = b0.shape[b0.shape.length - (flags.transposeB ? 2 : 1)]!;
    const transposeA = flags.transposeA && columns >= MIN_OTHER_SIDE;
    const transposeB = flags.transposeB && rows >= MIN_OTHER_SIDE;
    if (!transposeA && !transposeB) return original.kernelFunc(args);
    const backend = args.backend as WasmBackend;
    const a = transposeA ? swapLast(a0, backend) : a0;
    const b = transposeB ? swapLast(b0, backend) : b0;
    const out = original.kernelFunc({
      ...args,
      inputs: { a, b },
      attrs: {
        ...args.attrs,
        transposeA: flags.transposeA && !transposeA,
        transposeB: flags.transposeB && !transposeB,
      },
    });
    if (transposeA) backend.disposeData(a.dataId);
    if (transposeB) backend.disposeData(b.dataId);
    return out;
  };
  return { ...original, kernelFunc: kernelFunc as tf.KernelFunc };
}

let registered = false;

/** Registers the repairs on the `wasm` backend (once), before the backend initialises. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const matMul = tf.getKernel("BatchMatMul", "wasm")!;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel(untransposedMatMul(matMul));
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
  });
}
