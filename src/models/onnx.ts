/**
 * The `onnx:` backend: a local causal LM on onnxruntime-node (CPU), from a folder holding an
 * ONNX decoder with a KV cache and a Hugging Face `tokenizer.json`, or a hub id downloaded once.
 * Rows of concurrent requests are decoded together in left-padded batches.
 *
 * @module
 */

import { Tokenizer } from "@huggingface/tokenizers";
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { sha256File } from "../util/hash.ts";
import { type HubOptions, MODEL_FILE_CANDIDATES, resolveModelFolder } from "./_hub.ts";
import { cutAtStop } from "./sanitize.ts";
import { type DecoderNames, OnnxDecoder } from "./_onnx_decoder.ts";
import { chooseToken, type Random, seededRandom, type TokenChoice } from "./sampling.ts";
import type {
  Generation,
  GenerationRequest,
  ModelBackend,
  ModelIdentity,
  TokenUsage,
} from "./backend.ts";

/** Options of {@linkcode OnnxBackend.open}. */
export interface OnnxOptions extends HubOptions {
  /** Most sequences decoded together. @default 8 */
  readonly batchSize?: number;
}

/** What a model folder's config files say about generation. */
export interface ModelConfig {
  readonly modelFile: string;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number;
  readonly contextLength?: number;
  readonly vocabSize?: number;
  readonly names: DecoderNames;
}

/** One sequence to decode. */
interface Row {
  readonly promptIds: readonly number[];
  readonly maxTokens: number;
  readonly choice: TokenChoice;
  readonly random: Random;
  readonly stop: readonly string[];
  resolve(ids: number[]): void;
  reject(error: unknown): void;
}

/** A local ONNX causal LM behind the {@linkcode ModelBackend} interface. */
export class OnnxBackend implements ModelBackend {
  readonly identity: ModelIdentity;
  readonly yieldsCode = false;
  readonly decoder: OnnxDecoder;
  readonly tokenizer: Tokenizer;
  readonly config: ModelConfig;
  readonly #batchSize: number;
  readonly #queue: Row[] = [];
  #draining = false;
  #usage = { promptTokens: 0, completionTokens: 0, requests: 0 };

  private constructor(
    decoder: OnnxDecoder,
    tokenizer: Tokenizer,
    config: ModelConfig,
    identity: ModelIdentity,
    batchSize: number,
  ) {
    this.decoder = decoder;
    this.tokenizer = tokenizer;
    this.config = config;
    this.identity = identity;
    this.#batchSize = batchSize;
  }

  /** Loads `spec`: a model folder, an `.onnx` file in one, or a Hugging Face model id. */
  static async open(spec: string, options: OnnxOptions = {}): Promise<OnnxBackend> {
    const batchSize = options.batchSize ?? 8;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(
        `Cannot open ONNX model as the batch size must be a positive integer: current value ${batchSize}`,
      );
    }
    const folder = await resolveModelFolder(spec, options);
    const config = await readModelConfig(folder);
    const tokenizer = await loadTokenizer(folder);
    const decoder = await OnnxDecoder.load(join(folder, config.modelFile), config.names);
    const identity: ModelIdentity = {
      backend: "onnx",
      id: spec,
      settings: {
        modelFile: config.modelFile,
        modelSha256: await sha256File(join(folder, config.modelFile)),
        tokenizerSha256: await sha256File(join(folder, "tokenizer.json")),
        dtype: decoder.dtype,
        kvCache: decoder.cacheLayout,
        batchSize,
        executionProvider: "cpu",
        runtime: "onnxruntime-node@1.30.0",
      },
    };
    return new OnnxBackend(decoder, tokenizer, config, identity, batchSize);
  }

  /** Token ids of `text` as the model sees it (special tokens such as BOS added). */
  encode(text: string): number[] {
    return this.tokenizer.encode(text).ids;
  }

  /** Completions for one task; greedy requests decode once and copy the result to each index. */
  async generate(request: GenerationRequest): Promise<readonly Generation[]> {
    const { sampling } = request;
    const promptIds = this.encode(request.prompt);
    const maxTokens = this.#roomFor(promptIds, sampling.maxTokens);
    const greedy = sampling.temperature <= 0;
    const streams = greedy ? request.indices.slice(0, 1) : request.indices;
    const outputs = await Promise.all(streams.map((index) =>
      this.#enqueue({
        promptIds,
        maxTokens,
        choice: sampling,
        random: seededRandom(sampling.seed, index),
        stop: sampling.stop,
      })
    ));
    const texts = outputs.map((ids) => this.#completionText(promptIds, ids, sampling.stop));
    return request.indices.map((index, i) => {
      const stream = greedy ? 0 : i;
      return {
        index,
        raw: texts[stream] as string,
        promptTokens: promptIds.length,
        completionTokens: (outputs[stream] as number[]).length,
      };
    });
  }

  /** Tokens used so far (each decoded sequence once, greedy copies not counted). */
  usage(): TokenUsage {
    return { ...this.#usage };
  }

  async close(): Promise<void> {
    await this.decoder.release();
  }

  /** New tokens allowed after `promptIds` within the context length. */
  #roomFor(promptIds: readonly number[], maxTokens: number): number {
    const { vocabSize, contextLength } = this.config;
    const outOfVocab = vocabSize === undefined
      ? undefined
      : promptIds.find((id) => id >= vocabSize);
    if (outOfVocab !== undefined) {
      throw new RangeError(
        `Cannot run ONNX model "${this.identity.id}" as the tokenizer gave token id ${outOfVocab} ` +
          `but the model's vocabulary has ${vocabSize} entries: the folder's tokenizer.json does ` +
          `not belong to this model`,
      );
    }
    if (contextLength === undefined) return maxTokens;
    if (promptIds.length >= contextLength) {
      throw new RangeError(
        `Cannot generate as the prompt must be shorter than the model's context: current length ` +
          `${promptIds.length} tokens, context ${contextLength} tokens: use a shorter prompt ` +
          `template or fewer shots`,
      );
    }
    return Math.min(maxTokens, contextLength - promptIds.length);
  }

  /** The text of `ids` as a continuation of `promptIds`, cut before the first stop sequence. */
  #completionText(promptIds: readonly number[], ids: readonly number[], stop: readonly string[]) {
    const options = { skip_special_tokens: true };
    const prompt = this.tokenizer.decode([...promptIds], options);
    const whole = this.tokenizer.decode([...promptIds, ...ids], options);
    // Decoding the continuation on its own would drop the leading space of SentencePiece tokens.
    const text = whole.startsWith(prompt)
      ? whole.slice(prompt.length)
      : this.tokenizer.decode([...ids], options);
    return cutAtStop(text, stop);
  }

  #enqueue(row: Omit<Row, "resolve" | "reject">): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...row, resolve, reject });
      if (!this.#draining) this.#drain();
    });
  }

  /** Decodes queued rows, up to the batch size at a time, until the queue is empty. */
  async #drain(): Promise<void> {
    this.#draining = true;
    // Let the other requests of this turn of the event loop join the first batch.
    await new Promise((resolve) => setTimeout(resolve, 0));
    while (this.#queue.length > 0) {
      const rows = this.#queue.splice(0, this.#batchSize);
      try {
        const outputs = await this.#decode(rows);
        rows.forEach((row, i) => row.resolve(outputs[i] as number[]));
      } catch (error) {
        for (const row of rows) row.reject(error);
      }
    }
    this.#draining = false;
  }

  async #decode(rows: readonly Row[]): Promise<number[][]> {
    const eos = new Set(this.config.eosTokenIds);
    const outputs = await this.decoder.generate(rows.map((r) => r.promptIds), {
      maxTokens: rows.map((r) => r.maxTokens),
      padTokenId: this.config.padTokenId,
      choose: (r, logits) => chooseToken(logits, rows[r]!.choice, rows[r]!.random),
      done: (r, generated) =>
        eos.has(generated.at(-1) as number) || this.#hitsStop(generated, rows[r]!.stop),
    });
    this.#usage.requests++;
    for (const [i, row] of rows.entries()) {
      this.#usage.promptTokens += row.promptIds.length;
      this.#usage.completionTokens += outputs[i]!.length;
    }
    return outputs.map((ids) => eos.has(ids.at(-1) as number) ? ids.slice(0, -1) : ids);
  }

  /** Whether the tail of `generated` contains a stop sequence (decoding only a short window). */
  #hitsStop(generated: readonly number[], stop: readonly string[]): boolean {
    if (stop.length === 0) return false;
    const window = 2 * Math.max(...stop.map((s) => s.length)) + 8;
    const tail = this.tokenizer.decode(generated.slice(-window), { skip_special_tokens: true });
    return stop.some((s) => tail.includes(s));
  }
}

/** The tokenizer of a model folder (`tokenizer.json`, with `tokenizer_config.json` if present). */
export async function loadTokenizer(folder: string): Promise<Tokenizer> {
  const path = join(folder, "tokenizer.json");
  if (!existsSync(path)) {
    throw new TypeError(
      `Cannot load the tokenizer of "${folder}" as it has no tokenizer.json: save it beside the ` +
        `model with tokenizer.save_pretrained(folder) (a fast tokenizer)`,
    );
  }
  const config = await readJson(join(folder, "tokenizer_config.json")) ?? {};
  return new Tokenizer(await readJson(path) as object, config);
}

/** Reads `genai_config.json`, else `config.json` and the tokenizer config, of a model folder. */
export async function readModelConfig(folder: string): Promise<ModelConfig> {
  const genai = (await readJson(join(folder, "genai_config.json")) as GenaiConfig | undefined)
    ?.model;
  const hf = (await readJson(join(folder, "config.json")) ?? {}) as HfConfig;
  const eos = genai?.eos_token_id ?? hf.eos_token_id ?? await tokenizerEos(folder);
  const eosTokenIds = eos === undefined ? [] : [eos].flat();
  return {
    modelFile: genai?.decoder?.filename ?? findModelFile(folder),
    eosTokenIds,
    padTokenId: genai?.pad_token_id ?? hf.pad_token_id ?? eosTokenIds[0] ?? 0,
    ...optional(
      "contextLength",
      genai?.context_length ?? hf.max_position_embeddings ?? hf.n_positions,
    ),
    ...optional("vocabSize", genai?.vocab_size ?? hf.vocab_size),
    names: decoderNames(genai?.decoder),
  };
}

interface GenaiDecoder {
  filename?: string;
  inputs?: Record<string, string>;
  outputs?: Record<string, string>;
  num_hidden_layers?: number;
}

interface GenaiConfig {
  model?: {
    eos_token_id?: number | number[];
    pad_token_id?: number;
    context_length?: number;
    vocab_size?: number;
    decoder?: GenaiDecoder;
  };
}

interface HfConfig {
  eos_token_id?: number | number[];
  pad_token_id?: number;
  max_position_embeddings?: number;
  n_positions?: number;
  vocab_size?: number;
}

/** Input and output names from a genai decoder section (`%d` patterns for the cache). */
function decoderNames(decoder: GenaiDecoder | undefined): DecoderNames {
  const inputs = decoder?.inputs ?? {};
  const outputs = decoder?.outputs ?? {};
  const layers = decoder?.num_hidden_layers;
  const pairs: [string | undefined, string | undefined][] = [
    [inputs.past_key_names, outputs.present_key_names],
    [inputs.past_value_names, outputs.present_value_names],
    [inputs.past_names, outputs.present_names],
  ];
  const cache = new Map<string, string>();
  for (const [past, present] of pairs) {
    if (past === undefined || present === undefined || layers === undefined) continue;
    for (let i = 0; i < layers; i++) {
      cache.set(past.replace("%d", `${i}`), present.replace("%d", `${i}`));
    }
  }
  return {
    ...optional("inputIds", inputs.input_ids),
    ...optional("attentionMask", inputs.attention_mask),
    ...optional("positionIds", inputs.position_ids),
    ...optional("logits", outputs.logits),
    ...(cache.size > 0 ? { cache } : {}),
  };
}

function findModelFile(folder: string): string {
  const found = MODEL_FILE_CANDIDATES.find((c) => existsSync(join(folder, c)));
  if (found) return found;
  const onnx = readdirSync(folder).filter((f) => f.endsWith(".onnx"));
  if (onnx.length === 1) return onnx[0] as string;
  throw new TypeError(
    `Cannot find the ONNX decoder in "${folder}" as it must hold one of ` +
      `${MODEL_FILE_CANDIDATES.join(", ")} or a single .onnx file: current .onnx files ` +
      `${JSON.stringify(onnx)}: name it in genai_config.json (model.decoder.filename)`,
  );
}

async function tokenizerEos(folder: string): Promise<number | undefined> {
  const config = await readJson(join(folder, "tokenizer_config.json")) as
    | { eos_token?: string | { content: string } }
    | undefined;
  const eos = config?.eos_token;
  const content = typeof eos === "string" ? eos : eos?.content;
  if (content === undefined) return undefined;
  return (await loadTokenizer(folder)).token_to_id(content);
}

async function readJson(path: string): Promise<unknown> {
  if (!existsSync(path)) return undefined;
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot read "${basename(path)}" of a model folder as it is not valid JSON: ${
        (error as Error).message
      }: current path "${path}"`,
    );
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
