/**
 * `remove_comments_and_docstrings` of the reference CodeBLEU (CodeXGLUE `parser/utils.py`):
 * Python goes through the tokenizer, every other language through one regular expression that
 * blanks `//` and `/* *\/` comments outside string literals. Blank lines are dropped either way.
 *
 * @module
 */

import { pyStrip } from "./_python_str.ts";
import { stripPythonComments } from "./_python_tokenize.ts";

// Python's `//.*?$|/\*.*?\*/|'(?:\\.|[^\\'])*'|"(?:\\.|[^\\"])*"` under DOTALL | MULTILINE, where
// `$` matches before a "\n" only (JavaScript's multiline `$` also stops at "\r").
const C_LIKE =
  /\/\/[\s\S]*?(?=\n|$)|\/\*[\s\S]*?\*\/|'(?:\\[\s\S]|[^\\'])*'|"(?:\\[\s\S]|[^\\"])*"/g;

/** Strip comments as the reference does; on a Python tokenizer error the code is kept as it is. */
export function removeComments(code: string, python: boolean): string {
  if (python) {
    try {
      return stripPythonComments(code);
    } catch {
      return code;
    }
  }
  const blanked = code.replace(C_LIKE, (m) => m.startsWith("/") ? " " : m);
  return blanked.split("\n").filter((line) => pyStrip(line) !== "").join("\n");
}
