/**
 * What the code-to-code adapters (XLCoST, CodeXGLUE translation, CodeSearchNet completion) share:
 * how a unit of code that is not a whole program is wrapped for the target compiler, the
 * translation prompt, and the reference-based summary (BLEU, exact match, CodeBLEU, syntax rate,
 * compile failures by cause).
 *
 * @module
 */

import {
  bleu,
  codeBleu,
  exactMatch,
  isCodeBleuLanguage,
  parsesCleanly,
  sentenceBleu,
} from "../src/metrics/mod.ts";
import type { Execution, Language, Sample, Task } from "../src/types.ts";
import type { BenchmarkSummary, JudgedTask } from "./benchmark.ts";
import type { ExecuteRequest } from "../sandbox/types.ts";

/** The languages of XLCoST, in its order. */
export const TRANSLATION_LANGUAGES = [
  "cpp",
  "java",
  "python",
  "csharp",
  "javascript",
  "php",
  "c",
] as const;

/** A language of XLCoST. */
export type TranslationLanguage = (typeof TRANSLATION_LANGUAGES)[number];

/** Names of the languages in prompts. */
export const LANGUAGE_NAMES: Readonly<Record<TranslationLanguage, string>> = {
  cpp: "C++",
  java: "Java",
  python: "Python",
  csharp: "C#",
  javascript: "JavaScript",
  php: "PHP",
  c: "C",
};

/** What a unit of code is: a whole program, one function or method, or a snippet of one. */
export type CodeUnit = "program" | "function" | "snippet";

/** Text put around a unit so that the compiler can check it. */
export interface Wrapping {
  readonly prefix: string;
  readonly suffix: string;
}

const JAVA_IMPORTS = [
  "java.io",
  "java.math",
  "java.net",
  "java.nio.charset",
  "java.nio.file",
  "java.text",
  "java.util",
  "java.util.concurrent",
  "java.util.function",
  "java.util.regex",
  "java.util.stream",
].map((pkg) => `import ${pkg}.*;\n`).join("");

const CSHARP_USINGS = [
  "System",
  "System.Collections",
  "System.Collections.Generic",
  "System.IO",
  "System.Linq",
  "System.Text",
  "System.Threading",
].map((ns) => `using ${ns};\n`).join("");

const C_INCLUDES = ["stdio.h", "stdlib.h", "string.h", "math.h", "stdbool.h", "limits.h", "ctype.h"]
  .map((h) => `#include <${h}>\n`).join("");

const CPP_PRELUDE = "#include <bits/stdc++.h>\nusing namespace std;\n";

/**
 * Declarations a class body or file scope takes (a function or type definition, an include or
 * import); anything else in a snippet is taken as statements and goes inside a function.
 */
const DECLARATION =
  /^\s*(?:#\s*include|import\s|using\s|package\s|namespace\s|(?:(?:public|private|protected|internal|static|final|abstract|sealed|partial|virtual|override|synchronized|extern|inline|unsafe|async|const|readonly)\s+)*(?:class|struct|interface|enum|record)\s|(?:(?:public|private|protected|internal|static|final|abstract|virtual|override|synchronized|extern|inline|unsafe|async)\s+)*[\w<>[\],.*&:]+(?:\s+[\w<>[\],.*&:]+)*\s+[\w~]+\s*\([^;{]*\)\s*(?:const\s*)?(?:throws\s+[\w.,\s]+)?\{)/;

/** A Java or C# constructor: modifiers, then a name directly followed by its parameters. */
const CONSTRUCTOR = /^\s*(?:(?:public|private|protected|internal|static)\s+)*([A-Za-z_]\w*)\s*\(/;

/**
 * How to wrap a unit of `language` code for a compile check, as part of the task (the sandbox
 * only compiles what it is given):
 *
 * - whole programs: nothing, except `<?php` before PHP that lacks it (as PPOCoder does);
 * - functions (CodeXGLUE and CodeSearchNet methods): Java and C# methods go into a class, with
 *   the common imports/usings, a constructor in a class of its name (they use types of their
 *   own projects, so many still do not compile); C and C++ get the usual headers;
 * - snippets (XLCoST snippet level): the same prelude, and statements go into a function body
 *   (declarations stay at class or file scope). Snippets often stop inside a block, so their
 *   compile rate is a rough signal; the syntax rate is the better one.
 */
export function compileWrapping(language: Language, unit: CodeUnit, code: string): Wrapping {
  if (unit === "program") {
    return language === "php" && !code.trimStart().startsWith("<?php")
      ? { prefix: "<?php\n", suffix: "" }
      : { prefix: "", suffix: "" };
  }
  const statements = unit === "snippet" && !DECLARATION.test(code);
  const body = (open: string, close: string) =>
    statements ? { open: `${open}void __snippet() {\n`, close: `\n}${close}` } : { open, close };
  // A constructor must sit in a class of its own name.
  const owner = unit === "function" ? CONSTRUCTOR.exec(code)?.[1] : undefined;
  switch (language) {
    case "java": {
      const { open, close } = body(`class ${owner ?? "Main"} {\n`, "\n}\n");
      return { prefix: `${JAVA_IMPORTS}\n${open}`, suffix: close };
    }
    case "csharp": {
      const { open, close } = body(`public class ${owner ?? "Wrapper"} {\n`, "\n}\n");
      return { prefix: `${CSHARP_USINGS}\n${open}`, suffix: close };
    }
    case "cpp":
    case "c": {
      const prelude = language === "cpp" ? CPP_PRELUDE : C_INCLUDES;
      const { open, close } = body("", "\n");
      return { prefix: `${prelude}\n${open}`, suffix: close === "" ? "\n" : close };
    }
    case "javascript":
      return unit === "snippet"
        ? { prefix: "function __snippet() {\n", suffix: "\n}\n" }
        : { prefix: "", suffix: "" };
    case "php": {
      const open = code.trimStart().startsWith("<?php") ? "" : "<?php\n";
      return unit === "snippet"
        ? { prefix: `${open}function __snippet() {\n`, suffix: "\n}\n" }
        : { prefix: open, suffix: "" };
    }
    case "go":
      return { prefix: "package main\n\n", suffix: "\n" };
    default:
      return { prefix: "", suffix: "" };
  }
}

/**
 * A Java program as `javac` in the sandbox sees it, in `Main.java`: a top-level `public` class
 * or interface must be named `Main`, so `public` is taken off top-level type declarations
 * (nothing else about the program changes).
 */
export function javaWithoutPublicTopLevel(code: string): string {
  let depth = 0;
  let out = "";
  for (let i = 0; i < code.length; i++) {
    const ch = code[i]!;
    if (ch === "{") depth++;
    if (ch === "}") depth = Math.max(0, depth - 1);
    if (depth === 0 && code.startsWith("public", i) && !/\w/.test(code[i - 1] ?? " ")) {
      const rest = /^public\s+((?:(?:final|abstract|strictfp)\s+)*)(class|interface|enum|record)\b/
        .exec(code.slice(i));
      if (rest !== null) {
        out += `${rest[1]}${rest[2]}`;
        i += rest[0].length - 1;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

/** The compile request for `code` written for a task whose check is `compile`. */
export function compileRequest(task: Task, code: string): ExecuteRequest {
  const check = task.check;
  if (check.kind !== "compile") {
    throw new TypeError(`Task "${task.id}" is not a compile-check task`);
  }
  const program = `${check.prefix ?? ""}${code}${check.suffix ?? ""}`;
  return {
    language: task.language,
    mode: "compile",
    code: task.language === "java" ? javaWithoutPublicTopLevel(program) : program,
  };
}

/**
 * The translation prompt (`translate-v1`): the instruction, the source code, and the target
 * language's name as the start of the answer.
 */
export function translationPrompt(
  source: string,
  from: TranslationLanguage,
  to: TranslationLanguage,
  unit: CodeUnit,
): string {
  const what = unit === "snippet" ? "code snippet" : unit;
  return `Translate the following ${LANGUAGE_NAMES[from]} ${what} to ${LANGUAGE_NAMES[to]}.\n\n` +
    `${LANGUAGE_NAMES[from]}:\n${source}\n\n${LANGUAGE_NAMES[to]}:\n`;
}

/** How the summary reads one task: the texts BLEU compares and the code CodeBLEU parses. */
export interface SummaryView {
  /** Reference and hypothesis in the tokenization BLEU and exact match use. */
  readonly bleuPair: (task: Task, sample: Sample) => { reference: string; hypothesis: string };
  /** Reference and hypothesis as code (CodeBLEU, syntax rate); `undefined` skips CodeBLEU. */
  readonly codePair?: (task: Task, sample: Sample) => { reference: string; hypothesis: string };
}

/**
 * Reference-based metrics over the first sample of every task:
 *
 * - `bleu`: CodeXGLUE's smoothed corpus BLEU-4, and `exact_match`, on `view.bleuPair`;
 * - `codebleu` (and its four components) on `view.codePair`, per target language when there
 *   are several (`codebleu/<language>`), with the 0.25 weights;
 * - `syntax_rate`: the share of samples (all of them) whose program, as the compiler sees it,
 *   parses without ERROR or MISSING node, next to the compile rate of the report;
 * - `compile_errors/<cause>`: how many samples failed to compile, by cause (the compiler's error
 *   code or first message with names taken out), most frequent first.
 */
export async function translationSummary(
  judged: readonly JudgedTask[],
  view: SummaryView,
): Promise<BenchmarkSummary> {
  const firsts = judged.filter((j) => j.samples.length > 0);
  const metrics: Record<string, number | null> = {};
  const perTask: Record<string, Record<string, number>> = {};
  const pairs = firsts.map((j) => view.bleuPair(j.task, j.samples[0]!));
  metrics.bleu = pairs.length === 0
    ? null
    : bleu(pairs.map((p) => p.reference), pairs.map((p) => p.hypothesis));
  metrics.exact_match = pairs.length === 0
    ? null
    : exactMatch(pairs.map((p) => p.reference), pairs.map((p) => p.hypothesis));
  firsts.forEach((j, i) => {
    const p = pairs[i]!;
    perTask[j.task.id] = {
      bleu: sentenceBleu(p.reference, p.hypothesis),
      exact_match: exactMatch([p.reference], [p.hypothesis]),
    };
  });
  if (view.codePair !== undefined) {
    Object.assign(metrics, await codeBleuMetrics(firsts, view.codePair));
  }
  Object.assign(metrics, await syntaxMetrics(judged, perTask));
  Object.assign(metrics, compileFailures(judged));
  return { metrics, perTask };
}

async function codeBleuMetrics(
  judged: readonly JudgedTask[],
  codePair: NonNullable<SummaryView["codePair"]>,
): Promise<Record<string, number | null>> {
  const metrics: Record<string, number | null> = {};
  const byLanguage = Map.groupBy(judged, (j) => j.task.language);
  for (const [language, group] of byLanguage) {
    if (!isCodeBleuLanguage(language)) continue;
    const pairs = group.map((j) => codePair(j.task, j.samples[0]!));
    const score = await codeBleu(
      pairs.map((p) => p.reference),
      pairs.map((p) => p.hypothesis),
      language,
    );
    const suffix = byLanguage.size === 1 ? "" : `/${language}`;
    metrics[`codebleu${suffix}`] = score.codebleu;
    metrics[`codebleu_ngram${suffix}`] = score.ngram;
    metrics[`codebleu_weighted_ngram${suffix}`] = score.weightedNgram;
    metrics[`codebleu_syntax${suffix}`] = score.syntax;
    metrics[`codebleu_dataflow${suffix}`] = score.dataflow;
  }
  return metrics;
}

async function syntaxMetrics(
  judged: readonly JudgedTask[],
  perTask: Record<string, Record<string, number>>,
): Promise<Record<string, number | null>> {
  let clean = 0;
  let total = 0;
  for (const j of judged) {
    for (const [i, sample] of j.samples.entries()) {
      const request = compileRequest(j.task, sample.code);
      const ok = await parsesCleanly(request.code, j.task.language);
      clean += ok ? 1 : 0;
      total++;
      if (i === 0 && perTask[j.task.id] !== undefined) perTask[j.task.id]!.syntax_ok = ok ? 1 : 0;
    }
  }
  return { syntax_rate: total === 0 ? null : clean / total };
}

/** `compile_errors/<cause>` counts over every sample whose status is `compile_error`. */
export function compileFailures(judged: readonly JudgedTask[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const j of judged) {
    for (const result of j.results) {
      if (result.status !== "compile_error") continue;
      const cause = compileErrorCause(result, j.task.language);
      counts.set(cause, (counts.get(cause) ?? 0) + 1);
    }
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(sorted.map(([cause, n]) => [`compile_errors/${cause}`, n]));
}

/**
 * The cause of a compile failure, from the compiler's output: C#'s error code with its message
 * (`CS0246 type or namespace not found`), else the first `error:` message with quoted names and
 * numbers taken out (`cannot find symbol`), else the Python exception name, else the status.
 */
export function compileErrorCause(execution: Execution, language: Language): string {
  const text = `${execution.stderr}\n${execution.stdout}`;
  const cs = /error (CS\d{4}): (.*)$/m.exec(text);
  if (cs !== null) return `${cs[1]} ${normalizeMessage(cs[2]!.split(". ")[0]!)}`;
  const error = /\berror:\s*(.*)$/m.exec(text);
  if (error !== null && language !== "python") return normalizeMessage(error[1]!);
  const python = /^(\w+Error)\b/m.exec(text);
  if (python !== null) return python[1]!;
  const php = /(PHP )?Parse error:\s*(.*?)( in .*)?$/m.exec(text);
  if (php !== null) return normalizeMessage(php[2]!);
  return execution.status;
}

function normalizeMessage(message: string): string {
  const text = message
    .replace(/`[^`']*'/g, "'…'")
    .replace(/(['"‘’“”]).*?\1/g, "'…'")
    .replace(/\b\d+\b/g, "N")
    .replace(/\s+/g, " ")
    .trim();
  return text.length <= 80 ? text : text.slice(0, 81).replace(/\s\S*$/, "");
}
