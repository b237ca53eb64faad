/**
 * The golden values of `tests/fixtures/metrics/codebleu_golden.json` (made by
 * `make_codebleu_golden.py` from the `codebleu` package and CodeXGLUE's BLEU), with the real
 * pairs rebuilt from `../shared/datasets` when it is present, and the real C, C++, JavaScript and
 * PHP functions stored in the fixture itself.
 *
 * @module
 */

import type { CodeBleuLanguage, CodeBleuScore } from "../../src/metrics/mod.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";

/** Components compared with the reference, in the fixture's order. */
export const FIELDS = ["codebleu", "ngram", "weightedNgram", "syntax", "dataflow"] as const;

/** Components agree to rounding: the fixture keeps 12 decimals. */
export const TOLERANCE = 1e-9;

type Scores = readonly [number, number, number, number, number];

/** One golden case: a corpus (often of one pair) and its reference values. */
export interface GoldenCase {
  readonly name: string;
  readonly language: CodeBleuLanguage;
  readonly references: readonly (string | readonly string[])[];
  readonly hypotheses: readonly string[];
  readonly scores: Scores;
  readonly bleu: number;
}

interface Item {
  readonly scores: Scores;
  readonly bleu: number;
}
interface Handwritten {
  readonly pairs: readonly (Item & { reference: string; hypothesis: string })[];
  readonly corpus: Item;
  readonly multiReference: Item;
}
interface RealSet<K> {
  readonly language: CodeBleuLanguage;
  readonly items: readonly (Item & K)[];
  readonly corpus: Item;
}
type Edit =
  | { rename: [string, string] }
  | { dropLine: number }
  | { replace: [string, string] }
  | { append: string };
/** A function of an installed source tree: where it came from, its code and the edits to it. */
interface SourceFunction {
  readonly path: string;
  readonly line: number;
  readonly code: string;
  readonly edits: Edit[];
}
/** The languages whose real pairs are functions of source trees. */
export type SourceLanguage = "c" | "cpp" | "javascript" | "php";
interface Golden {
  readonly handwritten: Record<CodeBleuLanguage, Handwritten>;
  readonly codexglue: { java: RealSet<{ line: number }>; csharp: RealSet<{ line: number }> };
  readonly mbpp: RealSet<{ taskId: number; edits: Edit[] }>;
  readonly sources: Record<SourceLanguage, RealSet<SourceFunction> & { origin: string }>;
}

/** The parsed fixture. */
export const GOLDEN: Golden = JSON.parse(
  await Deno.readTextFile(fixturePath("metrics/codebleu_golden.json")),
);

/** Replay an edit script of the fixture (`apply_edits` in the generator). */
export function applyEdits(code: string, edits: readonly Edit[]): string {
  for (const edit of edits) {
    if ("rename" in edit) {
      const [from, to] = edit.rename;
      const word = new RegExp(`(?<![A-Za-z0-9_])${RegExp.escape(from)}(?![A-Za-z0-9_])`, "g");
      code = code.replace(word, () => to);
    } else if ("dropLine" in edit) {
      code = code.split("\n").toSpliced(edit.dropLine, 1).join("\n");
    } else if ("replace" in edit) {
      code = code.replace(edit.replace[0], () => edit.replace[1]);
    } else {
      code += edit.append;
    }
  }
  return code;
}

/** Per-pair cases and the corpus case of each handwritten set. */
export function handwrittenCases(): GoldenCase[] {
  return Object.entries(GOLDEN.handwritten).flatMap(([lang, set]) => {
    const language = lang as CodeBleuLanguage;
    const { pairs } = set;
    return [
      ...pairs.map((p, i) => ({
        name: `${language} #${i}`,
        language,
        references: [p.reference],
        hypotheses: [p.hypothesis],
        ...p,
      })),
      {
        name: `${language} corpus`,
        language,
        references: pairs.map((p) => p.reference),
        hypotheses: pairs.map((p) => p.hypothesis),
        ...set.corpus,
      },
      {
        name: `${language} two references each`,
        language,
        references: pairs.slice(0, 2).map((p) => [p.reference, p.hypothesis]),
        hypotheses: pairs.slice(0, 2).map((p) => p.hypothesis),
        ...set.multiReference,
      },
    ];
  });
}

/** Whether the datasets behind the real pairs are present. */
export const HAS_REAL_DATA =
  hasShared("datasets/codexglue-code-to-code-trans/test.java-cs.txt.java") &&
  hasShared("datasets/mbpp/mbpp.jsonl");

function realCases<K>(
  name: string,
  set: RealSet<K>,
  pair: (item: K) => [string, string],
): GoldenCase[] {
  const pairs = set.items.map(pair);
  const cases: GoldenCase[] = set.items.map((item, i) => ({
    name: `${name} #${i}`,
    language: set.language,
    references: [pairs[i]![0]],
    hypotheses: [pairs[i]![1]],
    scores: item.scores,
    bleu: item.bleu,
  }));
  return [...cases, {
    name: `${name} corpus`,
    language: set.language,
    references: pairs.map((p) => p[0]),
    hypotheses: pairs.map((p) => p[1]),
    ...set.corpus,
  }];
}

/**
 * The real pairs: CodeXGLUE Java/C# test functions scored against the other language's side (the
 * naive-copy baseline), and MBPP solutions against edited copies.
 */
export async function realDataCases(): Promise<GoldenCase[]> {
  const read = async (path: string) =>
    (await Deno.readTextFile(sharedPath(`datasets/${path}`))).split("\n");
  const java = await read("codexglue-code-to-code-trans/test.java-cs.txt.java");
  const cs = await read("codexglue-code-to-code-trans/test.java-cs.txt.cs");
  const mbpp = new Map(
    (await read("mbpp/mbpp.jsonl")).filter((l) => l !== "").map((l) => {
      const task = JSON.parse(l);
      return [task.task_id as number, task.code as string];
    }),
  );
  return [
    ...realCases("CodeXGLUE java", GOLDEN.codexglue.java, ({ line }) => [java[line]!, cs[line]!]),
    ...realCases(
      "CodeXGLUE csharp",
      GOLDEN.codexglue.csharp,
      ({ line }) => [cs[line]!, java[line]!],
    ),
    ...realCases("MBPP python", GOLDEN.mbpp, ({ taskId, edits }) => {
      const code = mbpp.get(taskId)!;
      return [code, applyEdits(code, edits)];
    }),
  ];
}

/**
 * The real pairs stored in the fixture: 200 functions each of C (Go's source tree), C++
 * (GoogleTest), JavaScript (hono) and PHP (the App Engine PHP SDK) against edited copies.
 */
export function sourceCases(): GoldenCase[] {
  return Object.values(GOLDEN.sources).flatMap((set) =>
    realCases(
      `${set.language} source`,
      set,
      ({ code, edits }) => [code, applyEdits(code, edits)],
    )
  );
}

/** The largest absolute difference of each component over `results`. */
export function maxDiffs(
  results: readonly { got: CodeBleuScore; want: Scores }[],
): Record<(typeof FIELDS)[number], number> {
  const out = { codebleu: 0, ngram: 0, weightedNgram: 0, syntax: 0, dataflow: 0 };
  for (const { got, want } of results) {
    FIELDS.forEach((f, i) => out[f] = Math.max(out[f], Math.abs(got[f] - want[i]!)));
  }
  return out;
}
