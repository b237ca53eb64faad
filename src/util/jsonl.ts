/**
 * JSONL records: read with errors that name the file and line, append one record at a time.
 *
 * @module
 */

/** Options of {@linkcode readJsonl}. */
export interface ReadJsonlOptions {
  /**
   * Accept a truncated last line (what a killed writer leaves behind) by dropping it, instead of
   * failing. Lines before it must still parse. @default false
   */
  readonly allowTruncatedTail?: boolean;
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
    try {
      records.push(JSON.parse(line) as T);
    } catch (error) {
      const isLast = lines.slice(i + 1).every((rest) => rest.trim() === "");
      if (isLast && options.allowTruncatedTail && !text.endsWith("\n")) break;
      const reason = error instanceof Error ? error.message : String(error);
      throw new SyntaxError(
        `Cannot read "${path}" as line ${
          i + 1
        } is not valid JSON: ${reason}: fix or remove that line`,
      );
    }
  }
  return records;
}

/** Reads a JSONL file (see {@linkcode parseJsonl}); a missing file reads as no records. */
export async function readJsonl<T = unknown>(
  path: string,
  options: ReadJsonlOptions = {},
): Promise<T[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return parseJsonl<T>(text, path, options);
}

/**
 * Appends records to a JSONL file, one whole line per write, so a killed run leaves at most one
 * truncated line, which {@linkcode readJsonl} with `allowTruncatedTail` drops on resume.
 */
export class JsonlAppender {
  #file: Deno.FsFile;
  #encoder = new TextEncoder();

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens `path` for appending, first cutting a truncated last line if there is one. */
  static async open(path: string): Promise<JsonlAppender> {
    await dropTruncatedTail(path);
    const file = await Deno.open(path, { append: true, create: true });
    return new JsonlAppender(file);
  }

  /** Appends one record as one line. */
  async append(record: unknown): Promise<void> {
    const bytes = this.#encoder.encode(JSON.stringify(record) + "\n");
    let written = 0;
    while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
  }

  close(): void {
    this.#file.close();
  }
}

async function dropTruncatedTail(path: string): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (text === "" || text.endsWith("\n")) return;
  const keep = text.slice(0, text.lastIndexOf("\n") + 1);
  await Deno.truncate(path, new TextEncoder().encode(keep).length);
}
