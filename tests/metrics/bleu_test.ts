import assert from "node:assert/strict";
import { bleu, exactMatch, sentenceBleu } from "../../src/metrics/mod.ts";
import {
  type GoldenCase,
  handwrittenCases,
  HAS_REAL_DATA,
  realDataCases,
  sourceCases,
  TOLERANCE,
} from "./_golden.ts";

/** Checks every case and returns the largest absolute difference. */
function assertGolden(cases: readonly GoldenCase[]): number {
  const results = cases.map((c) => ({ c, got: bleu(c.references, c.hypotheses) }));
  const off = results
    .filter(({ c, got }) => !(Math.abs(got - c.bleu) <= TOLERANCE))
    .map(({ c, got }) => `${c.name}: ${got} != ${c.bleu}`);
  assert.deepEqual(off, []);
  return Math.max(...results.map(({ c, got }) => Math.abs(got - c.bleu)));
}

Deno.test("bleu() equals CodeXGLUE's smoothed BLEU on the handwritten golden cases", () => {
  assertGolden(handwrittenCases());
});

Deno.test({
  name: "bleu() equals CodeXGLUE's smoothed BLEU on 200 real pairs each of Java, C# and Python",
  ignore: !HAS_REAL_DATA,
  async fn() {
    assertGolden(await realDataCases());
  },
});

Deno.test("bleu() equals CodeXGLUE's smoothed BLEU on 200 real functions each of C, C++, JavaScript and PHP", () => {
  const byLanguage = Object.groupBy(sourceCases(), (c) => c.language);
  for (const [language, group] of Object.entries(byLanguage)) {
    console.log(`${language}: ${group!.length} cases, BLEU max abs diff ${assertGolden(group!)}`);
  }
});

Deno.test("bleu()", async (t) => {
  await t.step("is 1 for identical token sequences, whatever the layout", () => {
    assert.equal(bleu(["int x = a + b ;"], ["int  x =\n a + b ;"]), 1);
  });
  // One token in 4: precisions (1+1)/(4+1), 1/4, 1/3, 1/2; no brevity penalty.
  await t.step("smooths every order with add-one", () => {
    const expected = Math.exp(
      (Math.log(2 / 5) + Math.log(1 / 4) + Math.log(1 / 3) + Math.log(1 / 2)) / 4,
    );
    assert.ok(Math.abs(bleu(["a b c d"], ["a x y z"]) - expected) < 1e-15);
  });
  await t.step("is 0 without smoothing when an order has no match", () => {
    assert.equal(bleu(["a b c d"], ["a x y z"], { smooth: false }), 0);
  });
  // Hypothesis 2 tokens, reference 4: brevity penalty exp(1 - 4/2).
  await t.step("applies the brevity penalty", () => {
    const expected = Math.exp((Math.log(3 / 3) + Math.log(2 / 2) + Math.log(1) + Math.log(1)) / 4) *
      Math.exp(1 - 2);
    assert.ok(Math.abs(bleu(["a b c d"], ["a b"]) - expected) < 1e-15);
  });
  await t.step("is 0 for an empty hypothesis", () => assert.equal(bleu(["a b"], [""]), 0));
  await t.step("sentenceBleu() is bleu() of one pair", () => {
    assert.equal(sentenceBleu("a b c d e", "a b c x e"), bleu(["a b c d e"], ["a b c x e"]));
  });
  await t.step("rejects hypotheses without references", () => {
    assert.throws(() => bleu(["a"], []), {
      name: "RangeError",
      message:
        "Cannot compute BLEU as references and hypotheses differ in number: current values are 1 and 0",
    });
  });
});

Deno.test("exactMatch()", async (t) => {
  await t.step("compares whitespace-separated tokens", () => {
    assert.equal(exactMatch(["int x = 1 ;", "a b"], ["int  x = 1 ;\n", "a c"]), 0.5);
  });
  await t.step("accepts any of several references", () => {
    assert.equal(exactMatch([["x = 1", "x = 2"]], ["x = 2"]), 1);
  });
  await t.step("rejects an empty corpus", () => {
    assert.throws(() => exactMatch([], []), {
      name: "RangeError",
      message: "Cannot compute exact match as there are no pairs: current count is 0",
    });
  });
});
