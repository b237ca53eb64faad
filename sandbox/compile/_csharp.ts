/**
 * Which C# files the C# worker may compile in a batch (see csharp/CompileServer.cs): each file is
 * wrapped as `namespace __ppo_b_<id> {` + file + `\n}` and compiled with the others of its batch,
 * so a file is batched only when the wrapper cannot change its verdict, nor its presence another
 * file's. That holds when:
 *
 * 1. mcs reads the file as this module's lexer does: strict UTF-8 without a byte order mark; no
 *    control character but tab, line feed and carriage return before a line feed; no line or
 *    paragraph separator; outside comments and literals, printable ASCII only and no `#`
 *    (preprocessor), `$` (interpolated strings), `\` (unicode escapes in identifiers), `` ` `` or
 *    a lone `@`; literals and escapes exactly as mcs's tokenizer reads them (a malformed one could
 *    make mcs read on past where this lexer stops), numbers whose exponent has digits.
 * 2. Its braces balance and never close more than they opened, so the wrapper's last brace closes
 *    its namespace: the file cannot declare anything outside it (the worker also checks the parse
 *    of every batch for that, see CompileServer.cs).
 * 3. Nothing in it must stay at the top of a file or reaches the global namespace: no namespace
 *    declaration, `extern alias`, `using static`, assembly or module attribute, or `::`
 *    (`global::`, alias qualifiers); no name that starts with `__ppo` (another file's wrapper).
 * 4. Name lookup finds what it finds at the top of a file. Inside the wrapper, a simple name is
 *    looked up in the file's own types, then its using directives, then the global namespace;
 *    alone, the global namespace comes before the using directives. The two differ only for a
 *    name at the top level of the references (a namespace such as `System`, or a global type):
 *    such a name may only be used before `.` or `;` (a use, never a declaration of a type, type
 *    parameter or alias of that name), and not at all when a using directive could import a
 *    type of that name ({@linkcode CsharpReferenceNames}, listed from the references themselves).
 *
 * Anything else is compiled alone: the check can only send an honest file the slow way, never a
 * hostile one the batched way.
 *
 * @module
 */

/** Names at the top level of mcs's default references (listed by `CompileServer.exe --names`). */
export interface CsharpReferenceNames {
  /** Top-level namespaces and types of the global namespace. */
  readonly topLevel: ReadonlySet<string>;
  /** Those that also name a type inside a namespace: a using directive could import one. */
  readonly imported: ReadonlySet<string>;
}

/** Reads the `--names` listing: lines `top <name>` and `imported <name>`. */
export function parseReferenceNames(text: string): CsharpReferenceNames {
  const topLevel = new Set<string>();
  const imported = new Set<string>();
  for (const line of text.split("\n")) {
    const [kind, name] = line.trim().split(" ");
    if (name === undefined) continue;
    if (kind === "top") topLevel.add(name);
    else if (kind === "imported") imported.add(name);
  }
  if (!topLevel.has("System")) {
    throw new SyntaxError(
      `Cannot read the C# reference names as "System" is not among them: rebuild the C# compile server (${topLevel.size} names read)`,
    );
  }
  return { topLevel, imported };
}

interface Token {
  readonly kind: "identifier" | "punctuation" | "literal";
  readonly text: string;
}

/**
 * Whether `text` has a character refused anywhere: a control character but tab, line feed and a
 * carriage return before a line feed (mcs reads a lone one as a line end), a line or paragraph
 * separator (line ends too), a byte order mark (blank to mcs) or a noncharacter.
 */
function hasRefusedCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x09 || c === 0x0a) continue;
    if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) continue;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
    if (c === 0xfeff || c === 0xfffe || c === 0xffff) return true;
  }
  return false;
}

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;

function isIdentifierStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}
const DIGIT = /[0-9]/;
const HEX = /[0-9A-Fa-f]/;
const PUNCTUATION = "{}()[];,.:?+-*/%&|^!~=<>";
/** Escapes of string and character literals that mcs reads as one escape (besides x and u). */
const SIMPLE_ESCAPES = "abntvr\\f0\"'";
/** mcs keeps 512 characters of an identifier or a number; well under that, no surprise. */
const MAX_WORD = 500;

/** A lexer of the subset of C# described in the module's documentation. */
class Lexer {
  readonly tokens: Token[] = [];
  #text: string;
  #i = 0;

  constructor(text: string) {
    this.#text = text;
  }

  /** Reads the whole text; false when it steps outside the subset. */
  run(): boolean {
    while (this.#i < this.#text.length) {
      if (!this.#step()) return false;
    }
    return true;
  }

  #step(): boolean {
    const text = this.#text;
    const code = text.charCodeAt(this.#i);
    if (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) return this.#blanks();
    if (isIdentifierStart(code)) return this.#identifier(this.#i);
    const c = text[this.#i]!;
    const next = text[this.#i + 1] ?? "";
    if (c === "/" && next === "/") return this.#lineComment();
    if (c === "/" && next === "*") return this.#blockComment();
    if (c === '"') return this.#string();
    if (c === "@") return next === '"' ? this.#verbatim() : this.#identifier(this.#i + 1);
    if (c === "'") return this.#character();
    if (isDigit(code) || (c === "." && isDigit(text.charCodeAt(this.#i + 1)))) {
      return this.#number();
    }
    if (c === ":" && next === ":") return this.#push("punctuation", "::", 2);
    if (PUNCTUATION.includes(c)) return this.#push("punctuation", c, 1);
    return false;
  }

  #blanks(): boolean {
    const text = this.#text;
    let code = text.charCodeAt(++this.#i);
    while (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) {
      code = text.charCodeAt(++this.#i);
    }
    return true;
  }

  #skip(n: number): boolean {
    this.#i += n;
    return true;
  }

  #push(kind: Token["kind"], text: string, length: number): boolean {
    this.tokens.push({ kind, text });
    return this.#skip(length);
  }

  #lineComment(): boolean {
    const text = this.#text;
    let code = text.charCodeAt(this.#i);
    while (this.#i < text.length && code !== 0x0a && code !== 0x0d) {
      code = text.charCodeAt(++this.#i);
    }
    return true;
  }

  #blockComment(): boolean {
    const end = this.#text.indexOf("*/", this.#i + 2);
    if (end < 0) return false;
    this.#i = end + 2;
    return true;
  }

  /** `@name` (from the `@`) or `name`: ASCII only, as mcs would continue on other letters. */
  #identifier(from: number): boolean {
    IDENTIFIER.lastIndex = from;
    const match = IDENTIFIER.exec(this.#text);
    if (match === null || match[0].length > MAX_WORD) return false;
    this.tokens.push({ kind: "identifier", text: match[0] });
    this.#i = from + match[0].length;
    return true;
  }

  /** A number; an exponent must have digits (mcs would take the character after `e` into it). */
  #number(): boolean {
    const text = this.#text;
    const start = this.#i;
    if (text[start] === "0" && /[xX]/.test(text[start + 1] ?? "")) {
      this.#i = start + 2;
      if (!HEX.test(text[this.#i] ?? "")) return false;
      while (HEX.test(text[this.#i] ?? "")) this.#i++;
    } else {
      this.#digits();
      if (text[this.#i] === "." && DIGIT.test(text[this.#i + 1] ?? "")) {
        this.#i++;
        this.#digits();
      }
      if (/[eE]/.test(text[this.#i] ?? "") && !this.#exponent()) return false;
    }
    if (this.#i - start > MAX_WORD) return false;
    return this.#push("literal", text.slice(start, this.#i), 0);
  }

  #digits(): void {
    while (DIGIT.test(this.#text[this.#i] ?? "")) this.#i++;
  }

  #exponent(): boolean {
    let i = this.#i + 1;
    if (this.#text[i] === "+" || this.#text[i] === "-") i++;
    if (!DIGIT.test(this.#text[i] ?? "")) return false;
    this.#i = i;
    this.#digits();
    return true;
  }

  /** A regular string: escapes as mcs reads them, no line end, terminated. */
  #string(): boolean {
    const text = this.#text;
    this.#i++;
    while (this.#i < text.length) {
      const c = text[this.#i]!;
      if (c === '"') return this.#push("literal", '""', 1);
      if (c === "\n" || c === "\r") return false;
      if (c === "\\") {
        if (!this.#escape()) return false;
      } else {
        this.#i++;
      }
    }
    return false;
  }

  /** A verbatim string (`@"..."`, `""` for a quote), terminated. */
  #verbatim(): boolean {
    const text = this.#text;
    this.#i += 2;
    while (this.#i < text.length) {
      if (text[this.#i] !== '"') {
        this.#i++;
      } else if (text[this.#i + 1] === '"') {
        this.#i += 2;
      } else {
        return this.#push("literal", '""', 1);
      }
    }
    return false;
  }

  /** A character literal: one character of the Basic Multilingual Plane, or one escape. */
  #character(): boolean {
    const text = this.#text;
    this.#i++;
    const c = text[this.#i] ?? "";
    if (c === "" || c === "'" || c === "\n" || c === "\r" || /[\ud800-\udfff]/.test(c)) {
      return false;
    }
    if (c === "\\") {
      if (!this.#escape()) return false;
    } else {
      this.#i++;
    }
    return text[this.#i] === "'" && this.#push("literal", "''", 1);
  }

  /**
   * One escape at a backslash, only as mcs reads it: a simple escape, `\x` and one to four hex
   * digits, `\u` and exactly four (mcs takes the next character into a malformed one).
   */
  #escape(): boolean {
    const text = this.#text;
    const d = text[this.#i + 1] ?? "";
    if (SIMPLE_ESCAPES.includes(d) && d !== "") return this.#skip(2);
    let n = 0;
    while (n < 4 && HEX.test(text[this.#i + 2 + n] ?? "")) n++;
    if (d === "x" && n >= 1) return this.#skip(2 + n);
    if (d === "u" && n === 4) return this.#skip(6);
    return false;
  }
}

/** Whether the tokens break rules 2 to 4 of the module's documentation. */
function refusedTokens(tokens: readonly Token[], names: CsharpReferenceNames): boolean {
  let depth = 0;
  for (const [k, token] of tokens.entries()) {
    const next = tokens[k + 1];
    if (token.kind === "punctuation") {
      if (token.text === "{") depth++;
      if (token.text === "}" && --depth < 0) return true;
      if (token.text === "::") return true;
    } else if (token.kind === "identifier" && refusedName(token.text, next, names)) {
      return true;
    }
  }
  return depth !== 0;
}

function refusedName(
  name: string,
  next: Token | undefined,
  names: CsharpReferenceNames,
): boolean {
  const follows = (kind: Token["kind"], text: string) => next?.kind === kind && next.text === text;
  if (name.startsWith("__ppo") || name === "namespace") return true;
  if (name === "extern" && follows("identifier", "alias")) return true;
  if (name === "using" && follows("identifier", "static")) return true;
  if ((name === "assembly" || name === "module") && follows("punctuation", ":")) return true;
  if (names.imported.has(name)) return true;
  return names.topLevel.has(name) && !follows("punctuation", ".") &&
    !follows("punctuation", ";");
}

const FATAL_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Whether a C# file may be compiled in a batch, wrapped in a namespace of its own, with the verdict
 * it has alone and without changing any other file's (see the module documentation).
 */
export function csharpBatchable(source: Uint8Array, names: CsharpReferenceNames): boolean {
  let text: string;
  try {
    text = FATAL_UTF8.decode(source);
  } catch {
    return false;
  }
  if (hasRefusedCharacter(text) || text.includes("__ppo")) return false;
  const lexer = new Lexer(text);
  return lexer.run() && !refusedTokens(lexer.tokens, names);
}

/**
 * Whether a C# file may make mcs read a file of its choosing: a strong-name key file or container
 * (`AssemblyKeyFile`, `AssemblyKeyName`), spelled out or through unicode escapes. In a worker it
 * would find other jobs' files (a key a file brought along), so it is compiled in a fresh sandbox.
 * Searched in the whole text: a comment or a string that says so only costs time.
 */
export function csharpNamesFiles(source: Uint8Array): boolean {
  return /KeyFile|KeyName|\\[uU]/.test(new TextDecoder().decode(source));
}
