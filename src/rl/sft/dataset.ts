/**
 * Corpus items to training rows. Documents are encoded as `<bos> text <eos>` and packed, one
 * after another, into rows of `seqLen` tokens (each row starts with the last token of the one
 * before, so every token is a target exactly once); the loss is on every token. A prompt ->
 * solution pair is one row, `<bos> prompt solution <eos>`, the loss on the solution and its end
 * token only (the prompt's head is cut when the row is too long). A share of the items, chosen by
 * a hash of their id, is held out for the validation loss. Batches come in a seeded order per
 * epoch, so step `s` always sees the same rows and a resumed run continues where it stopped.
 *
 * @module
 */

import { seededRandom } from "../../models/sampling.ts";
import { shuffled } from "../ppo/update.ts";
import type { CorpusItem } from "./corpus.ts";

/** Rows of one split, flat: row `r` is `tokens[offsets[r] .. offsets[r + 1])`. */
export interface Rows {
  readonly tokens: Int32Array;
  /** `rows + 1` offsets. */
  readonly offsets: Int32Array;
  /** Index (within the row) of the first token the loss is taken on; 1 for documents. */
  readonly lossStart: Int32Array;
}

/** Training and validation rows with their counts. */
export interface SftDataset {
  readonly train: Rows;
  readonly val: Rows;
  readonly stats: {
    readonly trainItems: number;
    readonly valItems: number;
    readonly trainTokens: number;
    readonly valTokens: number;
    /** Pairs whose prompt was cut to fit `seqLen`. */
    readonly truncatedPairs: number;
  };
}

/** How ids are made (the tokenizer's, without special tokens) and framed. */
export interface Encoding {
  readonly encode: (text: string) => number[];
  /** Ids that start every sequence (the tokenizer's BOS; empty for GPT-2). */
  readonly prefix: readonly number[];
  readonly eos: number;
}

/** Options of {@linkcode buildDataset}. */
export interface BuildDatasetOptions {
  readonly seqLen: number;
  readonly valFraction: number;
  /** Called every few thousand items with the count done. */
  readonly progress?: (done: number, total: number) => void;
}

/** FNV-1a of a string, for choosing held-out items independently of their order. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}

/** Whether an item is in the validation share (`fraction` of ids, by hash). */
export function isValidation(id: string, fraction: number): boolean {
  return fnv1a(id) / 2 ** 32 < fraction;
}

class RowWriter {
  tokens: number[] = [];
  offsets: number[] = [0];
  lossStart: number[] = [];

  push(ids: readonly number[], lossStart: number): void {
    for (const id of ids) this.tokens.push(id);
    this.offsets.push(this.tokens.length);
    this.lossStart.push(lossStart);
  }

  done(): Rows {
    return {
      tokens: Int32Array.from(this.tokens),
      offsets: Int32Array.from(this.offsets),
      lossStart: Int32Array.from(this.lossStart),
    };
  }
}

/** Packs a token stream into rows of `seqLen` that overlap by one token. */
function packStream(stream: readonly number[], seqLen: number, out: RowWriter): void {
  if (stream.length < 2) return;
  if (stream.length <= seqLen) return out.push(stream, 1);
  for (let start = 0; start + 1 < stream.length; start += seqLen - 1) {
    const row = stream.slice(start, start + seqLen);
    if (row.length < seqLen && start > 0) {
      // The tail: take the last seqLen tokens, the loss only on those not yet a target.
      const from = stream.length - seqLen;
      out.push(stream.slice(from), start - from + 1);
      return;
    }
    out.push(row, 1);
  }
}

/** A pair's row: the prompt's head cut when prompt and solution do not fit. */
function pairRow(item: CorpusItem, encoding: Encoding, seqLen: number) {
  const prompt = [...encoding.prefix, ...encoding.encode(item.prompt ?? "")];
  const solution = [...encoding.encode(item.text), encoding.eos];
  const answer = solution.slice(0, Math.max(1, seqLen - Math.min(prompt.length, seqLen / 2)));
  const room = seqLen - answer.length;
  const kept = prompt.length > room ? prompt.slice(prompt.length - room) : prompt;
  const lossStart = item.lossOnPrompt ? 1 : Math.max(1, kept.length);
  return { ids: [...kept, ...answer], lossStart, truncated: kept.length < prompt.length };
}

/** Encodes and packs `items` (see the module doc). */
export function buildDataset(
  items: readonly CorpusItem[],
  encoding: Encoding,
  options: BuildDatasetOptions,
): SftDataset {
  const train = new RowWriter();
  const val = new RowWriter();
  const streams = { train: [] as number[], val: [] as number[] };
  const held = chooseValidation(items, options.valFraction);
  let truncatedPairs = 0;
  let valItems = 0;
  for (const [i, item] of items.entries()) {
    const isVal = held.has(i);
    valItems += isVal ? 1 : 0;
    if (item.prompt !== undefined) {
      const row = pairRow(item, encoding, options.seqLen);
      (isVal ? val : train).push(row.ids, row.lossStart);
      truncatedPairs += row.truncated ? 1 : 0;
    } else {
      const stream = isVal ? streams.val : streams.train;
      for (const id of encoding.prefix) stream.push(id);
      for (const id of encoding.encode(item.text)) stream.push(id);
      stream.push(encoding.eos);
    }
    if (i % 2000 === 1999) options.progress?.(i + 1, items.length);
  }
  packStream(streams.train, options.seqLen, train);
  packStream(streams.val, options.seqLen, val);
  const trainRows = train.done();
  const valRows = val.done();
  return {
    train: trainRows,
    val: valRows,
    stats: {
      trainItems: items.length - valItems,
      valItems,
      trainTokens: trainRows.tokens.length,
      valTokens: valRows.tokens.length,
      truncatedPairs,
    },
  };
}

/** Indices of the validation items; at least one when there are two or more items. */
function chooseValidation(items: readonly CorpusItem[], fraction: number): Set<number> {
  const held = new Set<number>();
  for (const [i, item] of items.entries()) if (isValidation(item.id, fraction)) held.add(i);
  if (held.size === 0 && items.length >= 2) {
    let best = 0;
    for (let i = 1; i < items.length; i++) {
      if (fnv1a(items[i]!.id) < fnv1a(items[best]!.id)) best = i;
    }
    held.add(best);
  }
  if (held.size === items.length && items.length >= 2) held.delete(items.length - 1);
  return held;
}

/** Number of rows. */
export function rowCount(rows: Rows): number {
  return rows.offsets.length - 1;
}

/** Row `r`'s ids and loss start. */
export function row(rows: Rows, r: number): { ids: Int32Array; lossStart: number } {
  return {
    ids: rows.tokens.subarray(rows.offsets[r]!, rows.offsets[r + 1]!),
    lossStart: rows.lossStart[r]!,
  };
}

/**
 * The rows of optimizer step `step` (1-based): `batchSize` consecutive rows of a seeded order of
 * all rows, a new order each epoch.
 */
export function batchRows(rows: Rows, step: number, batchSize: number, seed: number): number[] {
  const n = rowCount(rows);
  if (n === 0) {
    throw new RangeError(
      `Cannot take a batch as the training set has no rows: add text to the corpora`,
    );
  }
  const out: number[] = [];
  let orderEpoch = -1;
  let order: number[] = [];
  for (let k = (step - 1) * batchSize; k < step * batchSize; k++) {
    const epoch = Math.floor(k / n);
    if (epoch !== orderEpoch) {
      order = shuffled(n, seededRandom(seed + 101, epoch));
      orderEpoch = epoch;
    }
    out.push(order[k % n]!);
  }
  return out;
}

/** Epochs done after `step` steps. */
export function epochsAt(rows: Rows, step: number, batchSize: number): number {
  return (step * batchSize) / Math.max(1, rowCount(rows));
}

/** A batch as padded arrays: ids `[b, T]`, attention mask `[b, T]`, loss mask `[b, T - 1]`. */
export interface PaddedBatch {
  readonly ids: Int32Array;
  readonly attention: Int32Array;
  readonly loss: Float32Array;
  readonly rows: number;
  readonly width: number;
  /** Tokens the loss is taken on. */
  readonly lossTokens: number;
}

/** Pads `picked` rows on the right to the longest. */
export function padBatch(rows: Rows, picked: readonly number[], pad: number): PaddedBatch {
  const width = Math.max(2, ...picked.map((r) => rows.offsets[r + 1]! - rows.offsets[r]!));
  const b = picked.length;
  const ids = new Int32Array(b * width).fill(pad);
  const attention = new Int32Array(b * width);
  const loss = new Float32Array(b * (width - 1));
  let lossTokens = 0;
  for (const [i, r] of picked.entries()) {
    const { ids: tokens, lossStart } = row(rows, r);
    ids.set(tokens, i * width);
    attention.fill(1, i * width, i * width + tokens.length);
    // loss[j] scores token j + 1 given the ones before it.
    for (let j = Math.max(0, lossStart - 1); j + 1 < tokens.length; j++) {
      loss[i * (width - 1) + j] = 1;
      lossTokens++;
    }
  }
  return { ids, attention, loss, rows: b, width, lossTokens };
}
