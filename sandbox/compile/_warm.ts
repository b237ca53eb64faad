/**
 * Which C and C++ files a warm compiler (gcc/forkhook.c) may compile, and how.
 *
 * A warm compiler has compiled a prefix, the file's leading `#include <...>` lines followed by
 * `#include "main.c"`, up to that last line, and compiles the rest of the file (the body: the
 * source with those lines blanked out, so that every line keeps its number) as that include (see
 * gcc/forkhook.c: the prefix is itself included by the compiler's stub). The
 * compiler sees the same tokens in the same order as when it compiles the file alone. What can
 * tell an included file from the main file is refused, and such a file goes to the plain path:
 * the names of the current or main file and the include depth (`__FILE__`, `__BASE_FILE__`,
 * `__FILE_NAME__`, `__INCLUDE_LEVEL__`, `__TIMESTAMP__`), pragmas (`#pragma once`, `system_header`,
 * diagnostic pragmas), any other include (a quoted one is searched from the including file's
 * folder) or `__has_include`, `#import`, `__COUNTER__`, and token pasting or digraphs (which could
 * build any of these), all looked for after line splicing. The refusal is by word, so a comment
 * that says "include" sends a file the slow way, never the wrong way.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** How a warm compiler compiles one file. */
export interface WarmPlan {
  /** The prefix's name: a hash of the language and the leading includes. */
  readonly key: string;
  /** The prefix: the leading includes, then `#include "<fileName>"`. */
  readonly prefix: string;
  /** The source with its leading includes blanked out. */
  readonly body: Uint8Array;
}

const FATAL_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A leading include of a system header by a relative name that does not climb (`..`): nothing
 * else on the line.
 */
const LEADING_INCLUDE =
  /^[ \t]*#[ \t]*include[ \t]*<((?![^>]*\.\.)[A-Za-z0-9_.+-][A-Za-z0-9_.+/-]*)>[ \t]*$/;
/** Lines that may come between leading includes: blank, or a line comment that does not continue. */
const LEADING_FILLER = /^[ \t]*(\/\/.*[^\\\s][ \t]*|\/\/[ \t]*)?$/;

/** What could tell the body from a main file, or build something that could (see the module). */
const REFUSED = new RegExp(
  [
    "##",
    "%:",
    "\\b(?:pragma|_Pragma|include|include_next|import)\\b",
    "\\b(?:__FILE__|__BASE_FILE__|__FILE_NAME__|__INCLUDE_LEVEL__|__TIMESTAMP__|__COUNTER__)\\b",
    "\\b(?:__has_include|__has_include_next)\\b",
  ].join("|"),
);

/**
 * The warm plan of `source`, a C or C++ file named `fileName` (`main.c`, `main.cpp`), or
 * undefined when it must be compiled the plain way.
 */
export function warmPlan(
  source: Uint8Array,
  language: "c" | "cpp",
  fileName: string,
): WarmPlan | undefined {
  let text: string;
  try {
    text = FATAL_UTF8.decode(source);
  } catch {
    return undefined;
  }
  const bom = source[0] === 0xef && source[1] === 0xbb && source[2] === 0xbf;
  if (bom || /[\r\0]/.test(text)) return undefined;
  const lines = text.split("\n");
  const headers: string[] = [];
  let end = 0;
  for (; end < lines.length; end++) {
    const line = lines[end]!;
    const include = LEADING_INCLUDE.exec(line);
    if (include !== null) {
      headers.push(include[1]!);
      lines[end] = "";
    } else if (!LEADING_FILLER.test(line)) {
      break;
    }
  }
  const body = lines.join("\n");
  // Line splicing first: a backslash-newline (even with blanks before the newline) joins lines.
  if (REFUSED.test(body.replace(/\\[ \t]*\n/g, ""))) return undefined;
  const includes = headers.map((name) => `#include <${name}>`);
  const key = createHash("sha256").update([language, ...includes].join("\n")).digest("hex")
    .slice(0, 16);
  return {
    key,
    prefix: [...includes, `#include "${fileName}"`, ""].join("\n"),
    body: new TextEncoder().encode(body),
  };
}

/**
 * What can make the compiler (or the assembler) open a file the source chooses: an include, or
 * `__has_include`, whose operand is quoted, a macro, or an angle-bracketed absolute path or one
 * that climbs with `..`; `#pragma GCC dependency`; an assembler `.incbin` or `.include`; and any
 * mention of `gch`, as the worker's precompiled headers (`iostream.gch`) are on its include path
 * only (`__has_include(<iostream.gch>)` is true there).
 */
const NAMES_A_FILE = new RegExp(
  [
    '\\b(?:include(?:_next)?|import|__has_include(?:_next)?)\\b[ \\t]*\\(?[ \\t]*(?:"|<[ \\t]*/|<[^>\\n]*\\.\\.|[^\\s<(])',
    "\\bdependency\\b",
    "\\bincbin\\b",
    "\\.include\\b",
    "gch",
  ].join("|"),
);

/**
 * Whether a C or C++ file may read a file by a name of its own choosing (see
 * {@linkcode NAMES_A_FILE}): in a worker it would find the worker's files (other jobs, the body
 * copy, the diagnostics being written) where the plain compiler finds an empty folder, so such a
 * file is compiled in a fresh sandbox of its own. Searched after line splicing; a comment that
 * says "include x" also counts, which only costs time.
 */
export function namesOtherFiles(source: Uint8Array): boolean {
  return NAMES_A_FILE.test(new TextDecoder().decode(source).replace(/\\[ \t]*\r?\n/g, ""));
}
