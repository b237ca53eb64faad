/**
 * A byte-level BPE tokenizer trained on a corpus (Sennrich et al., 2016, over GPT-2's byte-level
 * alphabet, Radford et al., 2019), written as a standard Hugging Face `tokenizer.json`: the
 * `ByteLevel` pre-tokenizer (GPT-2's split pattern), a `BPE` model with its vocabulary and merges,
 * the `ByteLevel` decoder, and a `TemplateProcessing` post-processor that starts every encoded
 * text with `<|endoftext|>`. `loadTokenizer` (`@huggingface/tokenizers`), the `onnx:` backend and
 * Python's `tokenizers`/`transformers` read it as it is.
 *
 * Training follows Hugging Face's `BpeTrainer`: the texts are split into words with the
 * pre-tokenizer's pattern, each word becomes its UTF-8 bytes as symbols, and the most frequent
 * adjacent pair (ties: the pair of smaller ids) is merged until the vocabulary is
 * full or no pair occurs `minFrequency` times. The 256 byte symbols are always in the vocabulary,
 * so any text encodes.
 *
 * @module
 */

import { join } from "node:path";
import { writeAtomic } from "../safetensors.ts";

/** GPT-2's pre-tokenizer pattern, as `@huggingface/tokenizers`' `ByteLevel` uses it. */
export const BYTE_LEVEL_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The special token that separates documents, starts every encoded text and ends generation. */
export const END_OF_TEXT = "<|endoftext|>";

/** Options of {@linkcode trainBpe}. */
export interface TrainBpeOptions {
  /** Vocabulary size, special tokens and the 256 bytes included. @default 4096 */
  readonly vocabSize?: number;
  /** A pair seen fewer times is never merged. @default 2 */
  readonly minFrequency?: number;
  /** Special tokens, first ids. @default ["<|endoftext|>"] */
  readonly specialTokens?: readonly string[];
}

/** A trained tokenizer: its vocabulary (by id) and merges (by rank). */
export interface BpeModel {
  /** Token strings in the byte-level alphabet, indexed by id. */
  readonly vocab: readonly string[];
  /** Merges in rank order, each the two token strings merged. */
  readonly merges: readonly (readonly [string, string])[];
  readonly specialTokens: readonly string[];
}

/** GPT-2's reversible map of the 256 bytes to printable characters. */
export const BYTES_TO_UNICODE: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  }
  return table;
})();

/** Counts the byte-level words of `texts` (each word mapped to GPT-2's byte alphabet). */
export function countWords(texts: Iterable<string>, counts = new Map<string, number>()) {
  const encoder = new TextEncoder();
  for (const text of texts) {
    for (const match of text.matchAll(BYTE_LEVEL_PATTERN)) {
      const word = match[0];
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  // Byte-level mapping once per distinct word, not per occurrence.
  const mapped = new Map<string, number>();
  for (const [word, count] of counts) {
    let key = "";
    for (const byte of encoder.encode(word)) key += BYTES_TO_UNICODE[byte];
    mapped.set(key, (mapped.get(key) ?? 0) + count);
  }
  return mapped;
}

/** A max-heap of (count, pair) with lazy deletion: stale entries are checked when popped. */
class PairHeap {
  readonly #counts: number[] = [];
  readonly #pairs: number[] = [];
  readonly #better: (a: number, ca: number, b: number, cb: number) => boolean;

  constructor(better: (a: number, ca: number, b: number, cb: number) => boolean) {
    this.#better = better;
  }

  get size(): number {
    return this.#pairs.length;
  }

  push(pair: number, count: number): void {
    this.#pairs.push(pair);
    this.#counts.push(count);
    let i = this.#pairs.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#above(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): { pair: number; count: number } | undefined {
    if (this.#pairs.length === 0) return undefined;
    const top = { pair: this.#pairs[0]!, count: this.#counts[0]! };
    const lastPair = this.#pairs.pop()!;
    const lastCount = this.#counts.pop()!;
    if (this.#pairs.length > 0) {
      this.#pairs[0] = lastPair;
      this.#counts[0] = lastCount;
      this.#siftDown(0);
    }
    return top;
  }

  #siftDown(i: number): void {
    const n = this.#pairs.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.#above(l, best)) best = l;
      if (r < n && this.#above(r, best)) best = r;
      if (best === i) return;
      this.#swap(i, best);
      i = best;
    }
  }

  #above(i: number, j: number): boolean {
    return this.#better(this.#pairs[i]!, this.#counts[i]!, this.#pairs[j]!, this.#counts[j]!);
  }

  #swap(i: number, j: number): void {
    [this.#pairs[i], this.#pairs[j]] = [this.#pairs[j]!, this.#pairs[i]!];
    [this.#counts[i], this.#counts[j]] = [this.#counts[j]!, this.#counts[i]!];
  }
}

/** Ids are below 2^15, so a pair `a * 2^15 + b` is a small integer (a fast Map key). */
const PAIR_BASE = 2 ** 15;

/** Trains a byte-level BPE on word counts from {@linkcode countWords}. */
export function trainBpe(words: ReadonlyMap<string, number>, options: TrainBpeOptions = {}) {
  const specialTokens = options.specialTokens ?? [END_OF_TEXT];
  const vocabSize = options.vocabSize ?? 4096;
  const minFrequency = options.minFrequency ?? 2;
  const base = specialTokens.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < base || vocabSize >= PAIR_BASE) {
    throw new RangeError(
      `Cannot train a byte-level BPE as "vocabSize" must be an integer from ${base} (special tokens and 256 bytes) to ${
        PAIR_BASE - 1
      }: current value is ${vocabSize}`,
    );
  }
  // The byte symbols sorted by code point, as Hugging Face's trainer orders its alphabet.
  const alphabet = [...BYTES_TO_UNICODE].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const vocab = [...specialTokens, ...alphabet];
  const ids = new Map(vocab.map((token, id) => [token, id]));
  const state = initialPairs(words, ids);
  const merges: [string, string][] = [];
  // Ties go to the pair of smaller ids, as in Hugging Face's BpeTrainer.
  const heap = new PairHeap((a, ca, b, cb) => ca > cb || (ca === cb && a < b));
  for (const [pair, count] of state.counts) heap.push(pair, count);
  while (vocab.length < vocabSize) {
    const top = heap.pop();
    if (top === undefined) break;
    const current = state.counts.get(top.pair) ?? 0;
    if (current !== top.count) {
      if (current > 0) heap.push(top.pair, current);
      continue;
    }
    if (current < minFrequency) break;
    const left = Math.floor(top.pair / PAIR_BASE);
    const right = top.pair % PAIR_BASE;
    const merged = vocab.length;
    vocab.push(vocab[left]! + vocab[right]!);
    merges.push([vocab[left]!, vocab[right]!]);
    for (const [pair, count] of applyMerge(state, top.pair, merged)) heap.push(pair, count);
  }
  return { vocab, merges, specialTokens: [...specialTokens] } satisfies BpeModel;
}

interface PairState {
  /** Each distinct word as symbol ids. */
  readonly words: number[][];
  readonly freq: number[];
  readonly counts: Map<number, number>;
  /** Words that hold each pair (a superset: entries are not removed). */
  readonly where: Map<number, Set<number>>;
}

function initialPairs(words: ReadonlyMap<string, number>, ids: Map<string, number>): PairState {
  const state: PairState = { words: [], freq: [], counts: new Map(), where: new Map() };
  for (const [word, count] of words) {
    const symbols = [...word].map((ch) => ids.get(ch)!);
    const index = state.words.length;
    state.words.push(symbols);
    state.freq.push(count);
    addPairs(state, index);
  }
  return state;
}

/** Adds the pairs of word `index` to the counts. */
function addPairs(state: PairState, index: number): void {
  const symbols = state.words[index]!;
  for (let i = 0; i + 1 < symbols.length; i++) {
    count(state, symbols[i]! * PAIR_BASE + symbols[i + 1]!, state.freq[index]!, index);
  }
}

function count(state: PairState, pair: number, delta: number, index: number): void {
  state.counts.set(pair, (state.counts.get(pair) ?? 0) + delta);
  if (delta <= 0) return;
  let set = state.where.get(pair);
  if (set === undefined) state.where.set(pair, set = new Set());
  set.add(index);
}

/**
 * Merges `pair` into `merged` in every word that holds it, updating only the counts of the
 * neighbouring pairs; returns the pairs whose count grew.
 */
function applyMerge(state: PairState, pair: number, merged: number): Map<number, number> {
  const left = Math.floor(pair / PAIR_BASE);
  const right = pair % PAIR_BASE;
  const grown = new Set<number>();
  for (const index of state.where.get(pair) ?? []) {
    const symbols = state.words[index]!;
    if (!holds(symbols, left, right)) continue;
    const freq = state.freq[index]!;
    const out: number[] = [];
    for (let i = 0; i < symbols.length; i++) {
      if (i + 1 >= symbols.length || symbols[i] !== left || symbols[i + 1] !== right) {
        out.push(symbols[i]!);
        continue;
      }
      // (prev, left) becomes (prev, merged); (right, next) becomes (merged, next).
      const prev = out.at(-1);
      if (prev !== undefined) {
        count(state, prev * PAIR_BASE + left, -freq, index);
        count(state, prev * PAIR_BASE + merged, freq, index);
        grown.add(prev * PAIR_BASE + merged);
      }
      const next = symbols[i + 2];
      if (next !== undefined) {
        count(state, right * PAIR_BASE + next, -freq, index);
        count(state, merged * PAIR_BASE + next, freq, index);
        grown.add(merged * PAIR_BASE + next);
      }
      out.push(merged);
      i++;
    }
    state.words[index] = out;
  }
  state.where.delete(pair);
  state.counts.delete(pair);
  return new Map([...grown].map((p) => [p, state.counts.get(p) ?? 0]));
}

function holds(symbols: readonly number[], left: number, right: number): boolean {
  for (let i = 0; i + 1 < symbols.length; i++) {
    if (symbols[i] === left && symbols[i + 1] === right) return true;
  }
  return false;
}

/** The `tokenizer.json` object of a trained model. */
export function tokenizerJson(model: BpeModel): Record<string, unknown> {
  const specials = new Set(model.specialTokens);
  const first = model.specialTokens[0];
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: model.specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: "ByteLevel",
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: first === undefined ? null : {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: first, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: first, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: first, type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { [first]: { id: first, ids: [0], tokens: [first] } },
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(
        model.vocab.map((token, id) => [token, id]).filter(([token]) =>
          !specials.has(token as string)
        ),
      ),
      merges: model.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/**
 * Writes `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json` into `dir`
 * (`<|endoftext|>` as BOS, EOS and padding, as GPT-2 has it).
 */
export async function saveTokenizer(dir: string, model: BpeModel, maxLength: number) {
  await Deno.mkdir(dir, { recursive: true });
  const eot = model.specialTokens[0] ?? END_OF_TEXT;
  const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
  await writeAtomic(join(dir, "tokenizer.json"), json(tokenizerJson(model)));
  await writeAtomic(
    join(dir, "tokenizer_config.json"),
    json({
      tokenizer_class: "PreTrainedTokenizerFast",
      bos_token: eot,
      eos_token: eot,
      pad_token: eot,
      unk_token: null,
      add_bos_token: true,
      model_max_length: maxLength,
      clean_up_tokenization_spaces: false,
    }),
  );
  await writeAtomic(
    join(dir, "special_tokens_map.json"),
    json({ bos_token: eot, eos_token: eot, pad_token: eot }),
  );
}

/**
 * Encodes text with a byte-level BPE `tokenizer.json` (as {@linkcode tokenizerJson} writes it)
 * the way `@huggingface/tokenizers` does, several times faster on large corpora: each distinct
 * word is merged once (lowest merge rank first) and cached. Special tokens in the text are not
 * recognised: corpus text is encoded as text, and `<|endoftext|>` is added by the caller.
 */
export class ByteLevelBpeEncoder {
  readonly #ids: Map<string, number>;
  readonly #ranks: Map<string, number>;
  readonly #cache = new Map<string, readonly number[]>();
  readonly #encoder = new TextEncoder();

  constructor(vocab: Readonly<Record<string, number>>, merges: readonly string[]) {
    this.#ids = new Map(Object.entries(vocab));
    this.#ranks = new Map(merges.map((merge, rank) => [merge, rank]));
  }

  /** The encoder of a `tokenizer.json` object, or undefined when it is not a plain byte-level BPE. */
  static from(json: Record<string, unknown>): ByteLevelBpeEncoder | undefined {
    const model = json.model as Record<string, unknown> | undefined;
    const pre = json.pre_tokenizer as Record<string, unknown> | null | undefined;
    const plain = model?.type === "BPE" && json.normalizer === null && pre?.type === "ByteLevel" &&
      pre.add_prefix_space === false && pre.use_regex !== false && model.byte_fallback !== true &&
      model.continuing_subword_prefix == null && model.end_of_word_suffix == null;
    if (!plain) return undefined;
    const merges = (model.merges as (string | [string, string])[]).map((m) =>
      typeof m === "string" ? m : m.join(" ")
    );
    return new ByteLevelBpeEncoder(model.vocab as Record<string, number>, merges);
  }

  /** Ids of `text`, no special tokens. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const match of text.matchAll(BYTE_LEVEL_PATTERN)) {
      let ids = this.#cache.get(match[0]);
      if (ids === undefined) {
        ids = this.#word(match[0]);
        if (this.#cache.size < 1_000_000) this.#cache.set(match[0], ids);
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  #word(word: string): number[] {
    let parts: string[] = [];
    for (const byte of this.#encoder.encode(word)) parts.push(BYTES_TO_UNICODE[byte]!);
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rank = this.#ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank];
      }
      if (best < 0) break;
      const [left, right] = [parts[best]!, parts[best + 1]!];
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === left && parts[i + 1] === right) {
          next.push(left + right);
          i++;
        } else {
          next.push(parts[i]!);
        }
      }
      parts = next;
    }
    return parts.map((part) => {
      const id = this.#ids.get(part);
      if (id === undefined) {
        throw new RangeError(`Cannot encode "${word}" as token "${part}" is not in the vocabulary`);
      }
      return id;
    });
  }
}
