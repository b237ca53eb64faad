/**
 * A content-addressed cache of compile verdicts: the key is the sha256 of the language, the
 * toolchain's identity (versions), the compiler options and limits, and the source bytes. Kept in
 * memory, and in a folder when one is given (one small JSON file per verdict, written atomically).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";

/** What the cache keeps of a verdict (timeouts are never kept: they depend on load). */
export interface CachedVerdict {
  readonly compiled: boolean;
  readonly diagnostics: string;
}

const MEMORY_ENTRIES = 200_000;

/** The cache key of `source` under `context` (language, toolchain, options: anything that matters). */
export function verdictKey(context: readonly string[], source: Uint8Array): string {
  const hash = createHash("sha256");
  for (const part of context) hash.update(`${part.length}:${part}\n`);
  hash.update(source);
  return hash.digest("hex");
}

/** Memory (bounded, oldest dropped first) in front of an optional folder. */
export class VerdictCache {
  readonly dir: string | undefined;
  #memory = new Map<string, CachedVerdict>();

  constructor(dir?: string) {
    this.dir = dir;
  }

  async get(key: string): Promise<CachedVerdict | undefined> {
    const hit = this.#memory.get(key);
    if (hit !== undefined || this.dir === undefined) return hit;
    try {
      const value = JSON.parse(await Deno.readTextFile(this.#file(key))) as CachedVerdict;
      if (typeof value.compiled !== "boolean" || typeof value.diagnostics !== "string") {
        return undefined;
      }
      this.#remember(key, value);
      return value;
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: CachedVerdict): Promise<void> {
    this.#remember(key, value);
    if (this.dir === undefined) return;
    const file = this.#file(key);
    await Deno.mkdir(join(file, ".."), { recursive: true });
    const tmp = `${file}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(value));
    await Deno.rename(tmp, file);
  }

  #remember(key: string, value: CachedVerdict): void {
    if (this.#memory.size >= MEMORY_ENTRIES) {
      const oldest = this.#memory.keys().next().value;
      if (oldest !== undefined) this.#memory.delete(oldest);
    }
    this.#memory.set(key, value);
  }

  #file(key: string): string {
    return join(this.dir!, key.slice(0, 2), `${key}.json`);
  }
}
