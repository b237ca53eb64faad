/**
 * The web-tree-sitter grammars, loaded once each from the `.wasm` files that the grammar packages
 * pinned in `deno.json` ship (offline, from `node_modules`).
 *
 * The pins are chosen so the trees equal those of the reference CodeBLEU's Python bindings:
 * web-tree-sitter 0.25 and py-tree-sitter 0.25 share the tree-sitter 0.25 core, and each grammar
 * is the same release on npm and on PyPI (see `tests/fixtures/metrics/make_codebleu_golden.py`).
 *
 * @module
 */

import { createRequire } from "node:module";
import { Language as Grammar, type Node, Parser } from "web-tree-sitter";
import type { Language } from "../../sandbox/languages.ts";

/** Each grammar's wasm file, as `<npm package>/<file>`. */
const GRAMMARS = {
  python: "tree-sitter-python/tree-sitter-python.wasm",
  java: "tree-sitter-java/tree-sitter-java.wasm",
  cpp: "tree-sitter-cpp/tree-sitter-cpp.wasm",
  c: "tree-sitter-c/tree-sitter-c.wasm",
  csharp: "tree-sitter-c-sharp/tree-sitter-c_sharp.wasm",
  javascript: "tree-sitter-javascript/tree-sitter-javascript.wasm",
  typescript: "tree-sitter-typescript/tree-sitter-typescript.wasm",
  // PHP inside an HTML template (text until `<?php`): what the reference CodeBLEU parses with.
  php: "tree-sitter-php/tree-sitter-php.wasm",
  // PHP code alone, with or without `<?php`: what a syntax check of a PHP snippet needs.
  php_only: "tree-sitter-php/tree-sitter-php_only.wasm",
  go: "tree-sitter-go/tree-sitter-go.wasm",
  rust: "tree-sitter-rust/tree-sitter-rust.wasm",
} as const satisfies Record<Language | "php_only", string>;

/** A grammar that can be loaded. */
export type GrammarName = keyof typeof GRAMMARS;

/** The web-tree-sitter node and parser types. */
export type { Node, Parser } from "web-tree-sitter";

const require = createRequire(import.meta.url);
let runtime: Promise<void> | undefined;
const parsers = new Map<GrammarName, Promise<Parser>>();

async function createParser(grammar: GrammarName): Promise<Parser> {
  let path: string;
  try {
    path = require.resolve(GRAMMARS[grammar]);
  } catch {
    throw new Error(
      `Cannot load the "${grammar}" grammar as "${
        GRAMMARS[grammar]
      }" is not installed: run "deno install"`,
    );
  }
  runtime ??= Parser.init();
  await runtime;
  const parser = new Parser();
  parser.setLanguage(await Grammar.load(await Deno.readFile(path)));
  return parser;
}

/** The parser for `grammar`, created on first use and shared afterwards. */
export function loadParser(grammar: GrammarName): Promise<Parser> {
  let parser = parsers.get(grammar);
  if (parser === undefined) {
    parser = createParser(grammar);
    parsers.set(grammar, parser);
    parser.catch(() => parsers.delete(grammar));
  }
  return parser;
}

/** Parse `code` and pass the tree's root to `use`; the tree's wasm memory is freed afterwards. */
export function withTree<T>(
  parser: Parser,
  code: string,
  use: (root: Node) => T,
): T {
  const tree = parser.parse(code);
  if (tree === null) throw new Error("Cannot parse the code as the parser has no language set");
  try {
    return use(tree.rootNode);
  } finally {
    tree.delete();
  }
}
