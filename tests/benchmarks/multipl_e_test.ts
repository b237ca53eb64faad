import assert from "node:assert/strict";
import {
  multiplE,
  MULTIPLE_LANGUAGES,
  MULTIPLE_SPLITS,
  type MultiplEKey,
  parseMultiplE,
  parseMultiplESplit,
} from "../../benchmarks/multipl_e.ts";
import { javatuplesSource, javatuplesUsed } from "../../benchmarks/_javatuples.ts";
import { assertTrainable } from "../../benchmarks/mod.ts";
import { extractGptSolution, gatherGoImports } from "./multipl_e_gpt_samples.ts";
import { hasShared, sharedPath } from "../_shared.ts";
import { judgeCode, withExecutor } from "./_sandbox.ts";
import type { Execution, Task } from "../../src/types.ts";

Deno.test("parseMultiplESplit()", async (t) => {
  await t.step("all languages of a source, or one", () => {
    assert.equal(parseMultiplESplit("humaneval").keys.length, 8);
    assert.deepEqual(parseMultiplESplit("mbpp-rs"), { source: "mbpp", keys: ["rs"] });
    assert.equal(MULTIPLE_SPLITS[0], "humaneval");
    assert.equal(MULTIPLE_SPLITS.length, 18);
  });
  await t.step(
    "names a MultiPL-E language the sandbox lacks",
    () =>
      assert.throws(() => parseMultiplESplit("humaneval-lua"), {
        name: "RangeError",
        message:
          'Cannot load MultiPL-E split "humaneval-lua" as the sandbox has no language for MultiPL-E\'s "lua": use one of cpp, cs, go, java, js, php, rs, ts',
      }),
  );
});

Deno.test("parseMultiplE() refuses a record in another language, naming it", () => {
  const record = {
    name: "HumanEval_0_x",
    language: "lua",
    prompt: "",
    tests: "",
    stop_tokens: ["\nend"],
  };
  assert.throws(() => parseMultiplE(JSON.stringify(record), "humaneval-cpp.jsonl", "cpp"), {
    name: "TypeError",
    message:
      'Cannot read MultiPL-E problem at "humaneval-cpp.jsonl" line 1 as its language "lua" is not this file\'s "cpp" and the sandbox has no language for it (it runs cpp, cs, go_test.go, java, js, php, rs, ts)',
  });
});

Deno.test("multipl-e may not be used as training data (its license)", () => {
  assert.equal(multiplE.trainable?.allowed, false);
  assert.throws(() => assertTrainable(multiplE), {
    name: "TypeError",
    message:
      /^Cannot train on benchmark "multipl-e" as its data may not be used as training data: MultiPL-E's license \(BSD 3-Clause with Machine Learning Restriction\), clause 4: /,
  });
});

Deno.test("javatuplesSource() builds the classes a program names", () => {
  assert.deepEqual(javatuplesUsed("Pair<Long, Long> p = Pair.with(1l, 2l); // a Triplet"), [
    "Pair",
    "Triplet",
  ]);
  const source = javatuplesSource(["Pair"]);
  assert.ok(source.includes("final class Pair<A, B> extends PpocoderTuple"));
  assert.ok(source.includes("public static <A, B> Pair<A, B> with(A value0, B value1)"));
  assert.equal(javatuplesSource([]), "");
});

Deno.test("extractGptSolution() takes code out of an answer as SandboxFusion does", () => {
  const answer =
    "Here:\n```cpp\n#include<vector>\nint f() {\n    return 1;\n}\nint main() {\n}\n```\n";
  assert.equal(
    extractGptSolution(answer, "cpp", ["\n}"]),
    "#include<vector>\nint f() {\n    return 1;",
  );
  const js = "```js\nfunction f() {\n  return 1;\n}\n```\nUse it:\n```js\nconsole.log(f());\n```";
  assert.equal(extractGptSolution(js, "js", []), "function f() {\n  return 1;\n}");
  const go = gatherGoImports(
    'import ("fmt")\npackage p_test\n\nimport (\n\t"testing"\n)\nfunc f() {}\n',
  );
  assert.ok(go.startsWith('package p_test\n\nimport "fmt"\nimport "testing"\n'), go);
  assert.ok(go.trimEnd().endsWith("func f() {}"));
});

/**
 * Completions of `HumanEval_0_has_close_elements` per language: right, a stub that returns a
 * constant, and one that does not compile. The prompt leaves the function open; where the
 * file's tests do not close it (Go, JavaScript, PHP, TypeScript), the completion does.
 */
const COMPLETIONS: Readonly<Record<MultiplEKey, { right: string; stub: string; broken: string }>> =
  {
    cpp: {
      right:
        "    for (size_t i = 0; i < numbers.size(); i++)\n        for (size_t j = i + 1; j < numbers.size(); j++)\n            if (std::abs(numbers[i] - numbers[j]) < threshold) return true;\n    return false;\n",
      stub: "    return false;\n",
      broken: "    return false\n",
    },
    cs: {
      right:
        "        for (int i = 0; i < numbers.Count; i++)\n            for (int j = i + 1; j < numbers.Count; j++)\n                if (Math.Abs(numbers[i] - numbers[j]) < threshold) return true;\n        return false;\n",
      stub: "        return false;\n",
      broken: "        return false\n",
    },
    go: {
      right:
        "\tfor i := range numbers {\n\t\tfor j := i + 1; j < len(numbers); j++ {\n\t\t\td := numbers[i] - numbers[j]\n\t\t\tif d < 0 {\n\t\t\t\td = -d\n\t\t\t}\n\t\t\tif d < threshold {\n\t\t\t\treturn true\n\t\t\t}\n\t\t}\n\t}\n\treturn false\n}\n",
      stub: "\treturn false\n}\n",
      broken: "\treturn false +\n}\n",
    },
    java: {
      right:
        "        for (int i = 0; i < numbers.size(); i++)\n            for (int j = i + 1; j < numbers.size(); j++)\n                if (Math.abs(numbers.get(i) - numbers.get(j)) < threshold) return true;\n        return false;\n",
      stub: "        return false;\n",
      broken: "        return false\n",
    },
    js: {
      right:
        "  for (let i = 0; i < numbers.length; i++)\n    for (let j = i + 1; j < numbers.length; j++)\n      if (Math.abs(numbers[i] - numbers[j]) < threshold) return true;\n  return false;\n}\n",
      stub: "  return false;\n}\n",
      broken: "  return false +;\n}\n",
    },
    php: {
      right:
        "    for ($i = 0; $i < count($numbers); $i++)\n        for ($j = $i + 1; $j < count($numbers); $j++)\n            if (abs($numbers[$i] - $numbers[$j]) < $threshold) return true;\n    return false;\n}\n",
      stub: "    return false;\n}\n",
      broken: "    return false +;\n}\n",
    },
    rs: {
      right:
        "    for i in 0..numbers.len() {\n        for j in i + 1..numbers.len() {\n            if (numbers[i] - numbers[j]).abs() < threshold {\n                return true;\n            }\n        }\n    }\n    false\n",
      stub: "    false\n",
      broken: "    false +\n",
    },
    ts: {
      right:
        "  for (let i = 0; i < numbers.length; i++)\n    for (let j = i + 1; j < numbers.length; j++)\n      if (Math.abs(numbers[i] - numbers[j]) < threshold) return true;\n  return false;\n}\n",
      stub: "  return false;\n}\n",
      broken: "  return false +;\n}\n",
    },
  };

/** A stub ends as the language's failures end: a failed assertion, or C++'s abort after one. */
const STUB_STATUS: Execution["status"] = "failed";

Deno.test({
  name: "MultiPL-E programs in all eight languages, judged in the sandbox (real data)",
  ignore: !hasShared("datasets/multipl-e"),
  async fn(t) {
    const loaded = await multiplE.load({
      data: sharedPath("datasets"),
      split: "humaneval",
    });
    const first = (key: MultiplEKey): Task =>
      loaded.tasks.find((task) =>
        task.id === `multipl-e/humaneval-${key}/HumanEval_0_has_close_elements`
      )!;
    const languages = Object.values(MULTIPLE_LANGUAGES).map((l) => l.language);
    await withExecutor(languages, async (executor) => {
      for (const key of Object.keys(COMPLETIONS) as MultiplEKey[]) {
        const task = first(key);
        const completions = COMPLETIONS[key];
        await t.step(`${key}: right passes, a stub fails, a compile error is one`, async () => {
          const judge = (completion: string) =>
            judgeCode(multiplE, executor, task, task.prompt + completion);
          const right = await judge(completions.right);
          assert.equal(right.status, "passed", `${key} right: ${right.stdout}${right.stderr}`);
          const stub = await judge(completions.stub);
          assert.equal(stub.status, STUB_STATUS, `${key} stub: ${stub.stdout}${stub.stderr}`);
          const broken = await judge(completions.broken);
          assert.equal(broken.status, "compile_error", `${key} broken: ${broken.stderr}`);
          assert.equal(broken.compiled, false);
        });
      }
      await t.step("php: code that ends after `?>` still runs its tests", async () => {
        const task = first("php");
        const judge = (completion: string) =>
          judgeCode(multiplE, executor, task, task.prompt + completion);
        assert.equal((await judge(`${COMPLETIONS.php.stub}?>\n`)).status, "failed");
        assert.equal((await judge(`${COMPLETIONS.php.stub}?>\n<p>html</p>\n`)).status, "failed");
        const right = await judge(`${COMPLETIONS.php.right}?>\n`);
        assert.equal(right.status, "passed", right.stdout + right.stderr);
      });
    });
  },
});
