import assert from "node:assert/strict";
import { join } from "node:path";
import { createSamplesBackend } from "../../src/models/samples.ts";
import { sha256 } from "../../src/util/hash.ts";
import type { Sampling } from "../../src/models/backend.ts";
import type { Task } from "../../src/types.ts";

const SAMPLING: Sampling = {
  n: 2,
  temperature: 0,
  topP: 1,
  topK: 0,
  maxTokens: 1,
  stop: [],
  seed: 0,
};

Deno.test("createSamplesBackend()", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-samples-" });
  const file = join(dir, "samples.jsonl");
  const write = (text: string) => Deno.writeTextFile(file, text);
  try {
    await t.step("reads completions and solutions, several lines a task", async () => {
      const text = '{"task_id": "Mbpp/2", "completion": "  return 1\\n"}\n\n' +
        '{"task_id": "mbpp/2", "solution": "def f(): return 2"}\n';
      await write(text);
      const backend = await createSamplesBackend(file);
      assert.equal(backend.maxSamplesPerTask, 2);
      assert.equal(backend.identity.settings.sha256, sha256(text));
      const task = { id: "mbpp/2" } as Task;
      assert.deepEqual(
        await backend.generate({ task, prompt: "", sampling: SAMPLING, indices: [0, 1] }),
        [
          { index: 0, raw: "  return 1\n", isProgram: false },
          { index: 1, raw: "def f(): return 2", isProgram: true },
        ],
      );
    });

    await t.step("names the file and line of a null line", async () => {
      await write('{"task_id": 1, "completion": "x"}\nnull\n');
      await assert.rejects(createSamplesBackend(file), {
        name: "TypeError",
        message: `Cannot read sample at "${file}" line 2 as it must be a JSON object with ` +
          `"task_id" and "completion" or "solution": current value is null`,
      });
    });

    await t.step("says that a numeric completion must be a string", async () => {
      await write('{"task_id": 1, "completion": 42}\n');
      await assert.rejects(createSamplesBackend(file), {
        name: "TypeError",
        message: `Cannot read sample at "${file}" line 1 as field "completion" must be a string ` +
          `(the code as text): current value is 42`,
      });
    });

    await t.step("names the keys of a line with neither field", async () => {
      await write('{"task_id": 1, "code": "x"}\n');
      await assert.rejects(createSamplesBackend(file), {
        name: "TypeError",
        message: `Cannot read sample at "${file}" line 1 as it must have a string "completion" ` +
          `or "solution": current keys are task_id, code`,
      });
    });

    await t.step("names the file and line of a line that is not JSON", async () => {
      await write('{"task_id": 1, "completion": "x"}\n{"task_id": \n');
      await assert.rejects(createSamplesBackend(file), {
        name: "SyntaxError",
        message: new RegExp(
          `^Cannot read "${file}" as line 2 is not valid JSON: .*: fix or remove that line$`,
        ),
      });
    });

    await t.step("says what to pass when the file does not exist", async () => {
      await assert.rejects(createSamplesBackend(join(dir, "missing.jsonl")), {
        name: "NotFound",
        message: `Cannot read samples as "${join(dir, "missing.jsonl")}" does not exist: pass ` +
          `--model samples:PATH with a JSONL of {"task_id", "completion" | "solution"} lines, ` +
          `a bigcode generations.json or an EvalPlus samples folder`,
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
