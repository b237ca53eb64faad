/**
 * What a run stores of a program's output: within a per-sample byte budget, separate from the
 * output limit the program runs under. A text over its share keeps its head and tail, joined by a
 * line that says how many bytes were cut of how many, so a person sees how the output began and
 * how it ended (the traceback, the last assert) and how large it was.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Execution } from "../types.ts";

/** Bytes of stdout and stderr (every case's included) stored per sample by default. */
export const DEFAULT_STORED_OUTPUT_BYTES = 32 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes: the head and the tail, with a line between them
 * that gives the byte counts. Text within the budget is returned as it is.
 *
 * @example Usage
 * ```ts
 * import { clipText } from "./clip_output.ts";
 * const clipped = clipText("x".repeat(10_000), 200);
 * console.assert(clipped.includes("bytes cut"));
 * ```
 */
export function clipText(text: string, maxBytes: number): string {
  const total = Buffer.byteLength(text, "utf8");
  if (total <= maxBytes) return text;
  // The marker's digits are at most those of `total`, so this is its longest form.
  const room = Math.max(0, maxBytes - cutMarker(total, total).length);
  const headBytes = Math.ceil(room / 2);
  const head = prefixBytes(text, headBytes);
  const tail = suffixBytes(text, room - headBytes);
  const kept = Buffer.byteLength(head, "utf8") + Buffer.byteLength(tail, "utf8");
  return head + cutMarker(total - kept, total) + tail;
}

/** The line put where bytes were cut (ASCII, so its length is its size in bytes). */
function cutMarker(cut: number, total: number): string {
  return `\n[... ${cut} of ${total} bytes cut here ...]\n`;
}

/** The longest prefix of `text` of at most `bytes` UTF-8 bytes, cut on a character boundary. */
function prefixBytes(text: string, bytes: number): string {
  if (bytes <= 0) return "";
  const encoded = encoder.encode(text.slice(0, bytes)); // a character is at least one byte
  let end = Math.min(bytes, encoded.length);
  while (end > 0 && end < encoded.length && (encoded[end]! & 0xc0) === 0x80) end--;
  return decoder.decode(encoded.subarray(0, end));
}

/** The longest suffix of `text` of at most `bytes` UTF-8 bytes, cut on a character boundary. */
function suffixBytes(text: string, bytes: number): string {
  if (bytes <= 0) return "";
  const encoded = encoder.encode(text.slice(-bytes));
  let start = Math.max(0, encoded.length - bytes);
  while (start < encoded.length && (encoded[start]! & 0xc0) === 0x80) start++;
  return decoder.decode(encoded.subarray(start));
}

/**
 * Shares of `budget` for texts of the given sizes: texts that fit keep their size, and what is
 * left is split evenly among the larger ones (water-filling), so one flooding stream cannot push
 * out a short traceback beside it.
 */
export function shareBudget(sizes: readonly number[], budget: number): number[] {
  const order = sizes.map((size, i) => ({ size, i })).sort((a, b) => a.size - b.size);
  const shares = new Array<number>(sizes.length).fill(0);
  let left = budget;
  for (const [rank, { size, i }] of order.entries()) {
    const fair = Math.floor(left / (order.length - rank));
    shares[i] = Math.min(size, fair);
    left -= shares[i]!;
  }
  return shares;
}

/**
 * `execution` with its stdout and stderr (and each case's) cut to share `budget` bytes (a text
 * whose share is shorter than the cut marker, about 40 bytes, keeps the marker alone); the verdict
 * fields are untouched. Returns the same object when everything fits.
 */
export function clipExecution(
  execution: Execution,
  budget = DEFAULT_STORED_OUTPUT_BYTES,
): Execution {
  const cases = execution.cases ?? [];
  const texts = [
    execution.stdout,
    execution.stderr,
    ...cases.flatMap((c) => [c.stdout, c.stderr]),
  ];
  const sizes = texts.map((t) => Buffer.byteLength(t, "utf8"));
  if (sizes.reduce((a, b) => a + b, 0) <= budget) return execution;
  const shares = shareBudget(sizes, budget);
  const clip = (i: number) => clipText(texts[i]!, shares[i]!);
  return {
    ...execution,
    stdout: clip(0),
    stderr: clip(1),
    ...(execution.cases === undefined ? {} : {
      cases: cases.map((c, i) => ({ ...c, stdout: clip(2 + 2 * i), stderr: clip(3 + 2 * i) })),
    }),
  };
}
