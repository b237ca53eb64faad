/**
 * Incremental decoding of an ONNX causal LM on onnxruntime-node: left-padded batches with
 * attention masks and position ids, and the KV cache fed back step by step in either export
 * layout (`past_key_values.N.key/value` -> `present.N.key/value`, or stacked `past_N` ->
 * `present_N`). fp16 caches are passed through untouched; only logits are read back as numbers.
 *
 * @module
 */

import { ort } from "./_ort.ts";

/** Input and output names, as `genai_config.json` may spell them. */
export interface DecoderNames {
  readonly inputIds?: string;
  readonly attentionMask?: string;
  readonly positionIds?: string;
  readonly logits?: string;
  /** Past input -> present output, for every cache tensor. */
  readonly cache?: ReadonlyMap<string, string>;
}

/** Options of {@linkcode OnnxDecoder.generate}. */
export interface DecodeOptions {
  /** Most new tokens, per row. */
  readonly maxTokens: readonly number[];
  /** Picks the next token of `row` from its last-position logits. */
  choose(row: number, logits: Float32Array): number;
  /** Whether `row` is finished after `generated` (end of sequence, a stop sequence). */
  done(row: number, generated: readonly number[]): boolean;
  /** Token fed to padded positions and to finished rows. */
  readonly padTokenId: number;
  /** Feed the KV cache back (true), or recompute the whole sequence at every step. @default true */
  readonly cache?: boolean;
}

type Dim = number | string;

interface CacheInput {
  readonly name: string;
  readonly present: string;
  readonly type: ort.Tensor.Type;
  readonly shape: readonly Dim[];
}

/** One loaded decoder session and what it takes as input. */
export class OnnxDecoder {
  readonly session: ort.InferenceSession;
  readonly #types: ReadonlyMap<string, ort.Tensor.Type>;
  readonly #names: Required<Omit<DecoderNames, "cache" | "attentionMask" | "positionIds">> & {
    readonly attentionMask?: string;
    readonly positionIds?: string;
  };
  readonly #cache: readonly CacheInput[];
  readonly #useCacheBranch: string | undefined;

  private constructor(session: ort.InferenceSession, names: DecoderNames) {
    this.session = session;
    const meta = session.inputMetadata.filter((m) =>
      m.isTensor
    ) as ort.InferenceSession.TensorValueMetadata[];
    this.#types = new Map(meta.map((m) => [m.name, m.type]));
    const has = (name: string) => this.#types.has(name);
    const attentionMask = names.attentionMask ?? "attention_mask";
    const positionIds = names.positionIds ?? "position_ids";
    this.#names = {
      inputIds: names.inputIds ?? "input_ids",
      logits: names.logits ?? "logits",
      ...(has(attentionMask) ? { attentionMask } : {}),
      ...(has(positionIds) ? { positionIds } : {}),
    };
    const cacheMap = names.cache ?? inferCacheNames(session.inputNames, session.outputNames);
    this.#cache = meta.filter((m) => cacheMap.has(m.name)).map((m) => ({
      name: m.name,
      present: cacheMap.get(m.name) as string,
      type: m.type,
      shape: m.shape,
    }));
    this.#useCacheBranch = has("use_cache_branch") ? "use_cache_branch" : undefined;
    this.#checkInputs(session);
  }

  /** Opens `modelFile` (external data such as `model.onnx.data` is found beside it). */
  static async load(modelFile: string, names: DecoderNames = {}): Promise<OnnxDecoder> {
    const session = await ort.InferenceSession.create(modelFile, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
    });
    return new OnnxDecoder(session, names);
  }

  /** The cache layout found: `past_key_values` pairs, stacked `past_N`, or none. */
  get cacheLayout(): "key_value" | "stacked" | "none" {
    if (this.#cache.length === 0) return "none";
    return this.#cache[0]?.shape.length === 5 ? "stacked" : "key_value";
  }

  /** Element type of the cache tensors (`float32`, `float16`), or of the logits without one. */
  get dtype(): string {
    return this.#cache[0]?.type ?? "float32";
  }

  #checkInputs(session: ort.InferenceSession): void {
    const known = new Set<string>([
      this.#names.inputIds,
      ...[this.#names.attentionMask, this.#names.positionIds, this.#useCacheBranch]
        .filter((n): n is string => n !== undefined),
      ...this.#cache.map((c) => c.name),
    ]);
    const unknown = session.inputNames.filter((n) => !known.has(n));
    if (unknown.length > 0 || !this.#types.has(this.#names.inputIds)) {
      throw new TypeError(
        `Cannot decode with this ONNX model as its inputs are not those of a causal LM decoder: ` +
          `unknown inputs ${JSON.stringify(unknown)} among ${JSON.stringify(session.inputNames)}` +
          `: export it with a KV cache (optimum-cli export onnx --task text-generation-with-past)`,
      );
    }
    for (const c of this.#cache) {
      if (!session.outputNames.includes(c.present)) {
        throw new TypeError(
          `Cannot decode with this ONNX model as the cache input "${c.name}" has no output ` +
            `"${c.present}": outputs are ${JSON.stringify(session.outputNames)}`,
        );
      }
    }
  }

  /** Generates token ids for each prompt (rows are left-padded into one batch). */
  async generate(
    prompts: readonly (readonly number[])[],
    options: DecodeOptions,
  ): Promise<number[][]> {
    const batch = new Batch(prompts, options.padTokenId);
    const useCache = options.cache ?? true;
    let past: Record<string, ort.Tensor> = this.#emptyCache(prompts.length);
    let feed = batch.prefill();
    const maxSteps = Math.max(0, ...options.maxTokens);
    for (let step = 0; step < maxSteps && batch.active.some((a) => a); step++) {
      const out = await this.session.run({ ...this.#feeds(feed, step), ...past });
      const logits = out[this.#names.logits] as ort.Tensor;
      batch.advance(logits, options);
      if (useCache) {
        past = Object.fromEntries(this.#cache.map((c) => [c.name, out[c.present] as ort.Tensor]));
        feed = batch.nextStep();
      } else {
        feed = batch.full();
      }
    }
    return batch.results();
  }

  #feeds(feed: StepFeed, step: number): Record<string, ort.Tensor> {
    const [rows, width] = [feed.ids.length, feed.ids[0]?.length ?? 0];
    const feeds: Record<string, ort.Tensor> = {
      [this.#names.inputIds]: this.#tensor(this.#names.inputIds, feed.ids.flat(), [rows, width]),
    };
    const { attentionMask, positionIds } = this.#names;
    if (attentionMask) {
      const maskWidth = feed.mask[0]?.length ?? 0;
      feeds[attentionMask] = this.#tensor(attentionMask, feed.mask.flat(), [rows, maskWidth]);
    }
    if (positionIds) {
      feeds[positionIds] = this.#tensor(positionIds, feed.positions.flat(), [rows, width]);
    }
    if (this.#useCacheBranch) {
      feeds[this.#useCacheBranch] = new ort.Tensor("bool", [step > 0 && feed.cached], [1]);
    }
    return feeds;
  }

  #tensor(name: string, values: readonly number[], dims: readonly number[]): ort.Tensor {
    return numericTensor(this.#types.get(name) ?? "int64", values, dims);
  }

  #emptyCache(batchSize: number): Record<string, ort.Tensor> {
    return Object.fromEntries(this.#cache.map((c) => {
      const dims = emptyCacheDims(c, batchSize);
      return [c.name, numericTensor(c.type, [], dims)];
    }));
  }

  /** Releases the session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Past input -> present output, by the naming conventions of HF exports. */
function inferCacheNames(
  inputs: readonly string[],
  outputs: readonly string[],
): Map<string, string> {
  const map = new Map<string, string>();
  for (const name of inputs.filter((n) => n.startsWith("past"))) {
    const candidates = [
      name.replace(/^past_key_values/, "present"),
      name.replace(/^past_key_values/, "present_key_values"),
      name.replace(/^past/, "present"),
    ];
    map.set(name, candidates.find((c) => outputs.includes(c)) ?? candidates[0] as string);
  }
  return map;
}

/** Dims of an empty cache tensor: the batch dim set, the past-length dim 0, the rest fixed. */
function emptyCacheDims(c: CacheInput, batchSize: number): number[] {
  const symbolic = c.shape.filter((d) => typeof d !== "number");
  if (symbolic.length !== 2) {
    throw new TypeError(
      `Cannot build an empty KV cache for "${c.name}" as its shape must have exactly two ` +
        `symbolic dims (batch, past length): current shape ${JSON.stringify(c.shape)}`,
    );
  }
  let seen = 0;
  return c.shape.map((d) => typeof d === "number" ? d : seen++ === 0 ? batchSize : 0);
}

/** A tensor of `type` from plain numbers (integer, float or fp16 types). */
export function numericTensor(
  type: ort.Tensor.Type,
  values: readonly number[],
  dims: readonly number[],
): ort.Tensor {
  switch (type) {
    case "int64":
      return new ort.Tensor(type, BigInt64Array.from(values, (v) => BigInt(v)), dims);
    case "int32":
      return new ort.Tensor(type, Int32Array.from(values), dims);
    case "float32":
      return new ort.Tensor(type, Float32Array.from(values), dims);
    case "float16":
      return new ort.Tensor(type, Uint16Array.from(values, float32ToFloat16Bits), dims);
    default:
      throw new TypeError(`Cannot build a "${type}" tensor: use int64, int32, float32 or float16`);
  }
}

/** One row of a float tensor as float32 (fp16 data may come as raw bits or Float16Array). */
export function floatRow(tensor: ort.Tensor, start: number, length: number): Float32Array {
  const data = tensor.data;
  if (data instanceof Float32Array) return data.slice(start, start + length);
  if (tensor.type === "float16" && data instanceof Uint16Array) {
    const table = float16Table();
    const row = new Float32Array(length);
    for (let i = 0; i < length; i++) row[i] = table[data[start + i] as number] as number;
    return row;
  }
  const typed = data as unknown as ArrayLike<number>;
  return Float32Array.from({ length }, (_, i) => Number(typed[start + i]));
}

let float16Values: Float32Array | undefined;

/** The value of every fp16 bit pattern (256 KiB, built on first use): a lookup per logit. */
function float16Table(): Float32Array {
  float16Values ??= Float32Array.from({ length: 65536 }, (_, bits) => float16BitsToNumber(bits));
  return float16Values;
}

/** The value of IEEE 754 half-precision bits. */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** IEEE 754 half-precision bits of `value`, rounded to nearest even. */
export function float32ToFloat16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const m = (mantissa | 0x800000) >>> (1 - exponent);
    return sign | ((m + 0xfff + ((m >>> 13) & 1)) >>> 13);
  }
  const rounded = (exponent << 10 | mantissa >>> 13) +
    (((mantissa & 0x1fff) + ((mantissa >>> 13) & 1) + 0xfff) >>> 13);
  return sign | rounded;
}

/** What one forward pass is fed. */
interface StepFeed {
  readonly ids: number[][];
  readonly mask: number[][];
  readonly positions: number[][];
  /** Whether a cache from the previous step is fed alongside. */
  readonly cached: boolean;
}

/** The state of a left-padded batch: tokens so far, masks, positions, finished rows. */
class Batch {
  /** Tokens fed per row so far (finished rows are fed padding). */
  readonly generated: number[][];
  readonly active: boolean[];
  readonly #lengths: number[];
  readonly #prompts: readonly (readonly number[])[];
  readonly #pad: number;
  readonly #width: number;
  #mask: number[][];

  constructor(prompts: readonly (readonly number[])[], pad: number) {
    this.#prompts = prompts;
    this.#pad = pad;
    this.#width = Math.max(...prompts.map((p) => p.length));
    if (prompts.some((p) => p.length === 0)) {
      throw new RangeError("Cannot decode an empty prompt: give at least one token");
    }
    this.generated = prompts.map(() => []);
    this.active = prompts.map(() => true);
    this.#lengths = prompts.map(() => 0);
    this.#mask = prompts.map((p) => padLeft(p.map(() => 1), this.#width, 0));
  }

  /** The padded prompts. */
  prefill(): StepFeed {
    const ids = this.#prompts.map((p) => padLeft([...p], this.#width, this.#pad));
    return { ids, mask: this.#mask, positions: this.#mask.map(positionsOf), cached: false };
  }

  /** The whole sequence so far (recomputation without a cache). */
  full(): StepFeed {
    const width = this.#width + (this.generated[0]?.length ?? 0);
    const ids = this.#prompts.map((p, r) =>
      padLeft([...p, ...(this.generated[r] as number[])], width, this.#pad)
    );
    return { ids, mask: this.#mask, positions: this.#mask.map(positionsOf), cached: false };
  }

  /** The last token of each row, for a step on top of the cache. */
  nextStep(): StepFeed {
    const ids = this.generated.map((g) => [g.at(-1) ?? this.#pad]);
    const positions = this.#mask.map((m) => [m.reduce((a, b) => a + b, 0) - 1]);
    return { ids, mask: this.#mask, positions, cached: true };
  }

  /** The tokens each row generated, without the padding fed after it finished. */
  results(): number[][] {
    return this.generated.map((g, r) => g.slice(0, this.#lengths[r]));
  }

  /** Picks a token for every active row from the last position of `logits` [rows, seq, vocab]. */
  advance(logits: ort.Tensor, options: DecodeOptions): void {
    const [rows, seq, vocab] = logits.dims as [number, number, number];
    for (let r = 0; r < rows; r++) {
      const generated = this.generated[r] as number[];
      if (this.active[r]) {
        const row = floatRow(logits, (r * seq + seq - 1) * vocab, vocab);
        generated.push(options.choose(r, row));
        this.#lengths[r] = generated.length;
        const limit = options.maxTokens[r] ?? 0;
        if (generated.length >= limit || options.done(r, generated)) this.active[r] = false;
      } else {
        generated.push(this.#pad);
      }
    }
    this.#mask = this.#mask.map((m) => [...m, 1]);
  }
}

/** Position ids from a left-padded mask: 0.. for real tokens, 1 on padding (as HF does). */
function positionsOf(mask: readonly number[]): number[] {
  let next = 0;
  return mask.map((m) => (m ? next++ : 1));
}

function padLeft(values: number[], width: number, fill: number): number[] {
  return [...new Array(width - values.length).fill(fill), ...values];
}
