/**
 * CodeBLEU (Ren et al. 2020, "CodeBLEU: a Method for Automatic Evaluation of Code Synthesis"):
 * `alpha * ngram + beta * weightedNgram + gamma * syntax + theta * dataflow`, weights 0.25 each by
 * default, with the syntax (AST subtree) match and the data-flow match computed on web-tree-sitter
 * trees.
 *
 * It reproduces the reference implementation, `codebleu` 0.7.0 on PyPI (k4black's packaging of
 * CodeXGLUE's CodeBLEU), component by component; `tests/metrics/codebleu_test.ts` checks it against
 * golden values made by that package. What that means in practice:
 * - Inputs are stripped of surrounding whitespace, then tokenized for the two n-gram components
 *   with Python's `str.split()` (the reference's default tokenizer).
 * - Syntax and data-flow match first remove comments (and, for Python, docstrings) the way the
 *   reference does, and count over all pairs of the corpus (micro average).
 * - Data-flow match is 0 when the references have no data-flow edges at all. The reference then
 *   counts any data-flow score of 0 as 1 in the total (`dataflow_match_score or 1`); PPOCoder's
 *   copy of CodeBLEU keeps it 0. We follow the reference by default; set
 *   `dataflowZeroAsOne: false` for PPOCoder's total. The `dataflow` field is the raw score either
 *   way.
 * - C and C++ data flow uses the C# rules, as in the reference.
 *
 * @module
 */

import type { Language } from "../../sandbox/languages.ts";
import { dataFlow, DFG_RULES, type Edge } from "./_dfg.ts";
import { removeComments } from "./_comments.ts";
import { KEYWORDS } from "./_keywords.ts";
import { ngramMatch, weightedNgramMatch, type WeightedReference } from "./_ngram_match.ts";
import { checkPairs, referenceList } from "./_pairs.ts";
import { loadParser, type Node, type Parser, withTree } from "./_parsers.ts";
import { pySplit, pyStrip } from "./_python_str.ts";
import type { References } from "./bleu.ts";

/** The languages CodeBLEU supports here. */
export const CODEBLEU_LANGUAGES = [
  "python",
  "java",
  "cpp",
  "c",
  "csharp",
  "javascript",
  "php",
] as const;

/** A language CodeBLEU supports. */
export type CodeBleuLanguage = (typeof CODEBLEU_LANGUAGES)[number] & Language;

/** Options for {@linkcode codeBleu}. */
export interface CodeBleuOptions {
  /** Weights of n-gram, weighted n-gram, syntax and data-flow match. @default [0.25, 0.25, 0.25, 0.25] */
  readonly weights?: readonly [number, number, number, number];
  /**
   * Count a data-flow score of 0 as 1 in the total, as the `codebleu` package does; `false` keeps
   * it 0, as PPOCoder's copy of CodeBLEU does. @default true
   */
  readonly dataflowZeroAsOne?: boolean;
  /** Split code into tokens for the two n-gram components. @default Python's `str.split()` */
  readonly tokenize?: (code: string) => string[];
}

/** CodeBLEU and its four components, each in [0, 1]. */
export interface CodeBleuScore {
  readonly codebleu: number;
  readonly ngram: number;
  readonly weightedNgram: number;
  readonly syntax: number;
  readonly dataflow: number;
}

/** What syntax and data-flow match need from one parsed, comment-stripped code. */
interface Analysis {
  readonly subtrees: readonly string[];
  readonly edges: readonly Edge[];
}

/** Whether `language` is one CodeBLEU supports. */
export function isCodeBleuLanguage(language: string): language is CodeBleuLanguage {
  return (CODEBLEU_LANGUAGES as readonly string[]).includes(language);
}

/** S-expressions of the root and of every node below it that has children. */
function subtrees(root: Node): string[] {
  const out: string[] = [];
  const stack = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    out.push(node.toString());
    for (const child of node.children) {
      if (child !== null && child.childCount !== 0) stack.push(child);
    }
  }
  return out;
}

/** `normalize_dataflow`: edges with variables renamed `var_0`, `var_1`, ... in order of appearance. */
function normalize(edges: readonly Edge[]): string[] {
  const names = new Map<string, string>();
  const rename = (name: string) => {
    if (!names.has(name)) names.set(name, `var_${names.size}`);
    return names.get(name)!;
  };
  return edges.map((e) => {
    const parents = e.parents.map(rename);
    return JSON.stringify([rename(e.name), e.relation, parents]);
  });
}

/** Reference edges found among the candidate's, each candidate edge used once. */
function countMatches(reference: readonly string[], candidate: readonly string[]): number {
  const left = new Map<string, number>();
  for (const e of candidate) left.set(e, (left.get(e) ?? 0) + 1);
  return reference.filter((e) => {
    const n = left.get(e) ?? 0;
    if (n > 0) left.set(e, n - 1);
    return n > 0;
  }).length;
}

function checkWeights(weights: readonly number[]): void {
  if (weights.length !== 4 || weights.some((w) => !Number.isFinite(w))) {
    throw new RangeError(
      `Cannot compute CodeBLEU as weights must be 4 finite numbers: current value is [${
        weights.join(", ")
      }]`,
    );
  }
}

/** The two n-gram components, on tokens of the stripped code. */
function ngramComponents(
  refs: readonly (readonly string[])[],
  hyps: readonly string[],
  language: CodeBleuLanguage,
  tokenize: (code: string) => string[],
): { ngram: number; weightedNgram: number } {
  const tokenizedHyps = hyps.map(tokenize);
  const tokenizedRefs = refs.map((rs) => rs.map(tokenize));
  const keywords: ReadonlySet<string> = KEYWORDS[language];
  const weighted: WeightedReference[][] = tokenizedRefs.map((rs) =>
    rs.map((tokens) => ({
      tokens,
      weights: new Map(tokens.map((t) => [t, keywords.has(t) ? 1 : 0.2])),
    }))
  );
  return {
    ngram: ngramMatch(tokenizedRefs, tokenizedHyps),
    weightedNgram: weightedNgramMatch(weighted, tokenizedHyps),
  };
}

/** Syntax and data-flow match, micro-averaged over every (hypothesis, reference) pair. */
function treeComponents(
  parser: Parser,
  refs: readonly (readonly string[])[],
  hyps: readonly string[],
  language: CodeBleuLanguage,
): { syntax: number; dataflow: number } {
  const python = language === "python";
  const analyze = (code: string): Analysis =>
    withTree(parser, code, (root) => ({
      subtrees: subtrees(root),
      edges: dataFlow(root, code, DFG_RULES[language]),
    }));
  let syntaxMatches = 0, syntaxTotal = 0, flowMatches = 0, flowTotal = 0;
  hyps.forEach((hypothesis, i) => {
    let candidate = hypothesis;
    for (const reference of refs[i]!) {
      // The reference strips the candidate again for every further reference; kept for parity.
      candidate = removeComments(candidate, python);
      const cand = analyze(candidate), ref = analyze(removeComments(reference, python));
      const candSubtrees = new Set(cand.subtrees);
      syntaxMatches += ref.subtrees.filter((s) => candSubtrees.has(s)).length;
      syntaxTotal += ref.subtrees.length;
      const refFlow = normalize(ref.edges);
      flowMatches += countMatches(refFlow, normalize(cand.edges));
      flowTotal += refFlow.length;
    }
  });
  return {
    syntax: syntaxMatches / syntaxTotal,
    dataflow: flowTotal === 0 ? 0 : flowMatches / flowTotal,
  };
}

/**
 * Corpus-level CodeBLEU of `hypotheses` against `references` (one string, or several, per
 * hypothesis), with its components.
 *
 * @example Usage
 * ```ts
 * import { codeBleu } from "./codebleu.ts";
 * const score = await codeBleu(["def f(a):\n    return a + 1"], ["def f(b):\n    return b + 1"], "python");
 * // score.syntax === 1 and score.dataflow === 1, while score.ngram < 1
 * ```
 */
export async function codeBleu(
  references: readonly References[],
  hypotheses: readonly string[],
  language: CodeBleuLanguage,
  options: CodeBleuOptions = {},
): Promise<CodeBleuScore> {
  checkPairs("CodeBLEU", references, hypotheses);
  if (!isCodeBleuLanguage(language)) {
    throw new TypeError(
      `Cannot compute CodeBLEU for "${language}" as it has no data-flow rules: use one of ${
        CODEBLEU_LANGUAGES.join(", ")
      }`,
    );
  }
  const { weights = [0.25, 0.25, 0.25, 0.25], dataflowZeroAsOne = true, tokenize = pySplit } =
    options;
  checkWeights(weights);
  const refs = references.map((r) => referenceList(r).map(pyStrip));
  const hyps = hypotheses.map(pyStrip);
  const { ngram, weightedNgram } = ngramComponents(refs, hyps, language, tokenize);
  const { syntax, dataflow } = treeComponents(await loadParser(language), refs, hyps, language);
  const [alpha, beta, gamma, theta] = weights;
  const flowTerm = dataflow === 0 && dataflowZeroAsOne ? 1 : dataflow;
  const codebleu = alpha * ngram + beta * weightedNgram + gamma * syntax + theta * flowTerm;
  return { codebleu, ngram, weightedNgram, syntax, dataflow };
}
