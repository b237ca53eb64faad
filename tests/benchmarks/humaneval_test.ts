import assert from "node:assert/strict";
import { humaneval, parseHumanEval } from "../../benchmarks/humaneval.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";
import { judgeCode, withExecutor } from "./_sandbox.ts";

const FIXTURE = fixturePath("benchmarks/humaneval");
const REAL = "datasets/humaneval";
const realMissing = !hasShared(REAL);
if (realMissing) console.log(`ignoring real-data HumanEval tests: ${sharedPath(REAL)} is absent`);

Deno.test(
  "humaneval.load() reads the real HumanEval.jsonl.gz",
  { ignore: realMissing },
  async (t) => {
    const loaded = await humaneval.load({ data: sharedPath(REAL) });
    await t.step("164 tasks, humaneval/0 to humaneval/163", () => {
      assert.equal(loaded.tasks.length, 164);
      assert.equal(loaded.tasks[0]!.id, "humaneval/0");
      assert.equal(loaded.tasks.at(-1)!.id, "humaneval/163");
    });
    await t.step("records the pinned sha256", () =>
      assert.deepEqual(loaded.sha256, {
        "HumanEval.jsonl.gz": "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
      }));
    await t.step(
      "every gold program passes in the sandbox (164/164)",
      () =>
        withExecutor(["python"], async (executor) => {
          const results = await Promise.all(
            loaded.tasks.map((task) => judgeCode(humaneval, executor, task, task.reference)),
          );
          const failed = loaded.tasks.filter((_, i) => results[i]!.status !== "passed").map((t) =>
            t.id
          );
          assert.deepEqual(failed, []);
        }),
    );
  },
);

Deno.test("humaneval tasks", async (t) => {
  const loaded = await humaneval.load({ data: FIXTURE, allowUnverified: true });
  const [add, evens] = loaded.tasks;
  await t.step("read the gzipped fixture", () => {
    assert.deepEqual(loaded.tasks.map((x) => x.id), ["humaneval/0", "humaneval/1"]);
    assert.equal(add!.entryPoint, "add");
  });
  await t.step("prompt is the problem's prompt, continued by the model", () => {
    assert.equal(humaneval.prompt(add!), add!.prompt);
    assert.ok(add!.prompt.startsWith("def add(a: int, b: int) -> int:\n"));
    assert.equal(humaneval.completesPrompt, true);
  });
  await t.step(
    "gold program is prompt + canonical solution",
    () =>
      assert.equal(evens!.reference, `${evens!.prompt}    return [x for x in xs if x % 2 == 0]\n`),
  );
  await t.step("program is the code; the test and check(entry_point) are its harness", () => {
    const request = humaneval.request(add!, "CODE");
    assert.equal(request.mode, "test");
    assert.equal(request.language, "python");
    assert.equal(request.code, "CODE");
    assert.ok(request.harness?.startsWith("\n\nMETADATA = {}"));
    assert.ok(request.harness?.endsWith("\n\ncheck(add)\n"));
  });
  await t.step(
    "gold passes and a wrong completion fails in the sandbox",
    () =>
      withExecutor(["python"], async (executor) => {
        assert.equal((await judgeCode(humaneval, executor, add!, add!.reference)).status, "passed");
        const wrong = await judgeCode(
          humaneval,
          executor,
          add!,
          `${add!.prompt}    return a - b\n`,
        );
        assert.equal(wrong.status, "failed");
      }),
  );
  await t.step(
    "rejects an unknown split",
    async () =>
      await assert.rejects(
        humaneval.load({ data: FIXTURE, split: "train", allowUnverified: true }),
        {
          name: "RangeError",
          message: 'Cannot load HumanEval split "train" as it is not a known split: use test',
        },
      ),
  );
});

Deno.test("parseHumanEval() errors", async (t) => {
  const path = fixturePath("benchmarks/humaneval/malformed.jsonl");
  const text = await Deno.readTextFile(path);
  await t.step(
    "name the file, line and field",
    () =>
      assert.throws(() => parseHumanEval(text, path), {
        name: "TypeError",
        message:
          `Cannot read HumanEval problem at "${path}" line 2 as field "test" must be a string: current value is undefined`,
      }),
  );
  await t.step(
    "name the line of invalid JSON",
    () =>
      assert.throws(() => parseHumanEval('{"task_id": "HumanEval/0"}\n{oops\n', "x.jsonl"), {
        name: "SyntaxError",
        message:
          /^Cannot read HumanEval problem at "x\.jsonl" line 2 as it is not valid JSON: .*: fix or remove that line$/,
      }),
  );
});
