/**
 * Weights out of an ONNX model: the graph's initializers (inline or in an external data file),
 * and the renaming that turns an onnxruntime-genai Llama export back into Hugging Face's
 * `LlamaForCausalLM` names, so such a model can be loaded as a policy.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fp16ToFp32, type TensorMap } from "./safetensors.ts";

/** ONNX `TensorProto.DataType` values this reader decodes. */
const FLOAT = 1;
const FLOAT16 = 10;

interface Field {
  readonly number: number;
  readonly wireType: number;
  /** Varint or fixed value, or the bytes of a length-delimited field. */
  readonly value: bigint | Uint8Array;
}

/** Fields of one protobuf message (https://protobuf.dev/programming-guides/encoding/). */
function* fields(bytes: Uint8Array): Generator<Field> {
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n;; shift += 7n) {
      const byte = bytes[at++];
      if (byte === undefined) {
        throw new SyntaxError("Cannot read ONNX as a varint runs past the end");
      }
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const number = key >>> 3;
    const wireType = key & 7;
    if (wireType === 0) yield { number, wireType, value: varint() };
    else if (wireType === 2) {
      const length = Number(varint());
      yield { number, wireType, value: bytes.subarray(at, at + length) };
      at += length;
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      yield { number, wireType, value: bytes.subarray(at, at + size) };
      at += size;
    } else {
      throw new SyntaxError(`Cannot read ONNX as wire type ${wireType} is not supported`);
    }
  }
}

function bytesOf(field: Field): Uint8Array {
  if (field.value instanceof Uint8Array) return field.value;
  throw new SyntaxError(`Cannot read ONNX as field ${field.number} must be length-delimited`);
}

/** One initializer as stored: dims, type, and where its bytes are. */
interface RawTensor {
  name: string;
  dims: number[];
  dataType: number;
  raw?: Uint8Array;
  external: Record<string, string>;
}

function parseTensor(bytes: Uint8Array): RawTensor {
  const tensor: RawTensor = { name: "", dims: [], dataType: 0, external: {} };
  for (const field of fields(bytes)) {
    if (field.number === 1 && field.wireType === 0) tensor.dims.push(Number(field.value));
    else if (field.number === 1) {
      for (const dim of fields(packedVarints(bytesOf(field)))) tensor.dims.push(Number(dim.value));
    } else if (field.number === 2) tensor.dataType = Number(field.value);
    else if (field.number === 8) tensor.name = new TextDecoder().decode(bytesOf(field));
    else if (field.number === 9) tensor.raw = bytesOf(field);
    else if (field.number === 13) {
      const entry = [...fields(bytesOf(field))];
      const text = (n: number) =>
        new TextDecoder().decode(bytesOf(entry.find((f) => f.number === n)!));
      tensor.external[text(1)] = text(2);
    }
  }
  return tensor;
}

/** Packed repeated varints re-keyed as field 1 varints, so {@linkcode fields} can read them. */
function packedVarints(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let start = true;
  for (const byte of bytes) {
    if (start) out.push(0x08);
    out.push(byte);
    start = (byte & 0x80) === 0;
  }
  return new Uint8Array(out);
}

/**
 * The initializers of the ONNX model at `path`, decoded to fp32 (fp32 and fp16 tensors, inline
 * or in external data files beside the model).
 */
export async function readOnnxInitializers(path: string): Promise<TensorMap> {
  const model = await Deno.readFile(path);
  const graph = [...fields(model)].find((f) => f.number === 7);
  if (graph === undefined) throw new SyntaxError(`Cannot read "${path}" as it has no ONNX graph`);
  const externalFiles = new Map<string, Uint8Array>();
  const tensors: TensorMap = new Map();
  for (const field of fields(bytesOf(graph))) {
    if (field.number !== 5) continue; // GraphProto.initializer
    const raw = parseTensor(bytesOf(field));
    const bytes = raw.raw ?? await externalBytes(path, raw, externalFiles);
    tensors.set(raw.name, { shape: raw.dims, data: decodeTensor(raw, bytes, path) });
  }
  return tensors;
}

async function externalBytes(
  modelPath: string,
  tensor: RawTensor,
  cache: Map<string, Uint8Array>,
): Promise<Uint8Array> {
  const location = tensor.external.location;
  if (location === undefined) {
    throw new SyntaxError(
      `Cannot read initializer "${tensor.name}" of "${modelPath}" as it has neither raw data nor an external location`,
    );
  }
  const file = join(dirname(modelPath), location);
  if (!cache.has(file)) cache.set(file, await Deno.readFile(file));
  const offset = Number(tensor.external.offset ?? 0);
  const length = Number(tensor.external.length ?? cache.get(file)!.length - offset);
  return cache.get(file)!.subarray(offset, offset + length);
}

function decodeTensor(tensor: RawTensor, bytes: Uint8Array, path: string): Float32Array {
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (tensor.dataType === FLOAT) {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  } else if (tensor.dataType === FLOAT16) {
    for (let i = 0; i < count; i++) out[i] = fp16ToFp32(view.getUint16(i * 2, true));
  } else {
    throw new TypeError(
      `Cannot read initializer "${tensor.name}" of "${path}" as its data type must be float or float16: current value is ${tensor.dataType}`,
    );
  }
  return out;
}

/** `[rows, cols]` to `[cols, rows]`. */
function transpose(tensor: { shape: readonly number[]; data: Float32Array }) {
  const [rows, cols] = tensor.shape as [number, number];
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) data[c * rows + r] = tensor.data[r * cols + c]!;
  }
  return { shape: [cols, rows], data };
}

/**
 * Hugging Face `LlamaForCausalLM` tensors from the initializers of an onnxruntime-genai Llama
 * export: attention and MLP projections are stored as MatMul weights `[in, out]` and become
 * `nn.Linear` weights `[out, in]`; the final norm is `model.layers.<n>.final_norm_layernorm`.
 */
export function llamaFromGenaiOnnx(initializers: TensorMap, layers: number): TensorMap {
  const get = (name: string) => {
    const tensor = initializers.get(name);
    if (tensor === undefined) {
      throw new RangeError(`Cannot map the ONNX Llama as it has no initializer "${name}"`);
    }
    return tensor;
  };
  const tensors: TensorMap = new Map([[
    "model.embed_tokens.weight",
    get("model.embed_tokens.weight"),
  ]]);
  for (let i = 0; i < layers; i++) {
    const prefix = `model.layers.${i}`;
    for (const norm of ["input_layernorm", "post_attention_layernorm"]) {
      tensors.set(`${prefix}.${norm}.weight`, get(`${prefix}.${norm}.weight`));
    }
    for (const proj of ["q_proj", "k_proj", "v_proj", "o_proj"]) {
      tensors.set(
        `${prefix}.self_attn.${proj}.weight`,
        transpose(get(`${prefix}.attn.${proj}.MatMul.weight`)),
      );
    }
    for (const proj of ["gate_proj", "up_proj", "down_proj"]) {
      tensors.set(
        `${prefix}.mlp.${proj}.weight`,
        transpose(get(`${prefix}.mlp.${proj}.MatMul.weight`)),
      );
    }
  }
  tensors.set("model.norm.weight", get(`model.layers.${layers}.final_norm_layernorm.weight`));
  tensors.set("lm_head.weight", transpose(get("lm_head.MatMul.weight")));
  return tensors;
}
