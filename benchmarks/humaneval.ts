/**
 * HumanEval (Chen et al., 2021): 164 hand-written Python functions, each given as a signature and
 * docstring that the model completes, judged by the problem's `check(candidate)` function, from
 * the official `HumanEval.jsonl.gz`.
 *
 * The program that runs is the one the official harness builds: prompt + completion, then the
 * problem's `test` code, then `check(<entry_point>)`. The gold program is prompt + canonical
 * solution. One split, `test`, with all 164 problems.
 *
 * A whole-program sample (an EvalPlus `solution`) need not repeat the prompt's helper functions:
 * `check` of HumanEval/38 and /50 calls `encode_cyclic` / `encode_shift`, which only the prompt
 * defines, and EvalPlus calls the entry point alone. So the prompt's imports and the top-level
 * definitions a sample does not define itself run with the tests ({@linkcode promptHelpers}),
 * where `check` sees them and the sample's own code does not (a sample that calls a helper it
 * never defined fails, as in EvalPlus).
 *
 * @module
 */

import { resolveDatasetFile } from "./_dataset.ts";
import {
  applyLimit,
  FieldReader,
  type LineRecord,
  parseJsonlRecords,
  readDatasetRecords,
} from "./_records.ts";
import type { Execution, Task } from "../src/types.ts";
import type { Benchmark, DatasetSpec, LoadedTasks, LoadOptions } from "./benchmark.ts";
import type { ExecuteRequest } from "../sandbox/types.ts";

const DATASET = {
  name: "humaneval",
  version: "openai/human-eval@463c980b",
  files: [
    {
      name: "HumanEval.jsonl.gz",
      sha256: "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
      contentSha256: "1d49078ba3e2b196b9344535bef34a43021f038fad9561d6ee7c53450609a6a2",
      url:
        "https://raw.githubusercontent.com/openai/human-eval/463c980b59e818ace59f6f9803cd92c749ceae61/data/HumanEval.jsonl.gz",
    },
  ],
} as const satisfies DatasetSpec;

/** One HumanEval problem as the file gives it. */
export interface HumanEvalProblem {
  readonly taskId: string;
  readonly prompt: string;
  readonly canonicalSolution: string;
  readonly test: string;
  readonly entryPoint: string;
}

/** HumanEval as a {@linkcode Benchmark}. */
export const humaneval: Benchmark = {
  name: "humaneval",
  description:
    "HumanEval (Chen et al., 2021): 164 Python functions completed from their docstrings, judged by check(candidate)",
  metric: "pass@1",
  dataset: DATASET,
  splits: ["test"],
  promptTemplate: "humaneval-completion-v1",
  completesPrompt: true,
  limitsPreset: "human-eval",
  officialId: (task: Task) => task.id.replace(/^humaneval\//, "HumanEval/"),
  load: loadHumanEval,
  /** The problem's prompt as it is: signature and docstring, continued by the model. */
  prompt: (task: Task) => task.prompt,
  request(task: Task, code: string): ExecuteRequest {
    const check = task.check;
    if (check.kind !== "program") throw new TypeError(`Task "${task.id}" is not a HumanEval task`);
    // check(candidate) runs after the program, as its harness: passing needs it to run to its end
    // (a program that exits early, with any status, fails, as in the official harness).
    const helpers = promptHelpers(task.prompt, code, task.entryPoint ?? "");
    return {
      language: "python",
      mode: "test",
      code,
      harness: helpers === "" ? check.harness : `${helpers}\n${check.harness}`,
      ...(task.entryPoint ? { entryPoint: task.entryPoint } : {}),
    };
  },
  judge: (_task: Task, execution: Execution) => execution,
};

async function loadHumanEval(options: LoadOptions = {}): Promise<LoadedTasks> {
  const split = options.split ?? "test";
  if (split !== "test") {
    throw new RangeError(
      `Cannot load HumanEval split "${split}" as it is not a known split: use test`,
    );
  }
  const file = DATASET.files[0];
  const resolved = await resolveDatasetFile(DATASET, file, options);
  const records = await readDatasetRecords(resolved.path, "HumanEval problem");
  const problems = humanEvalProblems(records, resolved.path);
  const tasks = problems.map((p) => humanEvalTask(p, split));
  return {
    tasks: applyLimit(tasks, options.limit),
    split,
    sha256: { [file.name]: resolved.sha256 },
    source: resolved.path,
  };
}

/** Parses the (gunzipped) text of `HumanEval.jsonl.gz`; errors name the file and line. */
export function parseHumanEval(text: string, path: string): HumanEvalProblem[] {
  return humanEvalProblems(parseJsonlRecords(text, path, "HumanEval problem"), path);
}

/** HumanEval problems from records (JSONL lines or parquet rows: `openai_humaneval`'s columns). */
export function humanEvalProblems(
  records: readonly LineRecord[],
  path: string,
): HumanEvalProblem[] {
  return records.map(({ line, value }) => {
    const fields = new FieldReader(value, `HumanEval problem at "${path}" line ${line}`);
    return {
      taskId: fields.string("task_id"),
      prompt: fields.string("prompt"),
      canonicalSolution: fields.string("canonical_solution"),
      test: fields.string("test"),
      entryPoint: fields.string("entry_point"),
    };
  });
}

/** The task of one problem: `humaneval/<n>`, gold program = prompt + canonical solution. */
export function humanEvalTask(problem: HumanEvalProblem, split: string): Task {
  return {
    id: `humaneval/${problem.taskId.replace(/^HumanEval\//, "")}`,
    language: "python",
    prompt: problem.prompt,
    reference: problem.prompt + problem.canonicalSolution,
    entryPoint: problem.entryPoint,
    check: { kind: "program", harness: `${problem.test}\n\ncheck(${problem.entryPoint})\n` },
    meta: { split },
  };
}

/**
 * The prompt's imports and its top-level `def` / `class` blocks (decorators included) that `code`
 * does not define at top level, leaving out the entry point itself; "" when there are none.
 */
export function promptHelpers(prompt: string, code: string, entryPoint: string): string {
  const defined = new Set(
    topLevelBlocks(code).flatMap((b) => b.name === undefined ? [] : [b.name]),
  );
  const helpers = topLevelBlocks(prompt).filter((block) =>
    block.name === undefined
      ? block.isImport
      : block.name !== entryPoint && !defined.has(block.name)
  );
  if (!helpers.some((block) => block.name !== undefined)) return "";
  return helpers.map((block) => block.text.trimEnd()).join("\n\n") + "\n";
}

/** Top-level blocks of Python source: a line at column 0 starts one (decorators join the next). */
function topLevelBlocks(source: string): { name?: string; isImport: boolean; text: string }[] {
  const blocks: string[][] = [];
  for (const line of source.split("\n")) {
    const previous = blocks.at(-1);
    const startsBlock = /^[^\s#)\]}]/.test(line) && !/^(else|elif|except|finally)\b/.test(line);
    if (previous === undefined || (startsBlock && !previous.every((l) => /^@|^\s*$/.test(l)))) {
      blocks.push([line]);
    } else previous.push(line);
  }
  return blocks.map((lines) => {
    const text = lines.join("\n");
    const head = lines.find((l) => !/^@|^\s*$/.test(l)) ?? "";
    const name = /^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)/.exec(head)?.[1];
    return {
      ...(name === undefined ? {} : { name }),
      isImport: /^(import|from)\s/.test(head),
      text,
    };
  });
}
