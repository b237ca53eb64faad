/**
 * Reference-based metrics: BLEU and exact match as CodeXGLUE computes them, CodeBLEU (n-gram,
 * weighted n-gram, AST and data-flow match on web-tree-sitter trees), and the syntax rate.
 * pass@k lives in `pass_at_k.ts`.
 *
 * @module
 */

export { bleu, type BleuOptions, exactMatch, type References, sentenceBleu } from "./bleu.ts";
export {
  codeBleu,
  CODEBLEU_LANGUAGES,
  type CodeBleuLanguage,
  type CodeBleuOptions,
  type CodeBleuScore,
  isCodeBleuLanguage,
} from "./codebleu.ts";
export {
  checkSyntax,
  type CheckSyntaxOptions,
  parsesCleanly,
  type SyntaxCheck,
  type SyntaxProblem,
  syntaxRate,
} from "./syntax_rate.ts";
