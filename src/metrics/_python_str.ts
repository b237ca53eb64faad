/**
 * Python's `str.split()` and `str.strip()` with no arguments, which the reference CodeBLEU and
 * CodeXGLUE BLEU scripts use for tokens. Python's whitespace (`str.isspace`) is not JavaScript's:
 * it includes U+001C..U+001F and U+0085 and excludes U+FEFF, so `String.prototype.trim` and
 * `/\s/` would disagree on rare inputs.
 *
 * @module
 */

const WS =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const WS_RUN = new RegExp(`[${WS}]+`);
const EDGES = new RegExp(`^[${WS}]+|[${WS}]+$`, "g");

/** Python `s.split()`: the runs of non-whitespace characters. */
export function pySplit(s: string): string[] {
  return s.split(WS_RUN).filter((t) => t !== "");
}

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(EDGES, "");
}
