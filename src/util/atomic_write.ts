/**
 * Atomic file writes: a temporary file in the same folder, then a rename.
 *
 * @module
 */

import { dirname } from "node:path";

/**
 * Writes `text` to `path` so that readers see either the old content or the new, never half.
 *
 * @example Usage
 * ```ts ignore
 * await writeFileAtomic("reports/mbpp/run/report.json", JSON.stringify(report));
 * ```
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temporary, text);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}
