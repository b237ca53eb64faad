/**
 * Syntax rate: whether code parses with no ERROR and no MISSING node in its web-tree-sitter tree.
 * It needs no compiler and no sandbox, and it is the right signal for snippets that are not
 * whole programs (a method without its class, a statement list).
 *
 * PHP is checked with the `php_only` grammar, so a snippet parses with or without its `<?php`
 * tag; PHP embedded in HTML is not what it checks.
 *
 * @module
 */

import type { Language } from "../../sandbox/languages.ts";
import { type GrammarName, loadParser, type Node, withTree } from "./_parsers.ts";

/** One place where the parser had to recover. */
export interface SyntaxProblem {
  /** `error`: text the grammar could not place; `missing`: a token the parser had to insert. */
  readonly kind: "error" | "missing";
  /** The node type: `ERROR`, or the missing token (`;`, `)`, ...). */
  readonly nodeType: string;
  /** Zero-based row of the node's start. */
  readonly row: number;
  /** Zero-based column of the node's start, in UTF-16 code units. */
  readonly column: number;
}

/** The outcome of {@linkcode checkSyntax}. */
export interface SyntaxCheck {
  /** Whether the tree has no ERROR and no MISSING node. */
  readonly ok: boolean;
  /** The first problems in document order (at most `maxProblems`). */
  readonly problems: readonly SyntaxProblem[];
}

/** Options for {@linkcode checkSyntax}. */
export interface CheckSyntaxOptions {
  /** How many problems to list at most. @default 5 */
  readonly maxProblems?: number;
}

function grammarFor(language: Language): GrammarName {
  return language === "php" ? "php_only" : language;
}

function collectProblems(node: Node, max: number, into: SyntaxProblem[]): void {
  if (into.length >= max) return;
  if (node.isError || node.isMissing) {
    const { row, column } = node.startPosition;
    into.push({ kind: node.isMissing ? "missing" : "error", nodeType: node.type, row, column });
    if (node.isMissing) return;
  }
  for (const child of node.children) {
    if (child !== null && (child.hasError || child.isMissing)) collectProblems(child, max, into);
  }
}

/**
 * Parse `code` and report whether it is free of syntax errors, with where the first ones are.
 *
 * @example Usage
 * ```ts
 * import { checkSyntax } from "./syntax_rate.ts";
 * const { ok, problems } = await checkSyntax("int f() { return 1 }", "c");
 * // ok === false, problems[0] is { kind: "missing", nodeType: ";", row: 0, column: 18 }
 * ```
 */
export async function checkSyntax(
  code: string,
  language: Language,
  options: CheckSyntaxOptions = {},
): Promise<SyntaxCheck> {
  const parser = await loadParser(grammarFor(language));
  return withTree(parser, code, (root) => {
    if (!root.hasError) return { ok: true, problems: [] };
    const problems: SyntaxProblem[] = [];
    collectProblems(root, options.maxProblems ?? 5, problems);
    return { ok: false, problems };
  });
}

/** Whether `code` parses with no ERROR and no MISSING node. */
export async function parsesCleanly(code: string, language: Language): Promise<boolean> {
  const parser = await loadParser(grammarFor(language));
  return withTree(parser, code, (root) => !root.hasError);
}

/** The fraction of `codes` that parse cleanly (see {@linkcode parsesCleanly}). */
export async function syntaxRate(codes: readonly string[], language: Language): Promise<number> {
  if (codes.length === 0) {
    throw new RangeError(
      "Cannot compute a syntax rate as there are no samples: current count is 0",
    );
  }
  const parser = await loadParser(grammarFor(language));
  const clean = codes.filter((code) => withTree(parser, code, (root) => !root.hasError));
  return clean.length / codes.length;
}
