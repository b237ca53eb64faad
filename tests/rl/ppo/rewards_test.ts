import assert from "node:assert/strict";
import {
  checkRewardLanguages,
  parseRewardSpec,
  REWARD_RECIPES,
  REWARD_TERMS,
  type RewardInput,
  scoreRollout,
} from "../../../src/rl/ppo/rewards.ts";
import type { Execution, ExecutionStatus, Task } from "../../../src/types.ts";

const TASK: Task = {
  id: "t/1",
  language: "python",
  prompt: "def add(a, b):\n",
  reference: "def add(a, b):\n    c = a + b\n    return c\n",
  check: { kind: "compile" },
  meta: {},
};

function execution(status: ExecutionStatus, extra: Partial<Execution> = {}): Execution {
  return {
    status,
    compiled: status !== "compile_error",
    casesPassed: 0,
    casesTotal: 0,
    exitCode: 0,
    wallMs: 1,
    cpuMs: 1,
    peakMemoryKb: 1,
    stdout: "",
    stderr: "",
    ...extra,
  };
}

function input(status: ExecutionStatus, hypothesis: string, extra: Partial<Execution> = {}) {
  return {
    task: TASK,
    code: TASK.prompt + hypothesis,
    execution: execution(status, extra),
    syntaxOk: status !== "compile_error",
    written: { reference: "    c = a + b\n    return c\n", hypothesis },
  } satisfies RewardInput;
}

Deno.test("REWARD_TERMS on known executions", async (t) => {
  await t.step("compile is +1 / -1", () => {
    assert.equal(REWARD_TERMS.compile.compute(input("passed", "x")), 1);
    assert.equal(REWARD_TERMS.compile.compute(input("compile_error", "x")), -1);
  });
  await t.step("coderl gives the CodeRL tiers", () => {
    const tiers = Object.fromEntries(
      (["passed", "failed", "runtime_error", "timeout", "compile_error"] as const).map((s) => [
        s,
        REWARD_TERMS.coderl.compute(input(s, "x")),
      ]),
    );
    assert.deepEqual(tiers, {
      passed: 1,
      failed: -0.3,
      runtime_error: -0.6,
      timeout: -0.6,
      compile_error: -1,
    });
  });
  await t.step("test_fraction is the share of cases passed", () => {
    assert.equal(
      REWARD_TERMS.test_fraction.compute(input("failed", "x", { casesPassed: 2, casesTotal: 4 })),
      0.5,
    );
    assert.equal(REWARD_TERMS.test_fraction.compute(input("compile_error", "x")), 0);
  });
  await t.step("syntax is +1 / -1", () => {
    assert.equal(REWARD_TERMS.syntax.compute(input("passed", "x")), 1);
    assert.equal(REWARD_TERMS.syntax.compute(input("compile_error", "x")), -1);
  });
  await t.step(
    "AST and data-flow match are 1 for the reference part with renamed variables",
    async () => {
      const same = input("passed", "    d = a + b\n    return d\n");
      assert.equal(await REWARD_TERMS.ast_match.compute(same), 1);
      assert.equal(await REWARD_TERMS.dataflow_match.compute(same), 1);
    },
  );
  await t.step(
    "AST and data-flow match are lower for a different body, and 0 for nothing",
    async () => {
      const other = input("passed", "    return 0\n");
      assert.ok((await REWARD_TERMS.ast_match.compute(other)) < 1);
      assert.equal(await REWARD_TERMS.dataflow_match.compute(other), 0);
      assert.equal(await REWARD_TERMS.ast_match.compute(input("passed", "  \n")), 0);
    },
  );
  await t.step(
    "data-flow match is 0, not 1, when the reference part has no data flow",
    async () => {
      const flat = {
        ...input("passed", "    pass\n"),
        written: { reference: "    pass\n", hypothesis: "    pass\n" },
      };
      assert.equal(await REWARD_TERMS.dataflow_match.compute(flat), 0);
      assert.equal(await REWARD_TERMS.ast_match.compute(flat), 1);
    },
  );
  await t.step("a sandbox error is never scored", () => {
    assert.throws(() => REWARD_TERMS.compile.compute(input("sandbox_error", "x")), {
      name: "InfrastructureError",
      message:
        'Cannot score task "t/1" as its execution is a sandbox error, an infrastructure failure and not the model\'s: retry the execution or drop the sample',
    });
  });
});

Deno.test("scoreRollout() sums the weighted terms and logs each", async () => {
  const same = input("passed", "    d = a + b\n    return d\n");
  const ppocoder = await scoreRollout(same, REWARD_RECIPES.ppocoder);
  assert.deepEqual(ppocoder, { score: 3, terms: { compile: 1, ast_match: 1, dataflow_match: 1 } });
  const weighted = await scoreRollout(input("compile_error", "x"), { compile: 2, syntax: 0.5 });
  assert.deepEqual(weighted, { score: -2.5, terms: { compile: -1, syntax: -1 } });
});

Deno.test("parseRewardSpec()", async (t) => {
  await t.step("reads a recipe, overrides, or pairs alone", () => {
    assert.deepEqual(parseRewardSpec("coderl"), { name: "coderl", weights: { coderl: 1 } });
    assert.deepEqual(parseRewardSpec("ppocoder,dataflow_match=0.5"), {
      name: "ppocoder",
      weights: { compile: 1, ast_match: 1, dataflow_match: 0.5 },
    });
    assert.deepEqual(parseRewardSpec("compile=1"), { name: "custom", weights: { compile: 1 } });
  });
  await t.step("names what is wrong", () => {
    assert.throws(() => parseRewardSpec("best"), {
      name: "RangeError",
      message:
        'Cannot use reward recipe "best" as it is unknown: use one of ppocoder, coderl, syntax, or term=weight pairs',
    });
    assert.throws(() => parseRewardSpec("coderl,speed=1"), {
      name: "RangeError",
      message:
        'Cannot parse reward weight "speed=1" as it must be term=number with a term among compile, ast_match, dataflow_match, coderl, test_fraction, syntax',
    });
  });
});

Deno.test("checkRewardLanguages() refuses structural terms where CodeBLEU has no rules", () => {
  checkRewardLanguages(REWARD_RECIPES.ppocoder, ["python", "java"]);
  checkRewardLanguages(REWARD_RECIPES.coderl, ["go"]);
  assert.throws(() => checkRewardLanguages(REWARD_RECIPES.ppocoder, ["go"]), {
    name: "RangeError",
    message:
      'Cannot use reward term "ast_match" on go tasks as it does not support that language: set its weight to 0 or choose another recipe',
  });
});
