import assert from "node:assert/strict";
import { mbpp, parseMbppJsonl } from "../../benchmarks/mbpp.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";

const SMALL = fixturePath("mbpp/mbpp_small.jsonl");
const REAL = "datasets/mbpp";
const realMissing = !hasShared(REAL);
if (realMissing) console.log(`ignoring real-data MBPP tests: ${sharedPath(REAL)} is absent`);

Deno.test(
  "mbpp.load() reads the standard splits of the real mbpp.jsonl",
  { ignore: realMissing },
  async (t) => {
    const data = sharedPath(REAL);
    for (
      const [split, count, first, last] of [
        ["all", 974, 1, 974],
        ["test", 500, 11, 510],
        ["validation", 90, 511, 600],
        ["train", 374, 601, 974],
        ["prompt", 10, 1, 10],
        ["sanitized", 427, 2, 809],
      ] as const
    ) {
      await t.step(`${split}: ${count} tasks, ids ${first}-${last}`, async () => {
        const loaded = await mbpp.load({ data, split });
        assert.equal(loaded.tasks.length, count);
        assert.equal(loaded.tasks[0]!.id, `mbpp/${first}`);
        assert.equal(loaded.tasks.at(-1)!.id, `mbpp/${last}`);
      });
    }
    await t.step("records the verified sha256", async () => {
      const loaded = await mbpp.load({ data, limit: 1 });
      assert.deepEqual(loaded.sha256, {
        "mbpp.jsonl": "ccf64ceae9c5403bf50a044cb6d505bfd2a2963ee58338ba268fd65beab92a9f",
      });
    });
  },
);

Deno.test("mbpp tasks", async (t) => {
  const loaded = await mbpp.load({ data: SMALL, split: "all", allowUnverified: true });
  const task = loaded.tasks.find((x) => x.id === "mbpp/2")!;
  await t.step("carry the gold code, entry point and asserts as a test harness", () => {
    assert.equal(task.language, "python");
    assert.equal(task.entryPoint, "common_elements");
    assert.equal(task.check.kind, "program");
    assert.match(
      task.check.kind === "program" ? task.check.harness : "",
      /^assert common_elements\(/,
    );
  });
  await t.step("run as sample code with the asserts as its harness, in test mode", () => {
    const request = mbpp.request(task, "def common_elements(a, b): pass");
    assert.equal(request.mode, "test");
    assert.equal(request.code, "def common_elements(a, b): pass");
    assert.ok(request.harness?.startsWith("assert common_elements("));
  });
  await t.step("include test_setup_code before the asserts", async () => {
    const full = await mbpp.load({ data: sharedPath(REAL), split: "all" }).catch(() => null);
    if (full === null) return;
    const withSetup = full.tasks.find((x) => x.id === "mbpp/367")!;
    assert.ok(
      withSetup.check.kind === "program" && withSetup.check.harness.startsWith("root = Node(1)"),
    );
  });
});

Deno.test("mbpp.prompt()", async (t) => {
  const loaded = await mbpp.load({ data: SMALL, split: "all", allowUnverified: true });
  const task = loaded.tasks.find((x) => x.id === "mbpp/11")!;
  await t.step("is the task text and its asserts (Austin et al., 2021)", () =>
    assert.equal(
      mbpp.prompt(task),
      "You are an expert Python programmer, and here is your task: Write a python function to reverse a string. Your code should pass these tests:\n\n" +
        'assert reverse_string("hello") == "olleh"\nassert reverse_string("") == ""\nassert reverse_string("ab") == "ba"\n',
    ));
  await t.step("puts solved examples from tasks 2, 3, 4 first with shots=3", () => {
    const prompt = mbpp.prompt(task, { shots: 3 });
    const examples = prompt.split("[DONE]\n").slice(0, 3);
    assert.deepEqual(examples.map((e) => /task: (Write a [^.]*)/.exec(e)?.[1]), [
      "Write a function to find the common elements of two tuples, in ascending order",
      "Write a python function to check whether a number is even",
      "Write a function to find the n largest numbers of a list, largest first",
    ]);
    assert.ok(prompt.endsWith('assert reverse_string("ab") == "ba"\n[BEGIN]\n'));
    assert.equal(prompt.split("[BEGIN]").length - 1, 4);
  });
});

Deno.test("parseMbppJsonl() errors", async (t) => {
  await t.step(
    "names file and line of invalid JSON",
    () =>
      assert.throws(() => parseMbppJsonl('{"task_id": 1}\n{oops\n', "mbpp.jsonl"), {
        name: "SyntaxError",
        message: /^Cannot read "mbpp\.jsonl" as line 2 is not valid JSON: /,
      }),
  );
  await t.step("names the record and field of a wrong type", () =>
    assert.throws(
      () =>
        parseMbppJsonl(
          JSON.stringify({
            task_id: 1,
            text: "t",
            code: "c",
            test_list: "assert x",
            test_setup_code: "",
          }),
          "mbpp.jsonl",
        ),
      {
        name: "TypeError",
        message:
          'Cannot read MBPP problem at "mbpp.jsonl" record 1 as field "test_list" must be a list of strings: current value is "assert x"',
      },
    ));
  await t.step(
    "rejects an unknown split with the known ones",
    async () =>
      await assert.rejects(() => mbpp.load({ data: SMALL, split: "dev" }), {
        name: "RangeError",
        message:
          'Cannot load MBPP split "dev" as it is not a known split: use one of test, prompt, validation, train, all, sanitized, sanitized-test',
      }),
  );
});
