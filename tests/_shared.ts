/**
 * Paths to the real datasets and models in `../shared/` beside the checkout. They are never
 * committed; tests that need them are ignored, with the reason printed, when they are absent.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Absolute path of `../shared/<relative>` beside the repository root. */
export function sharedPath(relative: string): string {
  return fileURLToPath(new URL(`../../shared/${relative}`, import.meta.url));
}

/** Whether `../shared/<relative>` exists. */
export function hasShared(relative: string): boolean {
  return existsSync(sharedPath(relative));
}

/** Absolute path of `tests/fixtures/<relative>`. */
export function fixturePath(relative: string): string {
  return fileURLToPath(new URL(`./fixtures/${relative}`, import.meta.url));
}
