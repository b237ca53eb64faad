import assert from "node:assert/strict";
import { join } from "node:path";
import {
  evalPlusBenchmark,
  type EvalPlusConfig,
  evalPlusStatus,
  failureMark,
  parseEvalPlus,
  prepareEvalPlus,
  programSeconds,
  rawJsonElements,
  rawJsonFields,
  testLimitSeconds,
} from "../../benchmarks/_evalplus.ts";
import { humanevalplus } from "../../benchmarks/humanevalplus.ts";
import { mbppplus } from "../../benchmarks/mbppplus.ts";
import { judgeSample } from "../../src/sample_path.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";
import { withExecutor } from "./_sandbox.ts";
import type { Benchmark, LoadedTasks } from "../../benchmarks/benchmark.ts";
import type { Executor } from "../../sandbox/types.ts";
import type { Execution, Task } from "../../src/types.ts";

const FIXTURES = fixturePath("benchmarks/evalplus");

/** Five made-up problems in the published format (tiny.jsonl), judged by EvalPlus's rules. */
const TINY: EvalPlusConfig = {
  name: "tinyplus",
  evalplus: "humaneval",
  description: "made-up EvalPlus problems",
  dataset: {
    name: "tinyplus",
    version: "fixture",
    files: [{ name: "tiny.jsonl", sha256: "unpinned", url: "https://example.invalid/tiny.jsonl" }],
  },
  promptTemplate: "tiny",
  oracles: {},
  inputKinds: {},
};

Deno.test("rawJsonFields() and rawJsonElements()", async (t) => {
  await t.step("keep values as written: Infinity, big integers, brackets in strings", () => {
    const fields = rawJsonFields('{"a": "x]}\\"", "b": [[1e400, Infinity], {"c": [1]}], "d": 0}');
    assert.deepEqual([...fields], [["a", '"x]}\\""'], ["b", '[[1e400, Infinity], {"c": [1]}]'], [
      "d",
      "0",
    ]]);
    assert.deepEqual(rawJsonElements("[[1, 2], [-Infinity, 99999999999999999999], []]"), [
      "[1, 2]",
      "[-Infinity, 99999999999999999999]",
      "[]",
    ]);
  });
  await t.step(
    "refuse what is not an object",
    () =>
      assert.throws(() => rawJsonFields("[1]", "x"), {
        name: "TypeError",
        message: "Cannot read x as it must be a JSON object",
      }),
  );
});

Deno.test("parseEvalPlus()", async (t) => {
  const text = await Deno.readTextFile(join(FIXTURES, "tiny.jsonl"));
  const problems = parseEvalPlus(text, "tiny.jsonl");
  await t.step("reads every problem, inputs as the file writes them", () => {
    assert.equal(problems.length, 5);
    assert.equal(problems[0]!.plusInput.includes("Infinity"), true);
    assert.equal(problems[0]!.plusInput.includes("1000000000000000000000000000000"), true);
    assert.equal(problems[4]!.plusInput, "{}");
  });
  await t.step(
    "names the file, line and field of a bad record",
    () =>
      assert.throws(() => parseEvalPlus('{"task_id": 1}\n', "bad.jsonl"), {
        name: "TypeError",
        message:
          'Cannot read EvalPlus problem at "bad.jsonl" line 1 as field "task_id" must be a string: current value is 1',
      }),
  );
});

Deno.test("EvalPlus time limits", () => {
  assert.equal(testLimitSeconds(0.01), 4);
  assert.equal(testLimitSeconds(2), 8);
  assert.equal(programSeconds([4, 4, 8]), 18);
  assert.equal(programSeconds(Array(100).fill(4)), 62);
});

Deno.test("failureMark() takes the harness's last mark", () => {
  const stderr =
    "@@ppocoder-evalplus@@ plus wrong 9\nnoise\n@@ppocoder-evalplus@@ base timeout 3\n" +
    "Traceback ...\nAssertionError: EvalPlus base test 3 failed (timeout)\n";
  assert.deepEqual(failureMark(stderr), { suite: "base", kind: "timeout", index: 3 });
  assert.equal(failureMark("@@ppocoder-evalplus@@ base nonsense 3"), undefined);
});

Deno.test("evalPlusStatus(): a per-test timeout is a fail, a killed program a timeout", () => {
  const suite = (status: Execution["status"], stderr = "") => ({
    status,
    exitCode: 1,
    stdout: "",
    stderr,
    wallMs: 1,
  });
  assert.equal(evalPlusStatus(suite("passed")), "pass");
  assert.equal(evalPlusStatus(suite("timeout", "@@ppocoder-evalplus@@ plus timeout 2\n")), "fail");
  assert.equal(evalPlusStatus(suite("timeout")), "timeout");
  assert.equal(evalPlusStatus(suite("runtime_error")), "fail");
});

async function tinyTasks(executor: Executor, cacheDir: string): Promise<Task[]> {
  const benchmark = evalPlusBenchmark(TINY);
  const loaded = await benchmark.load({ data: FIXTURES, allowUnverified: true });
  return (await prepareEvalPlus(TINY, loaded, executor, { cacheDir })).tasks as Task[];
}

Deno.test("EvalPlus check in the sandbox (made-up problems)", async (t) => {
  const benchmark = evalPlusBenchmark(TINY);
  const cacheDir = await Deno.makeTempDir({ prefix: "ppocoder-evalplus-test-" });
  try {
    await withExecutor(["python"], async (executor) => {
      const tasks = await tinyTasks(executor, cacheDir);
      const byId = (id: string) => tasks.find((task) => task.id === `tinyplus/Tiny/${id}`)!;
      const judge = (task: Task, body: string) =>
        judgeSample(benchmark, executor, task, task.prompt + body);
      const suites = (e: Execution) => e.cases!.map((c) => evalPlusStatus(c)).join("/");
      await t.step("the canonical solutions pass base and plus", async () => {
        for (const task of tasks) {
          const result = await judgeSample(benchmark, executor, task, task.reference);
          assert.equal(result.status, "passed", `${task.id}: ${result.stderr}`);
          assert.equal(suites(result), "pass/pass");
        }
      });
      await t.step("a program right on the base tests only fails plus", async () => {
        const result = await judge(byId("0"), "    return a + b if abs(a) < 100 else 0\n");
        assert.equal(result.status, "failed");
        assert.equal(suites(result), "pass/fail");
        assert.deepEqual(failureMark(result.cases![1]!.stderr), {
          suite: "plus",
          kind: "wrong",
          index: 0,
        });
      });
      await t.step("the guard, swallowed output and main blocks are EvalPlus's", async () => {
        const guarded = await judge(byId("0"), "    open('f', 'w')\n    return a + b\n");
        assert.equal(suites(guarded), "fail/fail");
        assert.equal(guarded.status, "runtime_error");
        const chatty = await judge(
          byId("0"),
          "    print('x' * 100000)\n    return a + b\n\nif __name__ == '__main__':\n    input()\n",
        );
        assert.equal(chatty.status, "passed", chatty.stderr);
      });
      await t.step("floats within 1e-6 pass, farther ones fail", async () => {
        assert.equal((await judge(byId("3"), "    return x * 0.3333333333\n")).status, "passed");
        assert.equal((await judge(byId("3"), "    return x * 0.333\n")).status, "failed");
      });
      await t.step("outputs that travel as digests compare as == does", async () => {
        const words = await judge(byId("1"), "    return ' '.join('w' for _ in range(n))\n");
        assert.equal(words.status, "passed", words.stderr);
        const floats = await judge(
          byId("2"),
          "    out = [float(n)]\n    while n % 2 == 0 and n:\n        n //= 2\n        out.append(n / 1)\n    return out * 4000\n",
        );
        assert.equal(floats.status, "passed", floats.stderr);
        const wrong = await judge(
          byId("1"),
          "    return ' '.join(['w'] * n) + ('' if n < 100 else ' ')\n",
        );
        assert.equal(suites(wrong), "pass/fail");
        const tuple = await judge(
          byId("2"),
          "    out = [n]\n    while n % 2 == 0 and n:\n        n //= 2\n        out.append(n)\n    return tuple(out * 4000)\n",
        );
        assert.equal(suites(tuple), "fail/fail");
      });
      await t.step("statuses: per-test timeout, exception, syntax error", async () => {
        const slow = await judge(byId("0"), "    while True:\n        pass\n");
        assert.equal(slow.status, "timeout");
        assert.equal(suites(slow), "fail/fail");
        const raising = await judge(byId("0"), "    raise ValueError('no')\n");
        assert.equal(raising.status, "runtime_error");
        const broken = await judge(byId("0"), "    return (\n");
        assert.equal(broken.status, "compile_error");
        assert.equal(broken.compiled, false);
      });
      await t.step("a printed mark cannot turn a failure into a pass", async () => {
        const forged = await judge(
          byId("0"),
          "    import sys, os\n    os.write(2, b'@@ppocoder-evalplus@@ base wrong 0\\n')\n    return 0\n",
        );
        assert.notEqual(forged.status, "passed");
      });
      await t.step("one program with both suites gives the same verdict", async () => {
        const task = byId("0");
        const code = task.prompt + "    return a + b if abs(a) < 100 else 0\n";
        const one = benchmark.judge(task, await executor.execute(benchmark.request(task, code)));
        assert.equal(one.status, "failed");
      });
      await t.step("eval_results.json has EvalPlus's layout", async () => {
        const task = byId("0");
        const samples = [task.reference, task.prompt + "    return a + b if abs(a) < 100 else 0\n"];
        const results = await Promise.all(
          samples.map((code) => judgeSample(benchmark, executor, task, code)),
        );
        const summary = await benchmark.summarize!([{
          task,
          samples: samples.map((code, index) => ({ taskId: task.id, index, raw: code, code })),
          results,
        }]);
        assert.equal(summary.metrics["base_pass@1"], 1);
        assert.equal(summary.metrics["plus_pass@1"], 0.5);
        const json = summary.files!["eval_results.json"]!;
        const parsed = JSON.parse(json.replace("1000000000000000000000000000000", "0"));
        assert.equal(parsed.hash.length, 32);
        assert.deepEqual(Object.keys(parsed.eval), ["Tiny/0"]);
        const [good, bad] = parsed.eval["Tiny/0"];
        assert.deepEqual(
          [good.base_status, good.plus_status, bad.base_status, bad.plus_status],
          ["pass", "pass", "pass", "fail"],
        );
        assert.deepEqual(bad.plus_fail_tests, [[0, 1]]);
        assert.ok(json.includes('"plus_fail_tests":[[1000000000000000000000000000000, 1]]'));
        assert.deepEqual(parsed.pass_at_k, { base: { "pass@1": 1 }, plus: { "pass@1": 0.5 } });
      });
      await t.step("the equality form: equal exactly when == holds", async () => {
        const pairs = [
          ["[1, 2]", "[1.0, 2.0]", true],
          ["[True]", "[1]", true],
          ["(1,)", "[1]", false],
          ["{1, 2}", "frozenset([2, 1])", true],
          ["{'a': 1}", "{'a': 1.0}", true],
          ["[('a', 1)] * 5000", "[('a', 1.0)] * 5000", true],
          ["[(1, 2)] * 5000", "tuple([(1, 2)] * 5000)", false],
          ["-0.0", "0", true],
          ["1e16", "10 ** 16", true],
          ["0.5", "'0.5'", false],
          ["None", "'None'", false],
          ["b'a'", "'a'", false],
        ];
        const checks = pairs.map(([a, b, equal]) =>
          `assert (_ppocoder_digest(${a}) == _ppocoder_digest(${b})) is ${
            equal ? "True" : "False"
          } == ((${a}) == (${b})), ${JSON.stringify(`${a} vs ${b}`)}`
        );
        const driver = await Deno.readTextFile(
          new URL("../../benchmarks/_evalplus.py", import.meta.url),
        );
        const result = await executor.execute({
          language: "python",
          mode: "test",
          code: `${driver}\n${checks.join("\n")}\n`,
        });
        assert.equal(result.status, "passed", result.stderr);
      });
    });
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

/** One line of `<dataset>_samples.jsonl`: a sample and the verdict `evalplus` 0.3.1 gave it. */
interface GoldenSample {
  readonly task_id: string;
  readonly solution: string;
  readonly kind: string;
  readonly evalplus: { readonly base_status: string; readonly plus_status: string };
}

/**
 * Known differences from evalplus 0.3.1, each a fix ppocoder follows: 0.3.1's find_zero oracle
 * never marks a test done, so it fails every HumanEval/32 sample (evalplus@26d6d00 fixed it).
 */
const KNOWN_DIFFERENCES = new Set(["HumanEval/32"]);

async function compareWithEvalPlus(
  t: Deno.TestContext,
  benchmark: Benchmark,
  file: string,
): Promise<void> {
  const text = await Deno.readTextFile(join(FIXTURES, file));
  const golden: GoldenSample[] = text.trim().split("\n").map((line) => JSON.parse(line));
  await withExecutor(["python"], async (executor) => {
    const loaded: LoadedTasks = await benchmark.load({ data: sharedPath("datasets") });
    const wanted = new Set(golden.map((g) => `${benchmark.name}/${g.task_id}`));
    const subset = { ...loaded, tasks: loaded.tasks.filter((task) => wanted.has(task.id)) };
    const prepared = await benchmark.prepare!(subset, executor);
    const tasks = new Map(prepared.tasks.map((task) => [task.id, task]));
    const verdicts = await Promise.all(golden.map(async (sample) => {
      const task = tasks.get(`${benchmark.name}/${sample.task_id}`)!;
      const result = await judgeSample(benchmark, executor, task, sample.solution);
      return result.cases!.map((c) => evalPlusStatus(c)).join("/");
    }));
    await t.step(`${golden.length} samples: the same base and plus verdicts`, () => {
      const differing = golden.flatMap((sample, i) => {
        const theirs = `${sample.evalplus.base_status}/${sample.evalplus.plus_status}`;
        if (verdicts[i] === theirs || KNOWN_DIFFERENCES.has(sample.task_id)) return [];
        return [
          `${sample.task_id} (${sample.kind}, line ${i + 1}): ours ${
            verdicts[i]
          }, evalplus ${theirs}`,
        ];
      });
      assert.deepEqual(differing, []);
      const passBaseFailPlus = verdicts.filter((v) => v === "pass/fail").length;
      assert.ok(passBaseFailPlus >= 20, `only ${passBaseFailPlus} samples pass base and fail plus`);
    });
  });
}

Deno.test({
  name: "HumanEval+ and MBPP+ verdicts equal the evalplus package's (real data)",
  ignore: !hasShared("datasets/humanevalplus") || !hasShared("datasets/mbppplus"),
  async fn(t) {
    await compareWithEvalPlus(t, humanevalplus, "humaneval_samples.jsonl");
    await compareWithEvalPlus(t, mbppplus, "mbpp_samples.jsonl");
  },
});
