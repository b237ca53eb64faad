/**
 * Repairs to the TensorFlow.js 4.22 WASM and CPU backends, needed to train on them:
 *
 * - `UnsortedSegmentSum`, the gradient of `gather` (the token embedding), is missing on WASM
 *   (no backward pass runs) and, on CPU, runs one masked sum per segment: 19 s of a 20 s
 *   backward pass of a 60k-parameter GPT-2 with 1,000 tokens of vocabulary. One JavaScript
 *   loop over the rows serves both.
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

interface CpuBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** The backends repaired. */
export type RepairedBackend = "wasm" | "cpu";

/** Sums rows of `x` into `numSegments` rows by `segmentIds`, as TensorFlow does. */
function segmentSum(
  values: ArrayLike<number>,
  segmentIds: ArrayLike<number>,
  numSegments: number,
  inner: number,
): Float32Array {
  const result = new Float32Array(numSegments * inner);
  for (let i = 0; i < segmentIds.length; i++) {
    const segment = segmentIds[i]!;
    if (segment < 0 || segment >= numSegments) continue; // as TensorFlow: dropped
    const from = i * inner;
    const to = segment * inner;
    for (let j = 0; j < inner; j++) result[to + j]! += values[from + j]!;
  }
  return result;
}

function unsortedSegmentSum(backendName: RepairedBackend) {
  return (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo => {
    const x = args.inputs.x!;
    const ids = args.inputs.segmentIds!;
    const numSegments = args.attrs!.numSegments as number;
    const outShape = [numSegments, ...x.shape.slice(ids.shape.length)];
    const inner = outShape.slice(1).reduce((a, b) => a * b, 1);
    const read = (args.backend as CpuBackend).readSync.bind(args.backend);
    const result = segmentSum(read(x.dataId), read(ids.dataId), numSegments, inner);
    if (backendName === "cpu") {
      return (args.backend as CpuBackend).makeTensorInfo(outShape, x.dtype, result);
    }
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(outShape, x.dtype);
    backend.typedArrayFromHeap(out).set(result);
    return out;
  };
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

const registered = new Set<RepairedBackend>();

/** Registers the repairs of one backend (once), before the backend initialises. */
export function registerKernelRepairs(backendName: RepairedBackend): void {
  if (registered.has(backendName)) return;
  registered.add(backendName);
  if (backendName === "wasm") {
    const matMul = tf.getKernel("BatchMatMul", "wasm")!;
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel(untransposedMatMul(matMul));
  }
  if (tf.getKernel("UnsortedSegmentSum", backendName)) {
    tf.unregisterKernel("UnsortedSegmentSum", backendName);
  }
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName,
    kernelFunc: unsortedSegmentSum(backendName) as unknown as tf.KernelFunc,
  });
}
