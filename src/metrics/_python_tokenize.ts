/**
 * A port of CPython 3.11's pure-Python `tokenize.generate_tokens`, as far as the reference
 * CodeBLEU needs it: it strips Python comments and docstrings with the tokenizer
 * (`remove_comments_and_docstrings` in CodeXGLUE's `parser/utils.py`), and a tokenizer error
 * there means the code is scored unstripped. Token columns are UTF-16 offsets rather than code
 * points; the stripping only uses differences of columns on one line, which agree.
 *
 * @module
 */

import { pyStrip } from "./_python_str.ts";

/** The token kinds that the stripping distinguishes; every other kind is `OTHER`. */
type Kind = "COMMENT" | "STRING" | "INDENT" | "NEWLINE" | "OTHER";

interface Token {
  readonly kind: Kind;
  readonly text: string;
  readonly start: readonly [number, number];
  readonly end: readonly [number, number];
}

/** Python's `token.EXACT_TOKEN_TYPES`, longest first where one is a prefix of another. */
const OPERATORS = [
  "~",
  "}",
  "|=",
  "|",
  "{",
  "^=",
  "^",
  "]",
  "[",
  "@=",
  "@",
  ">>=",
  ">>",
  ">=",
  ">",
  "==",
  "=",
  "<=",
  "<<=",
  "<<",
  "<",
  ";",
  ":=",
  ":",
  "/=",
  "//=",
  "//",
  "/",
  "...",
  ".",
  "->",
  "-=",
  "-",
  ",",
  "+=",
  "+",
  "*=",
  "**=",
  "**",
  "*",
  ")",
  "(",
  "&=",
  "&",
  "%=",
  "%",
  "!=",
]; // deno-fmt-ignore

function allStringPrefixes(): string[] {
  const result = new Set([""]);
  const permutations = (s: string): string[] =>
    s.length <= 1 ? [s] : [...s].flatMap((c, i) => permutations(s.slice(0, i) + s.slice(i + 1)).map((p) => c + p));
  const cases = (s: string): string[] =>
    s === "" ? [""] : cases(s.slice(1)).flatMap((rest) => [s[0]! + rest, s[0]!.toUpperCase() + rest]);
  for (const prefix of ["b", "r", "u", "f", "br", "fr"]) {
    for (const p of permutations(prefix)) for (const c of cases(p)) result.add(c);
  }
  return [...result];
}

const PREFIXES = allStringPrefixes();
const group = (...choices: string[]) => `(?:${choices.join("|")})`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
// Python's `.` does not match "\n" but does match "\r"; JavaScript's matches neither.
const ANY = "[^\\n]";
const STRING_PREFIX = group(...PREFIXES.map(escape));
const NAME = "[\\p{L}\\p{N}_]+";
const COMMENT = "#[^\\r\\n]*";
const EXPONENT = "[eE][-+]?[0-9](?:_?[0-9])*";
const POINT_FLOAT = group("[0-9](?:_?[0-9])*\\.(?:[0-9](?:_?[0-9])*)?", "\\.[0-9](?:_?[0-9])*") +
  `${group(EXPONENT)}?`;
const FLOAT = group(POINT_FLOAT, `[0-9](?:_?[0-9])*${EXPONENT}`);
const NUMBER = group(
  group("[0-9](?:_?[0-9])*[jJ]", `${FLOAT}[jJ]`),
  FLOAT,
  group(
    "0[xX](?:_?[0-9a-fA-F])+",
    "0[bB](?:_?[01])+",
    "0[oO](?:_?[0-7])+",
    "(?:0(?:_?0)*|[1-9](?:_?[0-9])*)",
  ),
);
const FUNNY = group("\\r?\\n", ...OPERATORS.map(escape));
const CONT_STR = group(
  `${STRING_PREFIX}'[^\\n'\\\\]*(?:\\\\${ANY}[^\\n'\\\\]*)*${group("'", "\\\\\\r?\\n")}`,
  `${STRING_PREFIX}"[^\\n"\\\\]*(?:\\\\${ANY}[^\\n"\\\\]*)*${group('"', "\\\\\\r?\\n")}`,
);
const TRIPLE = group(`${STRING_PREFIX}'''`, `${STRING_PREFIX}"""`);
const PSEUDO_EXTRAS = group("\\\\\\r?\\n|$", COMMENT, TRIPLE);
const PSEUDO_TOKEN = new RegExp(
  `[ \\f\\t]*(${PSEUDO_EXTRAS}|${NUMBER}|${FUNNY}|${CONT_STR}|${NAME})`,
  "uy",
);

const END_PATTERNS: Record<string, RegExp> = {
  "'": new RegExp(`[^'\\\\]*(?:\\\\${ANY}[^'\\\\]*)*'`, "uy"),
  '"': new RegExp(`[^"\\\\]*(?:\\\\${ANY}[^"\\\\]*)*"`, "uy"),
  "'''": new RegExp(`[^'\\\\]*(?:(?:\\\\${ANY}|'(?!''))[^'\\\\]*)*'''`, "uy"),
  '"""': new RegExp(`[^"\\\\]*(?:(?:\\\\${ANY}|"(?!""))[^"\\\\]*)*"""`, "uy"),
};
const SINGLE_QUOTED = new Set(PREFIXES.flatMap((p) => [`${p}'`, `${p}"`]));
const TRIPLE_QUOTED = new Set(PREFIXES.flatMap((p) => [`${p}'''`, `${p}"""`]));
const ID_START = /^[\p{ID_Start}_]/u;
const TAB_SIZE = 8;

/** The tail pattern for a string opened by `token` (prefix and quotes). */
function endPattern(quotes: string): RegExp {
  return END_PATTERNS[quotes]!;
}

function matchAt(re: RegExp, s: string, pos: number): RegExpExecArray | null {
  re.lastIndex = pos;
  return re.exec(s);
}

/** The lines `io.StringIO(source).readline` returns: split after each "\n". */
function readLines(source: string): string[] {
  return source.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Tokens of `source` as `tokenize.generate_tokens` yields them (kinds reduced to {@linkcode Kind}).
 * Throws where Python raises `TokenError` or `IndentationError`.
 */
export function pythonTokens(source: string): Token[] {
  const tokens: Token[] = [];
  const push = (kind: Kind, text: string, start: [number, number], end: [number, number]) =>
    tokens.push({ kind, text, start, end });
  const lines = readLines(source);
  let lnum = 0, parenlev = 0, continued = false;
  let contstr = "", needcont = false, strstart: [number, number] = [0, 0];
  let endprog = END_PATTERNS["'"]!;
  const indents = [0];
  let line = "", lastLine = "";
  for (;;) {
    lastLine = line;
    line = lines[lnum] ?? "";
    lnum++;
    let pos = 0;
    const max = line.length;
    if (contstr) {
      if (!line) throw new SyntaxError(`EOF in multi-line string at line ${strstart[0]}`);
      const endmatch = matchAt(endprog, line, 0);
      if (endmatch) {
        pos = endmatch.index + endmatch[0].length;
        push("STRING", contstr + line.slice(0, pos), strstart, [lnum, pos]);
        contstr = "", needcont = false;
      } else if (needcont && !line.endsWith("\\\n") && !line.endsWith("\\\r\n")) {
        push("OTHER", contstr + line, strstart, [lnum, line.length]);
        contstr = "";
        continue;
      } else {
        contstr += line;
        continue;
      }
    } else if (parenlev === 0 && !continued) {
      if (!line) break;
      let column = 0;
      for (; pos < max; pos++) {
        const c = line[pos];
        if (c === " ") column++;
        else if (c === "\t") column = (Math.floor(column / TAB_SIZE) + 1) * TAB_SIZE;
        else if (c === "\f") column = 0;
        else break;
      }
      if (pos === max) break;
      const c = line[pos]!;
      if (c === "#" || c === "\r" || c === "\n") {
        if (c === "#") {
          const comment = line.slice(pos).replace(/[\r\n]+$/, "");
          push("COMMENT", comment, [lnum, pos], [lnum, pos + comment.length]);
          pos += comment.length;
        }
        push("OTHER", line.slice(pos), [lnum, pos], [lnum, line.length]);
        continue;
      }
      if (column > indents.at(-1)!) {
        indents.push(column);
        push("INDENT", line.slice(0, pos), [lnum, 0], [lnum, pos]);
      }
      while (column < indents.at(-1)!) {
        if (!indents.includes(column)) {
          throw new SyntaxError(
            `Unindent does not match any outer indentation level at line ${lnum}`,
          );
        }
        indents.pop();
        push("OTHER", "", [lnum, pos], [lnum, pos]);
      }
    } else {
      if (!line) throw new SyntaxError(`EOF in multi-line statement at line ${lnum}`);
      continued = false;
    }

    while (pos < max) {
      const pseudo = matchAt(PSEUDO_TOKEN, line, pos);
      if (!pseudo) {
        push("OTHER", line[pos]!, [lnum, pos], [lnum, pos + 1]);
        pos++;
        continue;
      }
      const end = pseudo.index + pseudo[0].length;
      const start = end - pseudo[1]!.length;
      const spos: [number, number] = [lnum, start], epos: [number, number] = [lnum, end];
      pos = end;
      if (start === end) continue;
      const token = line.slice(start, end), initial = line[start]!;
      if ("0123456789".includes(initial) || (initial === "." && token !== "." && token !== "...")) {
        push("OTHER", token, spos, epos);
      } else if (initial === "\r" || initial === "\n") {
        push(parenlev > 0 ? "OTHER" : "NEWLINE", token, spos, epos);
      } else if (initial === "#") {
        push("COMMENT", token, spos, epos);
      } else if (TRIPLE_QUOTED.has(token)) {
        endprog = endPattern(token.slice(-3));
        const endmatch = matchAt(endprog, line, pos);
        if (endmatch) {
          pos = endmatch.index + endmatch[0].length;
          push("STRING", line.slice(start, pos), spos, [lnum, pos]);
        } else {
          strstart = [lnum, start];
          contstr = line.slice(start);
          break;
        }
      } else if (
        SINGLE_QUOTED.has(initial) || SINGLE_QUOTED.has(token.slice(0, 2)) ||
        SINGLE_QUOTED.has(token.slice(0, 3))
      ) {
        if (token.endsWith("\n")) {
          strstart = [lnum, start];
          const quote = [...token.slice(0, 3)].find((ch) => ch === "'" || ch === '"')!;
          endprog = endPattern(quote);
          contstr = line.slice(start), needcont = true;
          break;
        }
        push("STRING", token, spos, epos);
      } else if (ID_START.test(initial)) {
        push("OTHER", token, spos, epos);
      } else if (initial === "\\") {
        continued = true;
      } else {
        if ("([{".includes(initial)) parenlev++;
        else if (")]}".includes(initial)) parenlev--;
        push("OTHER", token, spos, epos);
      }
    }
  }
  if (lastLine && !"\r\n".includes(lastLine.at(-1)!) && !pyStrip(lastLine).startsWith("#")) {
    push("NEWLINE", "", [lnum - 1, lastLine.length], [lnum - 1, lastLine.length + 1]);
  }
  for (let i = 1; i < indents.length; i++) push("OTHER", "", [lnum, 0], [lnum, 0]);
  push("OTHER", "", [lnum, 0], [lnum, 0]);
  return tokens;
}

/**
 * `remove_comments_and_docstrings(source, "python")` of the reference: drops comments and every
 * string that starts a logical line (docstrings, but also a line such as `"x".join(y)`), keeps
 * the layout of the rest, and drops blank lines. Throws where the tokenizer fails.
 */
export function stripPythonComments(source: string): string {
  let out = "";
  let prev: Kind = "INDENT";
  let lastLine = -1, lastCol = 0;
  for (const { kind, text, start, end } of pythonTokens(source)) {
    if (start[0] > lastLine) lastCol = 0;
    if (start[1] > lastCol) out += " ".repeat(start[1] - lastCol);
    if (kind === "STRING") {
      if (prev !== "INDENT" && prev !== "NEWLINE" && start[1] > 0) out += text;
    } else if (kind !== "COMMENT") {
      out += text;
    }
    prev = kind, lastCol = end[1], lastLine = end[0];
  }
  return out.split("\n").filter((l) => pyStrip(l) !== "").join("\n");
}
