/**
 * JSONL records, read and repaired as a stream: whatever the file's size and the length of its
 * lines, reading is linear in bytes and never holds more than one line (or, for a line over the
 * limit, its head and tail). Errors name the file and the line. Appends are one whole line per
 * write, one write at a time, so a killed writer leaves at most one truncated last line, which
 * {@linkcode JsonlAppender.open} cuts before appending and `allowTruncatedTail` skips.
 *
 * @example Usage
 * ```ts ignore
 * for await (const { line, value } of iterateJsonl("reports/mbpp/run/executions.jsonl")) {
 *   console.log(line, value);
 * }
 * ```
 *
 * @module
 */

const NEWLINE = 0x0a;
const EDGE_BYTES = 4096;

/** One line of a file, as {@linkcode readLines} yields it. */
export interface Line {
  /** 1-based line number. */
  readonly number: number;
  /** The line without its newline; `undefined` when it is longer than `maxLineBytes`. */
  readonly text: string | undefined;
  /** Length in bytes, newline excluded. */
  readonly bytes: number;
  /** Whether a newline ends it (only the last line of a file can lack one). */
  readonly terminated: boolean;
  /** First and last 4 KiB of a line over the limit, decoded leniently; `""` otherwise. */
  readonly head: string;
  readonly tail: string;
}

/** Options of {@linkcode readLines}. */
export interface ReadLinesOptions {
  /** Lines longer than this are yielded without `text` (head and tail only). @default 256 MiB */
  readonly maxLineBytes?: number;
}

/**
 * Yields the lines of `path`, reading it as a stream of bytes: each line is joined once, so the
 * cost is linear in the file's size even for a line of hundreds of megabytes.
 */
export async function* readLines(
  path: string,
  options: ReadLinesOptions = {},
): AsyncGenerator<Line> {
  const max = options.maxLineBytes ?? 256 * 1024 * 1024;
  const file = await Deno.open(path, { read: true });
  const line = new LineBuffer(max);
  let number = 0;
  // Consuming `readable` closes the file, also when the consumer stops early or throws.
  for await (const chunk of file.readable) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      line.add(chunk.subarray(start, end));
      yield line.take(++number, true);
      start = end + 1;
    }
    if (start < chunk.length) line.add(chunk.slice(start));
  }
  if (line.bytes > 0) yield line.take(++number, false);
}

/** The parts of the current line: kept whole up to the limit, head and tail beyond it. */
class LineBuffer {
  readonly #max: number;
  #parts: Uint8Array[] = [];
  #head: Uint8Array | undefined;
  #tail: Uint8Array = new Uint8Array(0);
  bytes = 0;

  constructor(max: number) {
    this.#max = max;
  }

  add(part: Uint8Array): void {
    if (part.length === 0) return;
    this.bytes += part.length;
    if (this.#head === undefined && this.bytes <= this.#max) {
      this.#parts.push(part);
      return;
    }
    if (this.#head === undefined) {
      const all = concat([...this.#parts, part]);
      this.#head = all.slice(0, EDGE_BYTES);
      this.#tail = all.slice(-EDGE_BYTES);
      this.#parts = [];
      return;
    }
    this.#tail = concat([this.#tail, part]).slice(-EDGE_BYTES);
  }

  take(number: number, terminated: boolean): Line {
    const decoder = new TextDecoder();
    const line: Line = this.#head === undefined
      ? {
        number,
        text: decoder.decode(concat(this.#parts)),
        bytes: this.bytes,
        terminated,
        head: "",
        tail: "",
      }
      : {
        number,
        text: undefined,
        bytes: this.bytes,
        terminated,
        head: decoder.decode(this.#head),
        tail: decoder.decode(this.#tail),
      };
    this.#parts = [];
    this.#head = undefined;
    this.#tail = new Uint8Array(0);
    this.bytes = 0;
    return line;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Options of {@linkcode readJsonl} and {@linkcode iterateJsonl}. */
export interface ReadJsonlOptions {
  /**
   * Skip a last line that no newline ends (what a killed writer leaves behind) instead of
   * parsing it. Lines before it must still parse. @default false
   */
  readonly allowTruncatedTail?: boolean;
  /** A line longer than this is an error that names it. @default 256 MiB */
  readonly maxLineBytes?: number;
}

/** Parses JSONL text; `path` only names the source in errors. Blank lines are skipped. */
export function parseJsonl<T = unknown>(
  text: string,
  path: string,
  options: ReadJsonlOptions = {},
): T[] {
  const lines = text.split("\n");
  const records: T[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const isTail = i === lines.length - 1;
    if (isTail && options.allowTruncatedTail) break;
    records.push(parseLine<T>(line, path, i + 1));
  }
  return records;
}

/**
 * Yields each record of a JSONL file with its line number, read as a stream (see
 * {@linkcode readLines}); blank lines are skipped. A missing file yields nothing.
 */
export async function* iterateJsonl<T = unknown>(
  path: string,
  options: ReadJsonlOptions = {},
): AsyncGenerator<{ readonly line: number; readonly value: T }> {
  const max = options.maxLineBytes ?? 256 * 1024 * 1024;
  let lines: AsyncGenerator<Line>;
  try {
    lines = readLines(path, { maxLineBytes: max });
    const first = await lines.next();
    if (first.done) return;
    lines = prepend(first.value, lines);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  for await (const line of lines) {
    if (!line.terminated && options.allowTruncatedTail) return;
    if (line.text === undefined) {
      throw new RangeError(
        `Cannot read "${path}" as line ${line.number} is ${line.bytes} bytes, more than the ` +
          `${max} a record may have: remove that line`,
      );
    }
    if (line.text.trim() === "") continue;
    yield { line: line.number, value: parseLine<T>(line.text, path, line.number) };
  }
}

async function* prepend<T>(first: T, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  yield first;
  yield* rest;
}

/** Reads a JSONL file as a stream (see {@linkcode iterateJsonl}); a missing file reads as `[]`. */
export async function readJsonl<T = unknown>(
  path: string,
  options: ReadJsonlOptions = {},
): Promise<T[]> {
  const records: T[] = [];
  for await (const { value } of iterateJsonl<T>(path, options)) records.push(value);
  return records;
}

function parseLine<T>(text: string, path: string, number: number): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SyntaxError(
      `Cannot read "${path}" as line ${number} is not valid JSON: ${reason}: fix or remove that line`,
    );
  }
}

/** Complete lines of a file (those a newline ends), counted as a stream; 0 when it is missing. */
export async function countLines(path: string): Promise<number> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
  let count = 0;
  for await (const chunk of file.readable) {
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) count++;
  }
  return count;
}

/**
 * Appends records to a JSONL file, one whole line per write and one write at a time (concurrent
 * callers are queued), so a killed run leaves at most one truncated line, at the end.
 */
export class JsonlAppender {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  readonly #encoder = new TextEncoder();
  #queue: Promise<void> = Promise.resolve();
  #failure: Error | undefined;

  private constructor(file: Deno.FsFile, path: string) {
    this.#file = file;
    this.#path = path;
  }

  /** Opens `path` for appending, first cutting a truncated last line if there is one. */
  static async open(path: string): Promise<JsonlAppender> {
    await dropTruncatedTail(path);
    const file = await Deno.open(path, { append: true, create: true });
    return new JsonlAppender(file, path);
  }

  /** Appends one record as one line; resolves once the line is written. */
  append(record: unknown): Promise<void> {
    const bytes = this.#encoder.encode(JSON.stringify(record) + "\n");
    const write = this.#queue.then(() => this.#write(bytes));
    this.#queue = write.catch(() => {});
    return write;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    if (this.#failure) {
      throw new Error(
        `Cannot append to "${this.#path}" as an earlier write failed: ${this.#failure.message}`,
      );
    }
    try {
      let written = 0;
      while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
    } catch (error) {
      this.#failure = error as Error;
      throw error;
    }
  }

  /** Waits for queued writes, then closes the file. */
  async close(): Promise<void> {
    await this.#queue;
    this.#file.close();
  }
}

/**
 * Cuts the file after its last newline, reading backwards from the end in blocks: a file of any
 * size is repaired without reading it whole.
 */
export async function dropTruncatedTail(path: string): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  try {
    const size = (await file.stat()).size;
    const keep = await endOfLastLine(file, size);
    if (keep < size) await file.truncate(keep);
  } finally {
    file.close();
  }
}

/** Offset just after the last newline of the first `size` bytes (0 when there is none). */
async function endOfLastLine(file: Deno.FsFile, size: number): Promise<number> {
  const block = new Uint8Array(64 * 1024);
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - block.length);
    const view = block.subarray(0, end - start);
    await file.seek(start, Deno.SeekMode.Start);
    let read = 0;
    while (read < view.length) {
      const n = await file.read(view.subarray(read));
      if (n === null) break;
      read += n;
    }
    const at = view.subarray(0, read).lastIndexOf(NEWLINE);
    if (at !== -1) return start + at + 1;
    end = start;
  }
  return 0;
}
