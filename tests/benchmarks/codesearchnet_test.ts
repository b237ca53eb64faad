import assert from "node:assert/strict";
import {
  codesearchnet,
  completionSplit,
  MIN_TOKENS,
  parseCodeSearchNet,
} from "../../benchmarks/codesearchnet.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";
import { withExecutor } from "./_sandbox.ts";
import type { Sample } from "../../src/types.ts";

const FIXTURE = fixturePath("benchmarks/codesearchnet");
const REAL = "datasets/codesearchnet";
const realMissing = !hasShared(REAL);
if (realMissing) {
  console.log(`ignoring real-data CodeSearchNet tests: ${sharedPath(REAL)} is absent`);
}

Deno.test("codesearchnet.load() reads the real Java shard", { ignore: realMissing }, async (t) => {
  const loaded = await codesearchnet.load({ data: sharedPath(REAL) });
  await t.step(`keeps the 2,328 of 4,451 functions with at least ${MIN_TOKENS} tokens`, () => {
    assert.equal(loaded.tasks.length, 2328);
    assert.ok(loaded.tasks.every((x) => Number(x.meta.tokens) >= MIN_TOKENS));
  });
  await t.step("records the pinned sha256", () =>
    assert.deepEqual(loaded.sha256, {
      "java_train_15.jsonl.gz": "ad26a853a1bf764382c1637440b328ee2afe7a94eb5262d985bc379f9b444501",
    }));
  await t.step("every prompt is a prefix of its function, cut at a recorded offset", () => {
    for (const task of loaded.tasks) {
      assert.equal(task.prompt, task.reference.slice(0, Number(task.meta.splitOffset)));
      assert.ok(task.prompt.length < task.reference.length, task.id);
    }
  });
});

Deno.test("codesearchnet tasks", async (t) => {
  const loaded = await codesearchnet.load({ data: FIXTURE, allowUnverified: true });
  const [mean, count] = loaded.tasks;
  await t.step(
    "short functions are left out",
    () =>
      assert.deepEqual(loaded.tasks.map((x) => x.id), [
        "codesearchnet/java_train_15/1",
        "codesearchnet/java_train_15/3",
      ]),
  );
  await t.step("the prompt is the first half of the tokens, to the end of that line", () => {
    assert.equal(mean!.meta.tokens, 77);
    assert.equal(mean!.meta.splitToken, 38);
    assert.equal(
      mean!.prompt,
      'public static double mean(int[] values) {\n    if (values.length == 0) {\n        throw new IllegalArgumentException("no values");\n    }\n    long sum = 0;\n    for (int value : values) {\n',
    );
    assert.equal(codesearchnet.prompt(mean!), mean!.prompt);
    assert.equal(codesearchnet.completesPrompt, true);
  });
  await t.step("the split is deterministic", () => {
    const fn = parseCodeSearchNet(
      JSON.stringify({
        language: "java",
        code: "int f() {\n  return 1;\n}",
        code_tokens: ["int", "f", "(", ")", "{", "return", "1", ";", "}"],
      }),
      "x",
    )[0]!;
    assert.deepEqual(completionSplit(fn.code, fn.codeTokens), { offset: 10, tokens: 4 });
    assert.deepEqual(
      completionSplit(fn.code, fn.codeTokens),
      completionSplit(fn.code, fn.codeTokens),
    );
  });
  await t.step(
    "a one-line function is cut right after the middle token",
    () =>
      assert.deepEqual(
        completionSplit("int f() { return 1; }", [
          "int",
          "f",
          "(",
          ")",
          "{",
          "return",
          "1",
          ";",
          "}",
        ]),
        {
          offset: 7,
          tokens: 4,
        },
      ),
  );
  await t.step("prompt + completion is wrapped into a class with imports to compile", () => {
    const request = codesearchnet.request(count!, count!.reference);
    assert.equal(request.mode, "compile");
    assert.equal(request.language, "java");
    assert.ok(request.code.includes("import java.util.*;\n"));
    assert.ok(request.code.includes(`class Main {\n${count!.reference}\n}\n`));
  });
  await t.step(
    "the gold functions compile in the sandbox",
    () =>
      withExecutor(["java"], async (executor) => {
        for (const task of loaded.tasks) {
          const result = await executor.execute(codesearchnet.request(task, task.reference));
          assert.equal(result.status, "passed", `${task.id}: ${result.stderr}`);
        }
        const broken = await executor.execute(
          codesearchnet.request(mean!, `${mean!.prompt}    return`),
        );
        assert.equal(broken.status, "compile_error");
      }),
  );
  await t.step("exact match and BLEU compare the completions only", async () => {
    const sample = (code: string): Sample => ({ taskId: mean!.id, index: 0, raw: code, code });
    const gold = await codesearchnet.summarize!([{
      task: mean!,
      samples: [sample(mean!.reference)],
      results: [],
    }]);
    assert.equal(gold.metrics.exact_match, 1);
    assert.equal(gold.metrics.bleu, 1);
    assert.equal(gold.metrics.syntax_rate, 1);
    const other = await codesearchnet.summarize!([{
      task: mean!,
      samples: [sample(`${mean!.prompt}    }\n}`)],
      results: [],
    }]);
    assert.equal(other.metrics.exact_match, 0);
    assert.ok(other.metrics.bleu! < 0.2);
  });
});

Deno.test("parseCodeSearchNet() errors name the file and line", async (t) => {
  const path = `${FIXTURE}/malformed.jsonl`;
  const text = await Deno.readTextFile(path);
  await t.step(
    "an unsupported language",
    () =>
      assert.throws(() => parseCodeSearchNet(text, path), {
        name: "TypeError",
        message:
          `Cannot read CodeSearchNet function at "${path}" line 2 as field "language" must be one the executor runs (go, java, javascript, php, python): current value is "ruby"`,
      }),
  );
  await t.step(
    "a missing field",
    () =>
      assert.throws(() => parseCodeSearchNet('{"language": "java", "code": "x"}', "s.jsonl"), {
        name: "TypeError",
        message:
          'Cannot read CodeSearchNet function at "s.jsonl" line 1 as field "code_tokens" must be a list of strings: current value is undefined',
      }),
  );
  await t.step(
    "an unknown shard name",
    async () =>
      await assert.rejects(codesearchnet.load({ split: "java" }), {
        name: "RangeError",
        message:
          'Cannot load CodeSearchNet split "java" as it must be a shard name <language>_<train|valid|test>_<n>: e.g. java_train_15',
      }),
  );
});
