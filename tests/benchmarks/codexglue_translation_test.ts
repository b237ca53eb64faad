import assert from "node:assert/strict";
import { codexglueTranslation, parallelLines } from "../../benchmarks/codexglue_translation.ts";
import {
  compileErrorCause,
  compileFailures,
  compileWrapping,
} from "../../benchmarks/_translation.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";
import { withExecutor } from "./_sandbox.ts";
import type { Execution, Sample } from "../../src/types.ts";

const FIXTURE = fixturePath("benchmarks/codexglue");
const REAL = "datasets/codexglue-code-to-code-trans";
const realMissing = !hasShared(REAL);
if (realMissing) console.log(`ignoring real-data CodeXGLUE tests: ${sharedPath(REAL)} is absent`);

Deno.test(
  "codexglueTranslation.load() reads the real files",
  { ignore: realMissing },
  async (t) => {
    for (
      const [split, count] of [["java-cs/test", 1000], ["cs-java/valid", 499], [
        "java-cs/train",
        10295,
      ]] as const
    ) {
      await t.step(`${split}: ${count} pairs`, async () => {
        const loaded = await codexglueTranslation.load({ data: sharedPath(REAL), split });
        assert.equal(loaded.tasks.length, count);
        assert.equal(loaded.tasks[0]!.language, split.startsWith("java") ? "csharp" : "java");
      });
    }
    await t.step("records both pinned sha256", async () => {
      const loaded = await codexglueTranslation.load({ data: sharedPath(REAL) });
      assert.deepEqual(loaded.sha256, {
        "test.java-cs.txt.java": "8e4c9db2467622c119366a89aa0ca798b5f72c11433e3ac3080df21e0e4e06f6",
        "test.java-cs.txt.cs": "7a863a53cba15473d44ef2f7c99096370a204d4c1a54cc3d81c59d4a305756af",
      });
      assert.equal(
        loaded.tasks[0]!.reference,
        "public override void Serialize(ILittleEndianOutput out1){out1.WriteShort(field_1_vcenter);}",
      );
    });
  },
);

Deno.test("codexglueTranslation tasks", async (t) => {
  const loaded = await codexglueTranslation.load({ data: FIXTURE, allowUnverified: true });
  const [size, constructor] = loaded.tasks;
  await t.step("ids, languages and prompt", () => {
    assert.deepEqual(loaded.tasks.map((x) => x.id), [
      "codexglue-translation/java-cs/test/1",
      "codexglue-translation/java-cs/test/2",
      "codexglue-translation/java-cs/test/3",
    ]);
    assert.equal(
      codexglueTranslation.prompt(size!),
      "Translate the following Java function to C#.\n\nJava:\npublic int size() {return count;}\n\nC#:\n",
    );
  });
  await t.step("methods go into a class, constructors into a class of their name", () => {
    assert.ok(
      size!.check.kind === "compile" && size!.check.prefix!.endsWith("public class Wrapper {\n"),
    );
    assert.ok(
      constructor!.check.kind === "compile" &&
        constructor!.check.prefix!.endsWith("public class Counter {\n"),
    );
    assert.ok(
      compileWrapping("java", "function", "public Counter(int start) {}").prefix.endsWith(
        "class Counter {\n",
      ),
    );
  });
  await t.step("the reverse direction targets Java", async () => {
    const back = await codexglueTranslation.load({
      data: FIXTURE,
      split: "cs-java/test",
      allowUnverified: true,
    });
    assert.equal(back.tasks[2]!.reference, 'public String toString() {return "c=" + count;}');
    assert.equal(back.tasks[2]!.language, "java");
  });
  await t.step(
    "compile results in the sandbox, sorted by cause",
    () =>
      withExecutor(["csharp"], async (executor) => {
        const results = await Promise.all(
          loaded.tasks.map((task) =>
            executor.execute(codexglueTranslation.request(task, task.reference))
          ),
        );
        // `count` is a field of the original class: the wrapped methods do not declare it.
        assert.deepEqual(results.map((r) => r.compiled), [false, false, false]);
        const failures = compileFailures(
          loaded.tasks.map((task, i) => ({ task, samples: [], results: [results[i]!] })),
        );
        assert.deepEqual(Object.keys(failures), [
          "compile_errors/CS0103 The name '…' does not exist in the current context",
          "compile_errors/CS1061 Type '…' does not contain a definition for '…' and no extension method '…' of",
        ]);
        assert.equal(
          failures["compile_errors/CS0103 The name '…' does not exist in the current context"],
          2,
        );
      }),
  );
  await t.step("BLEU, exact match, CodeBLEU and syntax rate of the references", async () => {
    const judged = loaded.tasks.map((task) => {
      const sample: Sample = {
        taskId: task.id,
        index: 0,
        raw: task.reference,
        code: task.reference,
      };
      return { task, samples: [sample], results: [] };
    });
    const summary = await codexglueTranslation.summarize!(judged);
    assert.equal(summary.metrics.bleu, 1);
    assert.equal(summary.metrics.exact_match, 1);
    assert.equal(summary.metrics.syntax_rate, 1);
    assert.ok(summary.metrics.codebleu! > 0.99);
    assert.deepEqual(Object.keys(summary.perTask!), loaded.tasks.map((x) => x.id));
  });
});

Deno.test("compileErrorCause() names the cause", () => {
  const failed = (stderr: string) => ({ status: "compile_error", stderr, stdout: "" }) as Execution;
  assert.equal(
    compileErrorCause(
      failed(
        "main.cs(5,14): error CS0246: The type or namespace name `Foo' could not be found. Are you missing an assembly reference?",
      ),
      "csharp",
    ),
    "CS0246 The type or namespace name '…' could not be found",
  );
  assert.equal(
    compileErrorCause(
      failed("Main.java:12: error: cannot find symbol\n  symbol: class Foo"),
      "java",
    ),
    "cannot find symbol",
  );
  assert.equal(
    compileErrorCause(failed("main.cpp:3:5: error: 'x' was not declared in this scope"), "cpp"),
    "'…' was not declared in this scope",
  );
  assert.equal(
    compileErrorCause(failed('  File "main.py", line 1\nSyntaxError: invalid syntax'), "python"),
    "SyntaxError",
  );
});

Deno.test("parallelLines() names the file and line of a blank line", () => {
  const path = `${FIXTURE}/blank_line.java`;
  assert.throws(() => parallelLines(Deno.readTextFileSync(path), path), {
    name: "SyntaxError",
    message:
      `Cannot read "${path}" line 2 as it must hold one method: current line is blank: fix or remove that line in both parallel files`,
  });
});
