import assert from "node:assert/strict";
import { getBenchmark } from "../benchmarks/mod.ts";
import { sampleCode, sampleParses, samplePrompt, writtenPart } from "../src/sample_path.ts";
import type { Task } from "../src/types.ts";

const mbpp = getBenchmark("mbpp");
const csn = getBenchmark("codesearchnet");

const MBPP_TASK: Task = {
  id: "mbpp/9001",
  language: "python",
  prompt: "Write a function to add two numbers.",
  reference: "def add(a, b):\n    return a + b",
  entryPoint: "add",
  check: { kind: "program", harness: "assert add(1, 2) == 3" },
  meta: { split: "test" },
};

const CSN_TASK: Task = {
  id: "codesearchnet/java_train_15/1",
  language: "java",
  prompt: "public int add(int a, int b) {\n",
  reference: "public int add(int a, int b) {\n    return a + b;\n}",
  check: { kind: "compile", prefix: "class A {\n", suffix: "\n}\n" },
  meta: {},
};

Deno.test("samplePrompt() is the benchmark's prompt with its shots", () => {
  assert.equal(samplePrompt(mbpp, MBPP_TASK), mbpp.prompt(MBPP_TASK, { shots: 0 }));
  assert.equal(samplePrompt(mbpp, MBPP_TASK, 0), mbpp.prompt(MBPP_TASK));
});

Deno.test("sampleCode()", async (t) => {
  await t.step("keeps a whole program verbatim", () => {
    const raw = "print('x')  [DONE] trailing";
    const code = sampleCode(mbpp, MBPP_TASK, raw, {
      style: "completion",
      stop: [],
      isProgram: true,
    });
    assert.equal(code, raw);
  });
  await t.step("cuts at a stop sequence and keeps the entry point's definitions", () => {
    const raw = "def add(a, b):\n    return a + b\n[DONE]\nprint(add(1, 2))";
    const code = sampleCode(mbpp, MBPP_TASK, raw, { style: "completion", stop: ["[DONE]"] });
    assert.equal(code, "def add(a, b):\n    return a + b\n");
  });
  await t.step("joins a completion to the prompt it continues", () => {
    const raw = "    return a + b;\n}\nclass Other {}";
    const code = sampleCode(csn, CSN_TASK, raw, { style: "completion", stop: [] });
    assert.equal(code, "public int add(int a, int b) {\n    return a + b;\n}\n");
  });
});

Deno.test("sampleParses() checks the program the sandbox runs, wrapping included", async () => {
  assert.equal(await sampleParses(csn, CSN_TASK, CSN_TASK.reference), true);
  assert.equal(await sampleParses(csn, CSN_TASK, "public int add(int a, int b) {\n"), false);
});

Deno.test("writtenPart()", async (t) => {
  await t.step("drops the shared prompt on a completion benchmark", () => {
    const code = "public int add(int a, int b) {\n    return b + a;\n}\n";
    assert.deepEqual(writtenPart(csn, CSN_TASK, code), {
      reference: "    return a + b;\n}",
      hypothesis: "    return b + a;\n}\n",
    });
  });
  await t.step("keeps the whole code and reference elsewhere", () => {
    assert.deepEqual(writtenPart(mbpp, MBPP_TASK, "x = 1\n"), {
      reference: MBPP_TASK.reference,
      hypothesis: "x = 1\n",
    });
  });
});
