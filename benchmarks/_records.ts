/**
 * Reading dataset records for the adapters in this folder: gzip-aware text reads, JSONL with
 * line numbers kept for errors, and typed field access whose errors name file, line and field.
 *
 * @module
 */

/** Reads a dataset file as UTF-8 text, gunzipping it when it starts with the gzip magic bytes. */
export async function readDatasetText(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
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
