/**
 * CodeBLEU against the reference implementation (`codebleu` 0.7.0 on PyPI): every component of
 * every golden case must agree to 1e-9 (the fixture keeps 12 decimals; the differences seen are
 * below 1e-12).
 */

import assert from "node:assert/strict";
import { codeBleu, type CodeBleuScore } from "../../src/metrics/mod.ts";
import {
  FIELDS,
  type GoldenCase,
  handwrittenCases,
  HAS_REAL_DATA,
  maxDiffs,
  realDataCases,
  sourceCases,
  TOLERANCE,
} from "./_golden.ts";

async function compare(cases: readonly GoldenCase[]) {
  const results: { name: string; got: CodeBleuScore; want: GoldenCase["scores"] }[] = [];
  for (const c of cases) {
    results.push({
      name: c.name,
      got: await codeBleu(c.references, c.hypotheses, c.language),
      want: c.scores,
    });
  }
  const off = results.flatMap(({ name, got, want }) =>
    FIELDS.filter((f, i) => !(Math.abs(got[f] - want[i]!) <= TOLERANCE)).map((f) =>
      `${name} ${f}: ${got[f]} != ${want[FIELDS.indexOf(f)]}`
    )
  );
  assert.deepEqual(off, []);
  return results;
}

Deno.test("codeBleu() equals the codebleu package on handwritten pairs of every language", async () => {
  await compare(handwrittenCases());
});

Deno.test({
  name: "codeBleu() equals the codebleu package on 200 real pairs each of Java, C# and Python",
  ignore: !HAS_REAL_DATA,
  async fn() {
    const cases = await realDataCases();
    const byLanguage = Object.groupBy(cases, (c) => c.language);
    for (const [language, group] of Object.entries(byLanguage)) {
      const diffs = maxDiffs(await compare(group!));
      console.log(`${language}: ${group!.length} cases, max abs diff ${JSON.stringify(diffs)}`);
    }
  },
});

Deno.test("codeBleu() equals the codebleu package on 200 real functions each of C, C++, JavaScript and PHP", async () => {
  const byLanguage = Object.groupBy(sourceCases(), (c) => c.language);
  for (const [language, group] of Object.entries(byLanguage)) {
    const diffs = maxDiffs(await compare(group!));
    console.log(`${language}: ${group!.length} cases, max abs diff ${JSON.stringify(diffs)}`);
  }
});

Deno.test("codeBleu()", async (t) => {
  const ref = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s";
  await t.step("gives 1 for identical code", async () => {
    const score = await codeBleu([ref], [ref], "python");
    assert.deepEqual(score, { codebleu: 1, ngram: 1, weightedNgram: 1, syntax: 1, dataflow: 1 });
  });
  await t.step("ignores comments and docstrings in syntax and data-flow match", async () => {
    const noisy = ref.replace("s = 0", "s = 0  # start").replace("):\n", '):\n    """Sum."""\n');
    const score = await codeBleu([ref], [noisy], "python");
    assert.equal(score.syntax, 1);
    assert.equal(score.dataflow, 1);
    assert.ok(score.ngram < 1);
  });
  await t.step("counts a data-flow score of 0 as 1 by default, and as 0 on request", async () => {
    const refs = ["int one() { return 1; }"], hyps = ["int one() { return 2; }"];
    const k4black = await codeBleu(refs, hyps, "java");
    const ppocoder = await codeBleu(refs, hyps, "java", { dataflowZeroAsOne: false });
    assert.equal(k4black.dataflow, 0);
    assert.equal(ppocoder.dataflow, 0);
    const sum = k4black.ngram + k4black.weightedNgram + k4black.syntax;
    assert.ok(Math.abs(k4black.codebleu - (sum + 1) / 4) < 1e-15);
    assert.ok(Math.abs(ppocoder.codebleu - sum / 4) < 1e-15);
  });
  await t.step("applies the weights", async () => {
    const hyp = ref.replace("s += x", "s = s + x");
    const s = await codeBleu([ref], [hyp], "python", { weights: [0.1, 0.2, 0.3, 0.4] });
    const expected = 0.1 * s.ngram + 0.2 * s.weightedNgram + 0.3 * s.syntax + 0.4 * s.dataflow;
    assert.ok(Math.abs(s.codebleu - expected) < 1e-15);
  });
  await t.step("takes any of several references", async () => {
    const other = "def total(xs):\n    return sum(xs)";
    const one = await codeBleu([ref], [other], "python");
    const two = await codeBleu([[ref, other]], [other], "python");
    assert.ok(two.syntax > one.syntax);
  });
  await t.step("rejects hypotheses without references", async () => {
    await assert.rejects(() => codeBleu(["a"], ["a", "b"], "python"), {
      name: "RangeError",
      message:
        "Cannot compute CodeBLEU as references and hypotheses differ in number: current values are 1 and 2",
    });
    await assert.rejects(() => codeBleu([], [], "python"), {
      name: "RangeError",
      message: "Cannot compute CodeBLEU as there are no pairs: current count is 0",
    });
  });
  await t.step("rejects a language without data-flow rules", async () => {
    // @ts-expect-error: "go" is not a CodeBLEU language.
    await assert.rejects(() => codeBleu(["x"], ["x"], "go"), {
      name: "TypeError",
      message:
        'Cannot compute CodeBLEU for "go" as it has no data-flow rules: use one of python, java, cpp, c, csharp, javascript, php',
    });
  });
  await t.step("rejects weights that are not 4 finite numbers", async () => {
    // @ts-expect-error: three weights.
    await assert.rejects(() => codeBleu(["x"], ["x"], "python", { weights: [0.5, 0.5, 0] }), {
      name: "RangeError",
      message:
        "Cannot compute CodeBLEU as weights must be 4 finite numbers: current value is [0.5, 0.5, 0]",
    });
  });
});
