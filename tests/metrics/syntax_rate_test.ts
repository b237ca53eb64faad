import assert from "node:assert/strict";
import { type Language, LANGUAGES } from "../../sandbox/languages.ts";
import { checkSyntax, parsesCleanly, syntaxRate } from "../../src/metrics/mod.ts";
import { hasShared, sharedPath } from "../_shared.ts";

/** A valid snippet and a broken one for every language of the sandbox. */
const SNIPPETS = {
  python: ["def f(a):\n    return a + 1\n", "def f(a)\n    return a + 1\n"],
  java: ["class A { int f(int a) { return a + 1; } }", "class A { int f(int a) { return a + 1 } }"],
  cpp: [
    "#include <vector>\nint f(std::vector<int> v) { return v[0]; }",
    "int f(std::vector<int> v) { return v[0] }",
  ],
  c: ["int f(int a) { return a + 1; }", "int f(int a) { return a + ; }"],
  csharp: [
    "class A { int F(int a) { return a + 1; } }",
    "class A { int F(int a) { return a + 1; }",
  ],
  javascript: ["function f(a) { return a + 1; }", "function f(a) { return a + ; }"],
  typescript: [
    "function f(a: number): number { return a + 1; }",
    "function f(a: number): { return a + 1; }",
  ],
  php: ["<?php\nfunction f($a) { return $a + 1; }", "<?php\nfunction f($a) { return $a + 1 }"],
  go: [
    "package main\nfunc f(a int) int { return a + 1 }\n",
    "package main\nfunc f(a int) int { return a + }\n",
  ],
  rust: ["fn f(a: i32) -> i32 { a + 1 }", "fn f(a: i32) -> i32 { a + }"],
} as const satisfies Record<Language, readonly [string, string]>;

Deno.test("parsesCleanly() accepts valid code and rejects broken code in every language", async (t) => {
  for (const language of Object.keys(LANGUAGES) as Language[]) {
    const [good, bad] = SNIPPETS[language];
    await t.step(language, async () => {
      assert.equal(await parsesCleanly(good, language), true);
      assert.equal(await parsesCleanly(bad, language), false);
    });
  }
});

Deno.test("checkSyntax()", async (t) => {
  await t.step("reports a missing token with its position", async () => {
    assert.deepEqual(await checkSyntax("int f() { return 1 }", "c"), {
      ok: false,
      problems: [{ kind: "missing", nodeType: ";", row: 0, column: 18 }],
    });
  });
  await t.step("reports text the grammar cannot place", async () => {
    const { ok, problems } = await checkSyntax("x = = 1\n", "python");
    assert.equal(ok, false);
    assert.equal(problems[0]?.kind, "error");
  });
  await t.step("lists at most maxProblems problems", async () => {
    const { problems } = await checkSyntax("int f() { a b c; d e f; g h i; }", "java", {
      maxProblems: 1,
    });
    assert.equal(problems.length, 1);
  });
  await t.step("reports nothing for clean code", async () => {
    assert.deepEqual(await checkSyntax("x = 1\n", "python"), { ok: true, problems: [] });
  });
});

Deno.test("parsesCleanly() checks PHP with or without its opening tag", async () => {
  assert.equal(await parsesCleanly("function f($a) { return $a; }", "php"), true);
  assert.equal(await parsesCleanly("function f($a) { return $a }", "php"), false);
});

Deno.test("syntaxRate()", async (t) => {
  await t.step("is the fraction of samples that parse cleanly", async () => {
    assert.equal(await syntaxRate(["x = 1", "x = = 1", "y = 2", "def"], "python"), 0.5);
  });
  await t.step("rejects an empty list", async () => {
    await assert.rejects(() => syntaxRate([], "python"), {
      name: "RangeError",
      message: "Cannot compute a syntax rate as there are no samples: current count is 0",
    });
  });
});

Deno.test({
  name: "syntaxRate() passes the CodeXGLUE C# and Java test functions once wrapped in a class",
  ignore: !hasShared("datasets/codexglue-code-to-code-trans/test.java-cs.txt.cs"),
  async fn() {
    for (const [ext, language] of [["cs", "csharp"], ["java", "java"]] as const) {
      const path = sharedPath(`datasets/codexglue-code-to-code-trans/test.java-cs.txt.${ext}`);
      const methods = (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim() !== "");
      const rate = await syntaxRate(methods.map((m) => `class C {\n${m}\n}`), language);
      // One C# line of the test split is Java code (`throws IOException`); the rest parse.
      assert.ok(rate >= 0.998, `${language}: ${rate}`);
    }
  },
});
