/**
 * Hugging Face `safetensors` in and out: single files and sharded checkpoints with their
 * `model.safetensors.index.json`, in fp32, fp16 and bf16. Tensors are held here as plain
 * `Float32Array`s with their Hugging Face names, so this file knows nothing of TensorFlow.js.
 *
 * Format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the
 * raw little-endian bytes.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";

/** Storage types read and written. */
export type SafetensorsDtype = "F32" | "F16" | "BF16";

/** One named tensor, always decoded to fp32. */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Name to tensor, in file order. */
export type TensorMap = Map<string, NamedTensor>;

/** Options for {@linkcode writeSafetensors} and {@linkcode saveCheckpointTensors}. */
export interface WriteSafetensorsOptions {
  /** Storage type. @default "F32" */
  readonly dtype?: SafetensorsDtype;
  /** Free-form string metadata (`{"format": "pt"}` is always set, as transformers expects). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Options for {@linkcode saveCheckpointTensors}. */
export interface SaveCheckpointOptions extends WriteSafetensorsOptions {
  /** Largest shard in bytes; a larger checkpoint is split with an index. @default 2 GiB */
  readonly maxShardBytes?: number;
}

const BYTES: Readonly<Record<SafetensorsDtype, number>> = { F32: 4, F16: 2, BF16: 2 };

interface HeaderEntry {
  readonly dtype: string;
  readonly shape: number[];
  readonly data_offsets: [number, number];
}

/** Decodes one IEEE 754 half-precision value. */
export function fp16ToFp32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Encodes one value as IEEE 754 half precision, rounding to nearest even. */
export function fp32ToFp16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && (out & 1))) out++;
    return sign | out;
  }
  let out = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1))) out++;
  return sign | out;
}

/** Encodes one value as bfloat16, rounding to nearest even. */
export function fp32ToBf16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function decode(dtype: string, bytes: Uint8Array, name: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Every host Deno runs on is little-endian, so fp32 bytes are copied as they are.
  if (dtype === "F32") return new Float32Array(bytes.slice().buffer);
  if (dtype === "F16") {
    const out = new Float32Array(bytes.byteLength / 2);
    for (let i = 0; i < out.length; i++) out[i] = fp16ToFp32(view.getUint16(i * 2, true));
    return out;
  }
  if (dtype === "BF16") {
    const words = new Uint32Array(bytes.byteLength / 2);
    for (let i = 0; i < words.length; i++) words[i] = view.getUint16(i * 2, true) << 16;
    return new Float32Array(words.buffer);
  }
  throw new TypeError(
    `Cannot read tensor "${name}" as its dtype must be F32, F16 or BF16: current value is "${dtype}"`,
  );
}

function encode(data: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  const out = new Uint8Array(data.length * BYTES[dtype]);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (dtype === "F32") view.setFloat32(i * 4, data[i]!, true);
    else if (dtype === "F16") view.setUint16(i * 2, fp32ToFp16(data[i]!), true);
    else view.setUint16(i * 2, fp32ToBf16(data[i]!), true);
  }
  return out;
}

/** Parses the bytes of one `.safetensors` file. */
export function parseSafetensors(bytes: Uint8Array, source = "safetensors"): TensorMap {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) {
    throw new SyntaxError(`Cannot read "${source}" as it is shorter than the 8-byte header length`);
  }
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.byteLength) {
    throw new SyntaxError(
      `Cannot read "${source}" as its header length must fit in the file: current value is ${headerLength} for ${bytes.byteLength} bytes`,
    );
  }
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)),
  ) as Record<string, HeaderEntry>;
  const body = bytes.subarray(8 + headerLength);
  const tensors: TensorMap = new Map();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [begin, end] = entry.data_offsets;
    tensors.set(name, {
      shape: entry.shape,
      data: decode(entry.dtype, body.subarray(begin, end), name),
    });
  }
  return tensors;
}

/** Serializes tensors to the bytes of one `.safetensors` file. */
export function serializeSafetensors(
  tensors: TensorMap,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const dtype = options.dtype ?? "F32";
  const header: Record<string, unknown> = {
    __metadata__: { format: "pt", ...options.metadata },
  };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const bytes = encode(tensor.data, dtype);
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // The body starts 8-byte aligned, as the reference writer pads the header with spaces.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(padded - json.length));
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Reads one `.safetensors` file. */
export async function readSafetensors(path: string): Promise<TensorMap> {
  return parseSafetensors(await Deno.readFile(path), path);
}

/** Writes one `.safetensors` file atomically (temporary file, then rename). */
export async function writeSafetensors(
  path: string,
  tensors: TensorMap,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  await writeAtomic(path, serializeSafetensors(tensors, options));
}

/** Writes bytes to `path` through a temporary file and a rename. */
export async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  if (typeof bytes === "string") await Deno.writeTextFile(tmp, bytes);
  else await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, path);
}

/**
 * Reads a checkpoint folder's weights: `model.safetensors`, or the shards its
 * `model.safetensors.index.json` names.
 */
export async function loadCheckpointTensors(dir: string): Promise<TensorMap> {
  const single = join(dir, "model.safetensors");
  if (existsSync(single)) return await readSafetensors(single);
  const indexPath = join(dir, "model.safetensors.index.json");
  if (!existsSync(indexPath)) {
    throw new Deno.errors.NotFound(
      `Cannot load weights from "${dir}" as it holds neither model.safetensors nor model.safetensors.index.json: save the checkpoint with safetensors`,
    );
  }
  const index = JSON.parse(await Deno.readTextFile(indexPath)) as {
    weight_map: Record<string, string>;
  };
  const tensors: TensorMap = new Map();
  for (const shard of new Set(Object.values(index.weight_map))) {
    for (const [name, tensor] of await readSafetensors(join(dir, shard))) {
      tensors.set(name, tensor);
    }
  }
  return tensors;
}

/**
 * Writes a checkpoint folder's weights as `model.safetensors`, or, past `maxShardBytes`, as
 * `model-0000i-of-0000n.safetensors` shards with `model.safetensors.index.json`, the layout
 * `transformers` writes and reads.
 */
export async function saveCheckpointTensors(
  dir: string,
  tensors: TensorMap,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  const bytesPer = BYTES[options.dtype ?? "F32"];
  const maxShardBytes = options.maxShardBytes ?? 2 ** 31;
  const shards: TensorMap[] = [new Map()];
  let size = 0;
  let total = 0;
  for (const [name, tensor] of tensors) {
    const bytes = tensor.data.length * bytesPer;
    if (size > 0 && size + bytes > maxShardBytes) {
      shards.push(new Map());
      size = 0;
    }
    shards.at(-1)!.set(name, tensor);
    size += bytes;
    total += bytes;
  }
  await Deno.mkdir(dir, { recursive: true });
  // A stale file of the other layout would shadow or contradict the new weights on load.
  const stale = shards.length === 1 ? "model.safetensors.index.json" : "model.safetensors";
  await Deno.remove(join(dir, stale)).catch(() => {});
  if (shards.length === 1) {
    await writeSafetensors(join(dir, "model.safetensors"), tensors, options);
    return;
  }
  const weightMap: Record<string, string> = {};
  const pad = (i: number) => String(i).padStart(5, "0");
  for (const [i, shard] of shards.entries()) {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    await writeSafetensors(join(dir, file), shard, options);
    for (const name of shard.keys()) weightMap[name] = file;
  }
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  await writeAtomic(
    join(dir, "model.safetensors.index.json"),
    JSON.stringify(index, null, 2) + "\n",
  );
}
