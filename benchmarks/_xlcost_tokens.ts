/**
 * The token format of XLCoST's `-tok` files (TransCoder's tokenizers): one program or snippet per
 * line, tokens separated by single spaces, comments removed, and
 *
 * - `NEW_LINE` where a line ends that must end (every logical line in Python, preprocessor lines
 *   in C and C++; other C-family newlines are dropped);
 * - `INDENT` / `DEDENT` (Python) where indentation opens or closes a block, `DEDENT` coming before
 *   the next statement, and at the end for blocks still open;
 * - string and character literals split like text: spaces become `▁` (U+2581), newlines
 *   `STRNEWLINE`, tabs `TABSYMBOL`, then punctuation and symbols are set apart as sacrebleu's
 *   `tokenize_v14_international` does (`'__main__'` becomes `' _ _ main _ _ '`).
 *
 * {@linkcode detokenizeXlcost} turns such a line back into code (the inverse of
 * {@linkcode tokenizeXlcost} on code in the tokenizer's normal form). PPOCoder's own reader only
 * replaces `NEW_LINE` for non-Python targets and turns `▁` into `_`, which corrupts strings; this
 * one restores string literals.
 *
 * Two things the format loses are put back from the language's rules:
 *
 * - XLCoST's data was made from code whose string escapes had been read: `"Yes\n"` became
 *   `" Yes STRNEWLINE "`. A raw newline inside a C, C++, Java, C#, JavaScript or one-line Python
 *   string does not compile, so `STRNEWLINE` and `TABSYMBOL` come back as the escapes `\n` and
 *   `\t` there (as raw characters where the literal holds them: PHP, Python's triple quotes, C#'s
 *   `@"..."`, JavaScript's template strings), and the tokenizer reads those escapes as the same
 *   markers, so a model's `"\n"` is scored against the reference's `STRNEWLINE`.
 * - `NEW_LINE` only ends preprocessor lines, and the format has none before one: a `#define` that
 *   follows `using namespace std ;` arrives on the same line. In C, C++ and C#, a directive token
 *   that is not inside a preprocessor line starts a new line.
 *
 * @module
 */

import type { TranslationLanguage } from "./_translation.ts";

const SPACE = "\u2581";
const QUOTES = new Set(['"', "'", "`"]);
/** String prefixes glued back onto the quote (`f"..."`, `b'...'`, C# `@"..."` and `$"..."`). */
const STRING_PREFIX = /^(?:[rRbBuUfF]{1,2}|@|\$|\$@|@\$|L|u8)$/;

/** Turns one line of an XLCoST `-tok` file back into code. */
export function detokenizeXlcost(line: string, language: TranslationLanguage): string {
  const tokens = joinStrings(line.trim().split(/ +/).filter((t) => t !== ""), language);
  return language === "python" ? layoutPython(tokens) : layoutOther(tokens, language);
}

/** Languages whose preprocessor directives must start a line. */
const PREPROCESSED: ReadonlySet<TranslationLanguage> = new Set(["c", "cpp", "csharp"]);

/**
 * Whether a literal reads escapes and cannot hold a raw newline, so that `STRNEWLINE` is written
 * `\n` in it: not in PHP (its strings hold newlines), Python's triple quotes, C#'s verbatim
 * `@"..."` or JavaScript's template strings.
 */
function readsEscapes(quote: string, prefix: string, language: TranslationLanguage): boolean {
  if (language === "php" || quote.length === 3 || quote === "`") return false;
  return !prefix.includes("@");
}

/**
 * Merges each string literal's tokens back into one token: the opening quote (or triple quote),
 * the content tokens glued together with `▁` as space, `STRNEWLINE` as a newline and `TABSYMBOL`
 * as a tab, and the closing quote (a quote preceded by an odd number of `\` tokens is content).
 */
function joinStrings(tokens: readonly string[], language: TranslationLanguage): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!QUOTES.has(token)) {
      out.push(token);
      continue;
    }
    const triple = tokens[i + 1] === token && tokens[i + 2] === token &&
      tokens[i + 3] !== undefined &&
      !(tokens[i + 3] === token);
    const quote = triple ? token.repeat(3) : token;
    let j = i + (triple ? 3 : 1);
    const content: string[] = [];
    for (; j < tokens.length; j++) {
      const closes = triple
        ? tokens[j] === token && tokens[j + 1] === token && tokens[j + 2] === token
        : tokens[j] === token;
      if (closes && backslashesBefore(content) % 2 === 0) break;
      content.push(tokens[j]!);
    }
    if (j >= tokens.length) {
      out.push(token); // no closing quote: not a string after all
      continue;
    }
    const prefix = out.length > 0 && STRING_PREFIX.test(out.at(-1)!) ? out.pop()! : "";
    const escapes = readsEscapes(quote, prefix, language);
    const text = content.join("").replaceAll(SPACE, " ")
      .replaceAll("STRNEWLINE", escapes ? "\\n" : "\n")
      .replaceAll("TABSYMBOL", escapes ? "\\t" : "\t");
    out.push(`${prefix}${quote}${text}${quote}`);
    i = j + (triple ? 2 : 0);
  }
  return out;
}

function backslashesBefore(content: readonly string[]): number {
  let n = 0;
  for (let k = content.length - 1; k >= 0 && content[k] === "\\"; k--) n++;
  return n;
}

/** Python: `NEW_LINE` ends a line, leading `INDENT` / `DEDENT` move the indentation by 4 spaces. */
function layoutPython(tokens: readonly string[]): string {
  const lines: string[] = [];
  let depth = 0;
  let current: string[] = [];
  let atStart = true;
  const flush = () => {
    if (current.length > 0) lines.push("    ".repeat(depth) + current.join(" "));
    current = [];
  };
  for (const token of tokens) {
    if (token === "NEW_LINE") {
      flush();
      atStart = true;
    } else if (atStart && token === "INDENT") {
      depth++;
    } else if (atStart && token === "DEDENT") {
      depth = Math.max(0, depth - 1);
    } else {
      atStart = false;
      current.push(token);
    }
  }
  flush();
  return lines.join("\n") + "\n";
}

/**
 * Other languages: `NEW_LINE` is a line break; tokens stay one space apart. In C, C++ and C# a
 * directive (`#define`, `# include`, ...) outside a preprocessor line starts a new line.
 */
function layoutOther(tokens: readonly string[], language: TranslationLanguage): string {
  const lines: string[][] = [[]];
  for (const token of tokens) {
    const line = lines.at(-1)!;
    const directive = PREPROCESSED.has(language) && token.startsWith("#") && line.length > 0 &&
      !line[0]!.startsWith("#");
    if (token === "NEW_LINE") lines.push([]);
    else if (directive) lines.push([token]);
    else line.push(token);
  }
  return lines.map((line) => line.join(" ")).filter((line) => line !== "").join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Tokenizing

/** sacrebleu's `tokenize_v14_international`, applied to string literals. */
function tokenizeV14International(text: string): string {
  return text
    .replace(/(\P{N})(\p{P})/gu, "$1 $2 ")
    .replace(/(\p{P})(\P{N})/gu, " $1 $2")
    .replace(/(\p{S})/gu, " $1 ")
    .split(/\s+/)
    .filter((t) => t !== "")
    .join(" ");
}

/**
 * A string literal as TransCoder writes it: `"Hello World"` becomes `" Hello ▁ World "`. With
 * `language`, the escapes `\n` and `\t` of a literal that reads escapes count as the newline and
 * tab they stand for (`STRNEWLINE`, `TABSYMBOL`), as in XLCoST's data.
 */
export function tokenizeStringLiteral(literal: string, language?: TranslationLanguage): string {
  const m = /^([^"'`]*)("""|'''|"|'|`)/.exec(literal);
  const read = language !== undefined && m !== null && readsEscapes(m[2]!, m[1]!, language);
  const text = read ? readNewlineEscapes(literal) : literal;
  const spaced = text.replaceAll(" ", ` ${SPACE} `).replaceAll("\n", " STRNEWLINE ")
    .replaceAll("\t", " TABSYMBOL ");
  return tokenizeV14International(spaced);
}

/** `\n` and `\t` as the characters; every other escape (`\\`, `\"`, ...) as it is. */
function readNewlineEscapes(literal: string): string {
  return literal.replace(
    /\\(.)/gs,
    (pair, c: string) => c === "n" ? "\n" : c === "t" ? "\t" : pair,
  );
}

const OPERATORS = [
  ">>>=",
  "<<=",
  ">>=",
  ">>>",
  "**=",
  "//=",
  "===",
  "!==",
  "...",
  "<=>",
  "->",
  "=>",
  "::",
  "++",
  "--",
  "&&",
  "||",
  "==",
  "!=",
  "<=",
  ">=",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "<<",
  ">>",
  "**",
  "//",
  "??",
  "?.",
  ":=",
];

interface Lexeme {
  readonly kind: "token" | "newline" | "indent";
  readonly text: string;
}

/**
 * Code in XLCoST's `-tok` format (one line). Python's indentation becomes `INDENT` / `DEDENT`;
 * comments are dropped. Meant for code the detokenizer produced or code in the same style:
 * it is the inverse of {@linkcode detokenizeXlcost} there, and it is what BLEU and exact match
 * compare a model's translation with.
 */
export function tokenizeXlcost(code: string, language: TranslationLanguage): string {
  const python = language === "python";
  const lexemes = lex(code, language);
  const out: string[] = [];
  if (!python) {
    let preprocessor = false;
    let lineStart = true;
    for (const l of lexemes) {
      if (l.kind === "newline") {
        if (preprocessor) out.push("NEW_LINE");
        preprocessor = false;
        lineStart = true;
      } else if (l.kind === "token") {
        if (lineStart) preprocessor = l.text.startsWith("#");
        lineStart = false;
        out.push(l.text);
      }
    }
    if (preprocessor) out.push("NEW_LINE");
    return out.join(" ");
  }
  return pythonTokens(lexemes).join(" ");
}

/** Python lexemes to tokens with `NEW_LINE`, `INDENT` and `DEDENT`, as `tokenize` emits them. */
function pythonTokens(lexemes: readonly Lexeme[]): string[] {
  const out: string[] = [];
  const stack = [0];
  let lineStart = true;
  let indent = 0;
  for (const l of lexemes) {
    if (l.kind === "indent") {
      indent = Number(l.text);
      continue;
    }
    if (l.kind === "newline") {
      if (!lineStart) out.push("NEW_LINE");
      lineStart = true;
      continue;
    }
    if (lineStart) {
      if (indent > stack.at(-1)!) {
        stack.push(indent);
        out.push("INDENT");
      }
      while (indent < stack.at(-1)!) {
        stack.pop();
        out.push("DEDENT");
      }
      lineStart = false;
    }
    out.push(l.text);
  }
  if (!lineStart) out.push("NEW_LINE");
  while (stack.length > 1) {
    stack.pop();
    out.push("DEDENT");
  }
  return out;
}

/** Splits code into tokens, logical newlines and (Python) indentation widths. */
function lex(code: string, language: TranslationLanguage): Lexeme[] {
  const python = language === "python";
  const out: Lexeme[] = [];
  let depth = 0; // open brackets: Python joins lines inside them
  let i = 0;
  let atLineStart = true;
  while (i < code.length) {
    if (atLineStart && python) {
      const m = /^[ \t]*/.exec(code.slice(i))![0];
      out.push({ kind: "indent", text: String(indentWidth(m)) });
      i += m.length;
      atLineStart = false;
      continue;
    }
    const rest = code.slice(i);
    const ch = code[i]!;
    if (ch === "\n") {
      if (!python || depth === 0) out.push({ kind: "newline", text: "\n" });
      i++;
      atLineStart = !python || depth === 0;
      continue;
    }
    if (ch === "\\" && code[i + 1] === "\n") {
      i += 2;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const comment = python ? /^#[^\n]*/.exec(rest) : /^(?:\/\/[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
    if (comment !== null && !(language === "php" && rest.startsWith("#["))) {
      i += comment[0].length;
      continue;
    }
    const directive = !python && (language === "cpp" || language === "c")
      ? /^#\s*\w+/.exec(rest)?.[0]
      : undefined;
    if (directive !== undefined) {
      out.push({ kind: "token", text: directive.replace(/\s+/g, "") });
      i += directive.length;
      const header = /^\s*<[^>\n]*>/.exec(code.slice(i));
      if (header !== null) {
        out.push({ kind: "token", text: header[0].trim() });
        i += header[0].length;
      }
      continue;
    }
    const literal = stringLiteral(rest, language);
    if (literal !== undefined) {
      out.push({ kind: "token", text: tokenizeStringLiteral(literal, language) });
      i += literal.length;
      continue;
    }
    const word =
      /^(?:\$?[A-Za-z_\u00c0-\uffff][\w$\u00c0-\uffff]*|(?:\d|\.\d)(?:[eE][+-]\d|[\w.])*)/.exec(
        rest,
      );
    if (word !== null) {
      out.push({ kind: "token", text: word[0] });
      i += word[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o)) ?? ch;
    if ("([{".includes(op)) depth++;
    if (")]}".includes(op)) depth = Math.max(0, depth - 1);
    out.push({ kind: "token", text: op });
    i += op.length;
  }
  return out;
}

function indentWidth(whitespace: string): number {
  let width = 0;
  for (const ch of whitespace) width = ch === "\t" ? width + 8 - (width % 8) : width + 1;
  return width;
}

/** The string or character literal at the start of `text`, with its prefix, if there is one. */
function stringLiteral(text: string, language: TranslationLanguage): string | undefined {
  const m = /^(?:[rRbBuUfF]{1,2}|@|\$|L|u8)?("""|'''|"|'|`)/.exec(text);
  if (m === null) return undefined;
  const quote = m[1]!;
  let j = m[0].length;
  while (j < text.length) {
    if (text[j] === "\\") {
      j += 2;
      continue;
    }
    if (text.startsWith(quote, j)) return text.slice(0, j + quote.length);
    const holdsNewlines = quote.length === 3 || quote === "`" || language === "php";
    if (text[j] === "\n" && !holdsNewlines) return undefined;
    j++;
  }
  return undefined;
}
