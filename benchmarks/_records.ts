/**
 * Reading dataset records for the adapters in this folder: gzip-aware text reads, JSONL with
 * line numbers kept for errors, parquet files as the Hugging Face Hub publishes datasets (read
 * with hyparquet: one record per row, INT64 as numbers), and typed field access whose errors
 * name file, line and field.
 *
 * @module
 */

import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";

/** Reads a dataset file as UTF-8 text, gunzipping it when it starts with the gzip magic bytes. */
export async function readDatasetText(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

/** Whether `path` is a parquet file (it starts with the magic bytes "PAR1"). */
export async function isParquet(path: string): Promise<boolean> {
  const file = await Deno.open(path);
  try {
    const head = new Uint8Array(4);
    const read = await file.read(head);
    return read === 4 && new TextDecoder().decode(head) === "PAR1";
  } finally {
    file.close();
  }
}

/**
 * The records of a dataset file: JSONL (gzipped or not) or parquet (a record per row, its 1-based
 * row number as `line`). `what` names the records in errors, e.g. "HumanEval problem".
 */
export async function readDatasetRecords(path: string, what: string): Promise<LineRecord[]> {
  if (!await isParquet(path)) return parseJsonlRecords(await readDatasetText(path), path, what);
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({ file: await asyncBufferFromFile(path) });
  } catch (error) {
    throw new SyntaxError(
      `Cannot read ${what}s from parquet file "${path}": ${(error as Error).message}: ` +
        `export it again (pyarrow, snappy or no compression) or pass the JSONL file`,
    );
  }
  return rows.map((row, i) => ({ line: i + 1, value: plainRow(row) }));
}

/** A parquet row as JSON would give it: INT64 (BigInt) as numbers. */
function plainRow(value: Record<string, unknown>): Record<string, unknown> {
  const plain = (v: unknown): unknown =>
    typeof v === "bigint"
      ? Number(v)
      : Array.isArray(v)
      ? v.map(plain)
      : v !== null && typeof v === "object" && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
      : v;
  return plain(value) as Record<string, unknown>;
}

/** One JSONL record with the 1-based line it came from. */
export interface LineRecord {
  readonly line: number;
  readonly value: Readonly<Record<string, unknown>>;
}

/**
 * Parses JSONL text into objects, keeping each one's line number; blank lines are skipped.
 * `what` names the records in errors, e.g. "HumanEval problem".
 */
export function parseJsonlRecords(text: string, path: string, what: string): LineRecord[] {
  const records: LineRecord[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new SyntaxError(
        `Cannot read ${what} at "${path}" line ${i + 1} as it is not valid JSON: ${
          (error as Error).message
        }: fix or remove that line`,
      );
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(
        `Cannot read ${what} at "${path}" line ${
          i + 1
        } as it must be a JSON object: current value is ${preview(value)}`,
      );
    }
    records.push({ line: i + 1, value: value as Record<string, unknown> });
  }
  return records;
}

/** Typed access to one record's fields; every error names the record's file and line. */
export class FieldReader {
  readonly #record: Readonly<Record<string, unknown>>;
  readonly #where: string;

  /** `where` is e.g. `HumanEval problem at "HumanEval.jsonl.gz" line 3`. */
  constructor(record: Readonly<Record<string, unknown>>, where: string) {
    this.#record = record;
    this.#where = where;
  }

  /** The raw value of `name`. */
  raw(name: string): unknown {
    return this.#record[name];
  }

  string(name: string): string {
    return this.#typed(name, "a string", (v): v is string => typeof v === "string");
  }

  number(name: string): number {
    return this.#typed(name, "a number", (v): v is number => typeof v === "number");
  }

  /** A string or a number, returned as a string (ids are either in the wild). */
  id(name: string): string {
    const value = this.#typed(
      name,
      "a string or a number",
      (v): v is string | number => typeof v === "string" || typeof v === "number",
    );
    return String(value);
  }

  /** A string, or `fallback` when the field is absent or null. */
  optionalString(name: string, fallback = ""): string {
    const value = this.#record[name];
    if (value === undefined || value === null) return fallback;
    return this.string(name);
  }

  stringList(name: string): string[] {
    return this.#typed(
      name,
      "a list of strings",
      (v): v is string[] => Array.isArray(v) && v.every((item) => typeof item === "string"),
    );
  }

  list(name: string): unknown[] {
    return this.#typed(name, "a list", (v): v is unknown[] => Array.isArray(v));
  }

  /** Fails with this record's location: for checks beyond a field's type. */
  fail(message: string): never {
    throw new TypeError(`Cannot read ${this.#where} as ${message}`);
  }

  #typed<T>(name: string, expected: string, ok: (value: unknown) => value is T): T {
    const value = this.#record[name];
    if (ok(value)) return value;
    this.fail(`field "${name}" must be ${expected}: current value is ${preview(value)}`);
  }
}

/** A short JSON rendering of a value for error messages. */
export function preview(value: unknown): string {
  const text = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Keeps the first `limit` items (all when `limit` is undefined). */
export function applyLimit<T>(items: readonly T[], limit: number | undefined): T[] {
  if (limit === undefined) return [...items];
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(
      `Cannot limit tasks as --limit must be a non-negative integer: current value is ${limit}`,
    );
  }
  return items.slice(0, limit);
}
