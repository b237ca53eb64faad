/**
 * Data-flow graphs of the reference CodeBLEU (`codebleu/parser/DFG.py` and
 * `dataflow_match.get_data_flow`, from CodeXGLUE; MIT licence), ported to web-tree-sitter trees.
 *
 * The port keeps the reference's behaviour, quirks included, because data-flow match is only
 * comparable with published numbers if the graph is the same:
 * - C and C++ go through the C# rules (as XLCoST and the reference do), and rules that name node
 *   types a grammar does not have simply never fire;
 * - any error while building a graph (a field the rule expects is absent in a broken tree) gives
 *   an empty graph, as the reference's `try/except` does;
 * - tokens are cut out of the source by the tree's byte columns applied to Python's code-point
 *   strings, which is what the reference does, so non-ASCII text yields the same tokens;
 * - merged name lists keep CPython's `list(set(...))` order (see `_python_set.ts`).
 *
 * @module
 */

import { pySetList } from "./_python_set.ts";
import type { Node } from "./_parsers.ts";

type Relation = "comesFrom" | "computedFrom";

/** One data-flow edge set: variable `name` at token `idx` comes from / is computed from parents. */
export interface Edge {
  readonly name: string;
  readonly idx: number;
  readonly relation: Relation;
  readonly parents: readonly string[];
  readonly parentIdx: readonly number[];
}

type States = Map<string, readonly number[]>;
type Dfg = (node: Node | null, tokens: Tokens, states: States) => [Edge[], States];

/** Leaf tokens of a tree by `startIndex:endIndex`: their position in the token list and text. */
type Tokens = Map<string, readonly [number, string]>;

const STRING_TYPES = new Set(["string_literal", "string", "character_literal"]);

function key(node: Node): string {
  return `${node.startIndex}:${node.endIndex}`;
}

/** Throw where Python would raise on `None` (an absent field), which empties the graph. */
function must(node: Node | null | undefined): Node {
  if (node == null) throw new TypeError("Cannot follow an absent node");
  return node;
}

function childrenOf(node: Node): Node[] {
  return node.children.filter((c): c is Node => c !== null);
}

function isToken(node: Node): boolean {
  return (node.childCount === 0 || STRING_TYPES.has(node.type)) && node.type !== "comment";
}

/** `tree_to_token_index`: the token nodes in document order. */
function tokenNodes(node: Node, into: Node[] = []): Node[] {
  if (isToken(node)) into.push(node);
  else for (const child of childrenOf(node)) tokenNodes(child, into);
  return into;
}

function lookup(tokens: Tokens, node: Node): readonly [number, string] {
  const found = tokens.get(key(node));
  if (found === undefined) throw new TypeError(`Cannot find the token at ${key(node)}`);
  return found;
}

/** `tree_to_variable_index`: tokens under `node` whose text differs from their node type. */
function variables(node: Node | null, tokens: Tokens, into: (readonly [number, string])[] = []) {
  const n = must(node);
  if (isToken(n)) {
    const token = lookup(tokens, n);
    if (n.type !== token[1]) into.push(token);
  } else {
    for (const child of childrenOf(n)) variables(child, tokens, into);
  }
  return into;
}

/** The source lines, as Python's `code.split("\n")`, and which of them are ASCII. */
interface Lines {
  readonly text: readonly string[];
  readonly ascii: readonly boolean[];
}

function splitLines(code: string): Lines {
  const text = code.split("\n");
  // Printable ASCII and tabs take the fast path; any other line takes the exact one.
  return { text, ascii: text.map((l) => /^[\t -~]*$/.test(l)) };
}

/** The byte column of a UTF-16 column on `row`. */
function byteColumn(lines: Lines, row: number, column: number): number {
  return lines.ascii[row]
    ? column
    : new TextEncoder().encode(lines.text[row]!.slice(0, column)).length;
}

/** Python's `code[row][a:b]` where a and b are byte columns but `code[row]` counts code points. */
function sliceLikePython(lines: Lines, row: number, from: number, to?: number): string {
  const line = lines.text[row]!;
  return lines.ascii[row] ? line.slice(from, to) : Array.from(line).slice(from, to).join("");
}

/** `index_to_code_token` for a node. */
function tokenText(node: Node, lines: Lines): string {
  const { row: sr, column: sc16 } = node.startPosition,
    { row: er, column: ec16 } = node.endPosition;
  const sc = byteColumn(lines, sr, sc16), ec = byteColumn(lines, er, ec16);
  if (sr === er) return sliceLikePython(lines, sr, sc, ec);
  return sliceLikePython(lines, sr, sc) + lines.text.slice(sr + 1, er).join("") +
    sliceLikePython(lines, er, 0, ec);
}

function byIdx(edges: Edge[]): Edge[] {
  return edges.sort((a, b) => a.idx - b.idx);
}

function sortedUnique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** The leaf rule, common to every language. */
function leaf(node: Node, tokens: Tokens, states: States): [Edge[], States] {
  const [idx, code] = lookup(tokens, node);
  if (node.type === code) return [[], states];
  const known = states.get(code);
  if (known !== undefined) {
    return [
      [{ name: code, idx, relation: "comesFrom", parents: [code], parentIdx: [...known] }],
      states,
    ];
  }
  if (node.type === "identifier") states.set(code, [idx]);
  return [[{ name: code, idx, relation: "comesFrom", parents: [], parentIdx: [] }], states];
}

/** A declaration `name = value` (or `name` alone): each name comes from each value token. */
function declaration(
  dfg: Dfg,
  name: Node | null,
  value: Node | null,
  tokens: Tokens,
  states: States,
): [Edge[], States] {
  const edges: Edge[] = [];
  if (value === null) {
    for (const [idx, code] of variables(name, tokens)) {
      edges.push({ name: code, idx, relation: "comesFrom", parents: [], parentIdx: [] });
      states.set(code, [idx]);
    }
    return [byIdx(edges), states];
  }
  const names = variables(name, tokens), values = variables(value, tokens);
  const [inner, next] = dfg(value, tokens, states);
  edges.push(...inner);
  for (const [idx1, code1] of names) {
    for (const [idx2, code2] of values) {
      edges.push({
        name: code1,
        idx: idx1,
        relation: "comesFrom",
        parents: [code2],
        parentIdx: [idx2],
      });
    }
    next.set(code1, [idx1]);
  }
  return [byIdx(edges), next];
}

/** `left <op>= right` in the Java style: one edge for each (left token, right token) pair. */
function pairwise(
  left: Node | null,
  right: Node | null,
  tokens: Tokens,
  states: States,
  relation: Relation = "computedFrom",
): Edge[] {
  const edges: Edge[] = [];
  const names = variables(left, tokens), values = variables(right, tokens);
  for (const [idx1, code1] of names) {
    for (const [idx2, code2] of values) {
      edges.push({ name: code1, idx: idx1, relation, parents: [code2], parentIdx: [idx2] });
    }
    states.set(code1, [idx1]);
  }
  return edges;
}

function assignment(dfg: Dfg, node: Node, tokens: Tokens, states: States): [Edge[], States] {
  const left = node.childForFieldName("left"), right = node.childForFieldName("right");
  const [inner, next] = dfg(right, tokens, states);
  return [byIdx([...inner, ...pairwise(left, right, tokens, next)]), next];
}

function increment(node: Node, tokens: Tokens, states: States): [Edge[], States] {
  return [byIdx(pairwise(node, node, tokens, states)), states];
}

/** Union of the branches' states: every definition site that may reach the code after the `if`. */
function mergeStates(all: readonly States[]): States {
  const merged = new Map<string, number[]>();
  for (const states of all) {
    for (const [name, idx] of states) merged.set(name, [...(merged.get(name) ?? []), ...idx]);
  }
  return new Map([...merged].map(([name, idx]) => [name, sortedUnique(idx)]));
}

interface IfRules {
  /** Types that start another branch (`else`, `elif_clause`, ...). */
  readonly branches: ReadonlySet<string>;
  /** Every child after the first branch is a branch too (Java style), not only the listed types. */
  readonly sticky: boolean;
  /** Merge the incoming states whatever happens (PHP, JavaScript). */
  readonly keepIncoming: boolean;
  /** Merge the incoming states when there is no `else` (all but PHP). */
  readonly tagElse: boolean;
}

function ifStatement(
  dfg: Dfg,
  node: Node,
  tokens: Tokens,
  states: States,
  rules: IfRules,
): [Edge[], States] {
  const edges: Edge[] = [];
  let current: States = new Map(states);
  const others: States[] = [];
  let inBranches = false, hasElse = node.type.includes("else");
  for (const child of childrenOf(node)) {
    if (child.type.includes("else")) hasElse = true;
    if (!rules.branches.has(child.type) && !inBranches) {
      const [inner, next] = dfg(child, tokens, current);
      edges.push(...inner), current = next;
    } else {
      if (rules.sticky) inBranches = true;
      const [inner, next] = dfg(child, tokens, states);
      edges.push(...inner), others.push(next);
    }
  }
  others.push(current);
  if (rules.tagElse && !hasElse) others.push(states);
  if (rules.keepIncoming) others.push(states);
  return [byIdx(edges), mergeStates(others)];
}

/** Edges seen on both passes of a loop, merged: one edge per (name, idx, relation). */
function mergeLoop(edges: readonly Edge[]): Edge[] {
  const merged = new Map<string, Edge>();
  for (const e of edges) {
    const k = JSON.stringify([e.name, e.idx, e.relation]);
    const seen = merged.get(k);
    merged.set(
      k,
      seen === undefined ? e : {
        ...seen,
        parents: pySetList([...seen.parents, ...e.parents]),
        parentIdx: sortedUnique([...seen.parentIdx, ...e.parentIdx]),
      },
    );
  }
  return byIdx([...merged.values()]);
}

/** Walk `children` in order, threading the states. */
function sequence(
  dfg: Dfg,
  children: readonly Node[],
  tokens: Tokens,
  states: States,
): [Edge[], States] {
  const edges: Edge[] = [];
  for (const child of children) {
    const [inner, next] = dfg(child, tokens, states);
    edges.push(...inner), states = next;
  }
  return [edges, states];
}

function whileLoop(dfg: Dfg, node: Node, tokens: Tokens, states: States): [Edge[], States] {
  const children = childrenOf(node);
  const [first, s1] = sequence(dfg, children, tokens, states);
  const [second, s2] = sequence(dfg, children, tokens, s1);
  return [mergeLoop([...first, ...second]), s2];
}

/** C-style `for (init; cond; update) body`: all children, then those after the `initType` child. */
function forLoop(
  dfg: Dfg,
  node: Node,
  tokens: Tokens,
  states: States,
  initType: string,
): [Edge[], States] {
  const children = childrenOf(node);
  const [first, s1] = sequence(dfg, children, tokens, states);
  const at = children.findIndex((c) => c.type === initType);
  const [second, s2] = at < 0 ? [[], s1] : sequence(dfg, children.slice(at + 1), tokens, s1);
  return [mergeLoop([...first, ...second]), s2];
}

/** `for (name : value) body`, walked twice. */
function forEach(
  dfg: Dfg,
  name: Node | null,
  value: Node | null,
  body: Node | null,
  tokens: Tokens,
  states: States,
) {
  const edges: Edge[] = [];
  for (let pass = 0; pass < 2; pass++) {
    const [inner, next] = dfg(value, tokens, states);
    edges.push(...inner, ...pairwise(name, value, tokens, next));
    const [inBody, after] = dfg(body, tokens, next);
    edges.push(...inBody), states = after;
  }
  return [mergeLoop(edges), states] as [Edge[], States];
}

function walkChildren(
  dfg: Dfg,
  node: Node,
  tokens: Tokens,
  states: States,
  first = new Set<string>(),
): [Edge[], States] {
  const children = childrenOf(node);
  const [a, s1] = sequence(dfg, children.filter((c) => first.has(c.type)), tokens, states);
  const [b, s2] = sequence(dfg, children.filter((c) => !first.has(c.type)), tokens, s1);
  return [byIdx([...a, ...b]), s2];
}

/** Python's `left`/`right` pairing: element-wise for tuples of equal size, else as wholes. */
function pythonSides(node: Node): [Node[], Node[]] {
  const left = must(node.childForFieldName("left")), right = must(node.childForFieldName("right"));
  let lefts = childrenOf(left).filter((c) => c.type !== ",");
  let rights = childrenOf(right).filter((c) => c.type !== ",");
  if (lefts.length !== rights.length) lefts = [left], rights = [right];
  if (lefts.length === 0) lefts = [left];
  if (rights.length === 0) rights = [right];
  return [lefts, rights];
}

/** Python assignment: each left token is computed from all tokens of its right side. */
function pythonAssign(
  lefts: readonly Node[],
  rights: readonly Node[],
  tokens: Tokens,
  states: States,
): Edge[] {
  const edges: Edge[] = [];
  for (let i = 0; i < Math.min(lefts.length, rights.length); i++) {
    const values = variables(rights[i]!, tokens);
    for (const [idx, code] of variables(lefts[i]!, tokens)) {
      edges.push({
        name: code,
        idx,
        relation: "computedFrom",
        parents: values.map((v) => v[1]),
        parentIdx: values.map((v) => v[0]),
      });
      states.set(code, [idx]);
    }
  }
  return edges;
}

const dfgPython: Dfg = (node, tokens, statesIn) => {
  const n = must(node);
  let states: States = new Map(statesIn);
  if (isToken(n)) return leaf(n, tokens, states);
  switch (n.type) {
    case "default_parameter":
      return declaration(
        dfgPython,
        n.childForFieldName("name"),
        n.childForFieldName("value"),
        tokens,
        states,
      );
    case "assignment":
    case "augmented_assignment":
    case "for_in_clause": {
      let lefts: Node[], rights: Node[];
      if (n.type === "for_in_clause") {
        rights = [must(n.children.at(-1))], lefts = [must(n.childForFieldName("left"))];
      } else {
        if (n.childForFieldName("right") === null) return [[], states];
        [lefts, rights] = pythonSides(n);
      }
      const [inner, next] = sequence(dfgPython, rights, tokens, states);
      return [byIdx([...inner, ...pythonAssign(lefts, rights, tokens, next)]), next];
    }
    case "if_statement":
      return ifStatement(dfgPython, n, tokens, states, PYTHON_IF);
    case "for_statement": {
      const edges: Edge[] = [];
      for (let pass = 0; pass < 2; pass++) {
        const [lefts, rights] = pythonSides(n);
        const [inner, next] = sequence(dfgPython, rights, tokens, states);
        edges.push(...inner, ...pythonAssign(lefts, rights, tokens, next));
        states = next;
        const last = must(n.children.at(-1));
        if (last.type === "block") {
          const [inBody, after] = dfgPython(last, tokens, states);
          edges.push(...inBody), states = after;
        }
      }
      return [mergeLoop(edges), states];
    }
    case "while_statement":
      return whileLoop(dfgPython, n, tokens, states);
    default:
      return walkChildren(dfgPython, n, tokens, states, new Set(["for_in_clause"]));
  }
};

const PYTHON_IF: IfRules = {
  branches: new Set(["elif_clause", "else_clause"]),
  sticky: false,
  keepIncoming: false,
  tagElse: true,
};
const JAVA_IF: IfRules = {
  branches: new Set(["if_statement", "else"]),
  sticky: true,
  keepIncoming: false,
  tagElse: true,
};
const PHP_IF: IfRules = {
  branches: new Set(["if_statement", "else_clause"]),
  sticky: true,
  keepIncoming: true,
  tagElse: false,
};
const JAVASCRIPT_IF: IfRules = { ...JAVA_IF, keepIncoming: true };

const dfgJava: Dfg = (node, tokens, statesIn) => {
  const n = must(node);
  const states: States = new Map(statesIn);
  if (isToken(n)) return leaf(n, tokens, states);
  switch (n.type) {
    case "variable_declarator":
      return declaration(
        dfgJava,
        n.childForFieldName("name"),
        n.childForFieldName("value"),
        tokens,
        states,
      );
    case "assignment_expression":
      return assignment(dfgJava, n, tokens, states);
    case "update_expression":
      return increment(n, tokens, states);
    case "if_statement":
    case "else":
      return ifStatement(dfgJava, n, tokens, states, JAVA_IF);
    case "for_statement":
      return forLoop(dfgJava, n, tokens, states, "local_variable_declaration");
    case "enhanced_for_statement": {
      const field = (f: string) => n.childForFieldName(f);
      return forEach(dfgJava, field("name"), field("value"), field("body"), tokens, states);
    }
    case "while_statement":
      return whileLoop(dfgJava, n, tokens, states);
    default:
      return walkChildren(dfgJava, n, tokens, states);
  }
};

const dfgCsharp: Dfg = (node, tokens, statesIn) => {
  const n = must(node);
  const states: States = new Map(statesIn);
  if (isToken(n)) return leaf(n, tokens, states);
  switch (n.type) {
    case "variable_declarator": {
      // The reference reads `name = value` only from a declarator of exactly two children.
      const children = childrenOf(n);
      return declaration(
        dfgCsharp,
        must(children[0]),
        children.length === 2 ? children[1]! : null,
        tokens,
        states,
      );
    }
    case "assignment_expression":
      return assignment(dfgCsharp, n, tokens, states);
    case "postfix_unary_expression":
      return increment(n, tokens, states);
    case "if_statement":
    case "else":
      return ifStatement(dfgCsharp, n, tokens, states, JAVA_IF);
    case "for_statement":
      return forLoop(dfgCsharp, n, tokens, states, "local_variable_declaration");
    case "for_each_statement": {
      const field = (f: string) => n.childForFieldName(f);
      return forEach(dfgCsharp, field("left"), field("right"), field("body"), tokens, states);
    }
    case "while_statement":
      return whileLoop(dfgCsharp, n, tokens, states);
    default:
      return walkChildren(dfgCsharp, n, tokens, states);
  }
};

const dfgPhp: Dfg = (node, tokens, statesIn) => {
  const n = must(node);
  const states: States = new Map(statesIn);
  if (isToken(n)) return leaf(n, tokens, states);
  switch (n.type) {
    case "simple_parameter":
      return declaration(
        dfgPhp,
        n.childForFieldName("name"),
        n.childForFieldName("default_value"),
        tokens,
        states,
      );
    case "assignment_expression":
    case "augmented_assignment_expression":
      return assignment(dfgPhp, n, tokens, states);
    case "update_expression":
      return increment(n, tokens, states);
    case "if_statement":
    case "else_clause":
      return ifStatement(dfgPhp, n, tokens, states, PHP_IF);
    case "for_statement":
      return forLoop(dfgPhp, n, tokens, states, "assignment_expression");
    case "foreach_statement": {
      // The first `variable_name` child is the iterated value, the second the loop variable.
      const [value = null, name = null] = childrenOf(n).filter((c) => c.type === "variable_name");
      return forEach(dfgPhp, name, value, n.childForFieldName("body"), tokens, states);
    }
    case "while_statement":
      return whileLoop(dfgPhp, n, tokens, states);
    default:
      return walkChildren(dfgPhp, n, tokens, states);
  }
};

const dfgJavascript: Dfg = (node, tokens, statesIn) => {
  const n = must(node);
  const states: States = new Map(statesIn);
  if (isToken(n)) return leaf(n, tokens, states);
  switch (n.type) {
    case "variable_declarator":
      return declaration(
        dfgJavascript,
        n.childForFieldName("name"),
        n.childForFieldName("value"),
        tokens,
        states,
      );
    case "assignment_pattern":
    case "augmented_assignment_expression":
      return assignment(dfgJavascript, n, tokens, states);
    case "update_expression":
      return increment(n, tokens, states);
    case "if_statement":
    case "else":
      return ifStatement(dfgJavascript, n, tokens, states, JAVASCRIPT_IF);
    case "for_statement":
      return forLoop(dfgJavascript, n, tokens, states, "variable_declaration");
    case "while_statement":
      return whileLoop(dfgJavascript, n, tokens, states);
    default:
      return walkChildren(dfgJavascript, n, tokens, states);
  }
};

/** Which rules build the graph of each CodeBLEU language. */
export const DFG_RULES = {
  python: dfgPython,
  java: dfgJava,
  csharp: dfgCsharp,
  c: dfgCsharp,
  cpp: dfgCsharp,
  php: dfgPhp,
  javascript: dfgJavascript,
} as const;

/** `get_data_flow`: the graph of the tree at `root` (of `code`), as the reference filters and merges it. */
export function dataFlow(root: Node, code: string, rules: Dfg): Edge[] {
  let edges: Edge[];
  try {
    const lines = splitLines(code);
    const tokens: Tokens = new Map();
    tokenNodes(root).forEach((node, idx) => tokens.set(key(node), [idx, tokenText(node, lines)]));
    edges = rules(root, tokens, new Map())[0];
  } catch {
    // The reference's `except`: a rule met a tree it does not expect.
    edges = [];
  }
  byIdx(edges);
  const linked = new Set<number>();
  for (const e of edges) {
    if (e.parentIdx.length !== 0) linked.add(e.idx);
    for (const i of e.parentIdx) linked.add(i);
  }
  const merged = new Map<number, Edge>();
  for (const e of edges.filter((e) => linked.has(e.idx))) {
    const seen = merged.get(e.idx);
    merged.set(
      e.idx,
      seen === undefined ? e : {
        ...e,
        parents: pySetList([...seen.parents, ...e.parents]),
        parentIdx: [...new Set([...seen.parentIdx, ...e.parentIdx])],
      },
    );
  }
  return [...merged.values()];
}
