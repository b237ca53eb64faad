import assert from "node:assert/strict";
import {
  apps,
  APPS_CASE_LIMITS,
  APPS_HEADER,
  appsPrompt,
  appsStdinProgram,
  appsStdoutMatches,
  appsSummary,
  pyFloat,
  pyRound3,
  pySplitlines,
} from "../../benchmarks/apps.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";
import { judgeCode, withExecutor } from "./_sandbox.ts";
import type { Execution, Task } from "../../src/types.ts";

const FIXTURES = fixturePath("benchmarks/apps");
const REAL = "datasets/apps";
const realMissing = !hasShared(REAL);
if (realMissing) console.log(`ignoring real-data APPS tests: ${sharedPath(REAL)} is absent`);

Deno.test("apps.load() reads the real pinned subsets", { ignore: realMissing }, async (t) => {
  const data = sharedPath(REAL);
  await t.step(
    "coderl-train: 5 original-layout problems, every file's sha256 recorded",
    async () => {
      const loaded = await apps.load({ data, split: "coderl-train" });
      assert.deepEqual(loaded.tasks.map((x) => x.id), [
        "apps/train/0001",
        "apps/train/0111",
        "apps/train/2287",
        "apps/train/2404",
        "apps/train/4184",
      ]);
      assert.deepEqual(loaded.tasks.map((x) => [x.meta.difficulty, x.meta.kind]), [
        ["interview", "stdio"],
        ["interview", "stdio"],
        ["competition", "stdio"],
        ["introductory", "call"],
        ["introductory", "call"],
      ]);
      assert.equal(Object.keys(loaded.sha256).length, 22);
      assert.equal(
        loaded.sha256["coderl-train-original-layout/2404/starter_code.py"],
        "37a03cc2bb62de5b525c56ca5864dd815be70941840f582cdc05094f684b5d35",
      );
    },
  );
  await t.step("mapcoder-150: 150 tasks with unique ids, 1842 test cases", async () => {
    const loaded = await apps.load({ data, split: "mapcoder-150" });
    assert.equal(loaded.tasks.length, 150);
    assert.equal(new Set(loaded.tasks.map((x) => x.id)).size, 150);
    const cases = loaded.tasks.reduce(
      (n, x) => n + (x.check.kind === "stdio" ? x.check.cases.length : 0),
      0,
    );
    assert.equal(cases, 1842);
    assert.deepEqual(
      Object.fromEntries(
        [...Map.groupBy(loaded.tasks, (x) => String(x.meta.difficulty))].map((
          [k, v],
        ) => [k, v.length]),
      ),
      { introductory: 50, interview: 52, competition: 48 },
    );
  });
  await t.step(
    "the gold solutions of the 5 original-layout problems pass in the sandbox",
    async () => {
      const loaded = await apps.load({ data, split: "coderl-train" });
      await withExecutor(["python"], async (executor) => {
        for (const task of loaded.tasks) {
          const result = await judgeCode(apps, executor, task, task.reference);
          assert.equal(result.status, "passed", `${task.id}: ${result.status}`);
          assert.equal(result.casesPassed, result.casesTotal);
        }
      });
    },
  );
  await t.step("the full test split is not found offline, with where to get it", async () => {
    await assert.rejects(apps.load({ data, split: "test" }), {
      name: "DatasetError",
      message:
        /^Cannot find APPS split "test" as it is in none of: .*APPS\.tar\.gz.*--split coderl-train or --split mapcoder-150$/,
    });
  });
});

Deno.test("apps.load() reads the three layouts", async (t) => {
  await t.step("original layout: a folder of problem folders", async () => {
    const loaded = await apps.load({ data: `${FIXTURES}/original`, split: "test" });
    assert.deepEqual(loaded.tasks.map((x) => x.id), ["apps/test/0000", "apps/test/0001"]);
    assert.deepEqual(Object.keys(loaded.sha256), ["test/"]);
    assert.match(loaded.sha256["test/"]!, /^[0-9a-f]{64}$/);
    const [sum, pairs] = loaded.tasks;
    assert.equal(sum!.meta.kind, "stdio");
    assert.deepEqual(sum!.check, {
      kind: "stdio",
      cases: [
        { stdin: "1 2\n", stdout: "3\n" },
        { stdin: "10 20\n", stdout: "30\n" },
        { stdin: "0 0\n", stdout: "0\n" },
      ],
    });
    assert.equal(pairs!.entryPoint, "countPairs");
    assert.equal(pairs!.meta.difficulty, "interview");
  });
  await t.step("codeparrot/apps JSONL export, leaving out problems without tests", async () => {
    const logs: string[] = [];
    const loaded = await apps.load({
      data: `${FIXTURES}/codeparrot_small.jsonl`,
      split: "train",
      log: (m) => logs.push(m),
    });
    assert.deepEqual(loaded.tasks.map((x) => x.id), ["apps/train/0007", "apps/train/0008"]);
    assert.deepEqual(logs, ["apps: left out 1 problems without test cases"]);
    assert.equal(loaded.tasks[1]!.entryPoint, "vowels");
  });
  await t.step("MapCoder JSONL: repeated problems get distinct ids", async () => {
    const loaded = await apps.load({ data: `${FIXTURES}/mapcoder_small.jsonl`, split: "test" });
    assert.deepEqual(loaded.tasks.map((x) => x.id), [
      "apps/test/4335",
      "apps/test/2098",
      "apps/test/4335-2",
    ]);
    assert.deepEqual(loaded.tasks.map((x) => x.meta.kind), ["call", "stdio", "call"]);
    assert.equal(loaded.tasks[0]!.reference, "");
  });
  await t.step(
    "rejects an unknown split",
    async () =>
      await assert.rejects(apps.load({ split: "dev" }), {
        name: "RangeError",
        message:
          'Cannot load APPS split "dev" as it is not a known split: use one of test, train, coderl-train, mapcoder-150',
      }),
  );
});

Deno.test("apps.load() errors name the file and line", async (t) => {
  await t.step("invalid JSON", async () => {
    const path = `${FIXTURES}/malformed.jsonl`;
    await assert.rejects(apps.load({ data: path, split: "test" }), {
      name: "SyntaxError",
      message: new RegExp(
        `^Cannot read APPS problem at "${path}" line 2 as it is not valid JSON: .*: fix or remove that line$`,
      ),
    });
  });
  await t.step("a field of the wrong type", async () => {
    const path = `${FIXTURES}/malformed_fields.jsonl`;
    await assert.rejects(apps.load({ data: path, split: "test" }), {
      name: "TypeError",
      message:
        `Cannot read APPS problem at "${path}" line 3 as field "question" must be a string: current value is 42`,
    });
  });
});

Deno.test("apps prompts and programs", async (t) => {
  const loaded = await apps.load({ data: `${FIXTURES}/original`, split: "test" });
  const [sum, pairs] = loaded.tasks;
  await t.step("prompt is the APPS paper's: question, starter code, format, ANSWER", () => {
    assert.equal(apps.prompt(sum!), `\nQUESTION:\n${sum!.prompt.split("QUESTION:\n")[1]}`);
    assert.ok(apps.prompt(sum!).endsWith("Print a + b.\n\nUse Standard Input format\nANSWER:\n"));
    assert.equal(
      appsPrompt({ question: "Q?\n", starterCode: "def f(x):\n\t", fnName: "f" }),
      "\nQUESTION:\nQ?\n\ndef f(x):\n\t\nUse Call-Based format\nANSWER:\n",
    );
  });
  await t.step("standard-input programs are wrapped into code() as the checker does", () => {
    assert.equal(
      appsStdinProgram("import sys\nn = int(input())\nif n < 0:\n    return\nprint(n)\nimport os"),
      `${APPS_HEADER}import sys\nstdin = sys.stdin\nstdout = sys.stdout\ndef code():\n` +
        "\tn = int(input())\n\tif n < 0:\n\t    return\n\tprint(n)\n\timport os\n" +
        "\ntry:\n    code()\nexcept SystemExit:\n    pass\n",
    );
  });
  await t.step("run once per case, with the 4-second per-case limits", () => {
    const request = apps.request(sum!, "print(3)");
    assert.equal(request.mode, "run");
    assert.deepEqual(request.stdin, ["1 2\n", "10 20\n", "0 0\n"]);
    assert.deepEqual(request.limits, APPS_CASE_LIMITS);
    const call = apps.request(pairs!, "class Solution: pass");
    // The arguments only: the expected value never reaches the program.
    assert.deepEqual(call.stdin![0], '{"args":[[3,1,3]]}\n');
    assert.ok(!call.stdin!.some((stdin) => stdin.includes("[[[1,1],[3,2]]]")));
    assert.match(call.code, /getattr\(Solution\(\), "countPairs"\) if True/);
  });
  await t.step("judge counts cases and compares stdout like the checker", () => {
    const result = apps.judge(sum!, runExecution(["3\n", "30 \n", "1\n"]));
    assert.equal(result.status, "failed");
    assert.equal(result.casesPassed, 2);
    assert.equal(result.casesTotal, 3);
    const crashed = apps.judge(sum!, runExecution(["3\n", "30\n", null]));
    assert.equal(crashed.status, "runtime_error");
    assert.equal(crashed.casesPassed, 2);
  });
  await t.step(
    "gold solutions pass and wrong ones fail in the sandbox, both kinds",
    () =>
      withExecutor(["python"], async (executor) => {
        for (const task of [sum!, pairs!]) {
          const gold = await judgeCode(apps, executor, task, task.reference);
          assert.equal(gold.status, "passed", `${task.id}: ${gold.stderr}`);
        }
        const wrong = await judgeCode(apps, executor, sum!, "print(1)");
        assert.deepEqual([wrong.status, wrong.casesPassed, wrong.casesTotal], ["failed", 0, 3]);
        // Prints of the function do not disturb the verdict; lists of tuples match as lists.
        const noisy = "class Solution:\n    def countPairs(self, nums):\n        print('debug')\n" +
          "        return [(v, c) for v, c in sorted(Counter(nums).items())]\n";
        assert.equal((await judgeCode(apps, executor, pairs!, noisy)).status, "passed");
        const missing = await judgeCode(apps, executor, pairs!, "x = 1\n");
        assert.equal(missing.status, "runtime_error");
      }),
  );
  await t.step("MapCoder call-based arguments are decoded line by line", async () => {
    const mapcoder = await apps.load({ data: `${FIXTURES}/mapcoder_small.jsonl`, split: "test" });
    await withExecutor(["python"], async (executor) => {
      const anagrams =
        "def anagrams(word, words):\n    return [w for w in words if sorted(w) == sorted(word)]\n";
      const result = await judgeCode(apps, executor, mapcoder.tasks[0]!, anagrams);
      assert.deepEqual([result.status, result.casesPassed], ["passed", 2]);
      const column =
        "n, m = map(int, input().split())\nprint(sum(int(input().split()[1]) for _ in range(n)))\n";
      assert.equal((await judgeCode(apps, executor, mapcoder.tasks[1]!, column)).status, "passed");
    });
  });
});

function runExecution(stdouts: readonly (string | null)[]): Execution {
  return {
    status: "passed",
    compiled: true,
    casesPassed: 0,
    casesTotal: stdouts.length,
    exitCode: 0,
    wallMs: 1,
    cpuMs: 1,
    peakMemoryKb: 1,
    stdout: "",
    stderr: "",
    cases: stdouts.map((stdout) =>
      stdout === null
        ? { status: "runtime_error", exitCode: 1, stdout: "", stderr: "Traceback", wallMs: 1 }
        : { status: "passed", exitCode: 0, stdout, stderr: "", wallMs: 1 }
    ),
  };
}

Deno.test("appsStdoutMatches() agrees with the reference checker's steps", async (t) => {
  const golden: { why: string; stdout: string; expected: string; match: boolean }[] = JSON.parse(
    await Deno.readTextFile(`${FIXTURES}/compare_golden.json`),
  );
  for (const g of golden) {
    await t.step(
      `${g.why}: ${g.match}`,
      () => assert.equal(appsStdoutMatches(g.stdout, g.expected), g.match),
    );
  }
});

Deno.test("Python string and number helpers", async (t) => {
  await t.step("pySplitlines() drops the last empty line and splits on \\r and \\v", () => {
    assert.deepEqual(pySplitlines("a\r\nb\rc\vd\n"), ["a", "b", "c", "d"]);
    assert.deepEqual(pySplitlines(""), []);
    assert.deepEqual(pySplitlines("\n"), [""]);
  });
  await t.step("pyFloat() accepts what float() accepts", () => {
    assert.equal(pyFloat(" 1_000.5 "), 1000.5);
    assert.equal(pyFloat("-inf"), -Infinity);
    assert.equal(pyFloat("0x10"), undefined);
    assert.equal(pyFloat("1e"), undefined);
  });
  await t.step("pyRound3() rounds ties to even", () => {
    assert.equal(pyRound3(0.0625), 0.062);
    assert.equal(pyRound3(0.1875), 0.188);
    assert.equal(pyRound3(2.0004), 2);
  });
});

Deno.test("appsSummary() computes the APPS paper's metrics per difficulty", () => {
  const task = (id: string, difficulty: string) =>
    ({ id, meta: { difficulty } }) as unknown as Task;
  const result = (casesPassed: number, casesTotal: number, status: Execution["status"]) =>
    ({ casesPassed, casesTotal, status }) as Execution;
  const summary = appsSummary([
    {
      task: task("a", "interview"),
      samples: [],
      results: [result(3, 4, "failed"), result(4, 4, "passed")],
    },
    {
      task: task("b", "interview"),
      samples: [],
      results: [result(2, 2, "passed"), result(0, 2, "failed")],
    },
    {
      task: task("c", "competition"),
      samples: [],
      results: [result(0, 0, "compile_error"), result(0, 5, "failed")],
    },
  ]);
  assert.equal(summary.metrics.test_case_average, (0.75 + 1 + 0) / 3);
  assert.equal(summary.metrics.strict_accuracy, 1 / 3);
  assert.equal(summary.metrics.strict_accuracy_best_of_n, 2 / 3);
  assert.equal(summary.metrics["test_case_average/interview"], 0.875);
  assert.equal(summary.metrics["test_case_average_best_of_n/interview"], 1);
  assert.equal(summary.metrics["strict_accuracy/competition"], 0);
  assert.deepEqual(summary.perTask, {
    a: { test_case_fraction: 0.75 },
    b: { test_case_fraction: 1 },
    c: { test_case_fraction: 0 },
  });
});
