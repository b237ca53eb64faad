/**
 * MBPP (Austin et al., 2021): 974 crowd-sourced Python problems, each with three asserts, from
 * the published `mbpp.jsonl`, and the 427-problem hand-verified `sanitized-mbpp.json`.
 *
 * Splits of `mbpp.jsonl` follow the dataset README: `prompt` 1-10 (few-shot examples), `test`
 * 11-510 (the default), `validation` 511-600, `train` 601-974, and `all` for the 974. `sanitized`
 * is the whole sanitized file; `sanitized-test` keeps its tasks with ids 11-510.
 *
 * @module
 */

import { resolveDatasetFile } from "./_dataset.ts";
import { parseJsonl } from "../src/util/jsonl.ts";
import { isParquet, readDatasetRecords } from "./_records.ts";
import type { Execution, Task } from "../src/types.ts";
import type {
  Benchmark,
  DatasetSpec,
  LoadedTasks,
  LoadOptions,
  PromptOptions,
} from "./benchmark.ts";
import type { ExecuteRequest } from "../sandbox/types.ts";

const DATASET = {
  name: "mbpp",
  version: "google-research@30adf0ec",
  files: [
    {
      name: "mbpp.jsonl",
      sha256: "ccf64ceae9c5403bf50a044cb6d505bfd2a2963ee58338ba268fd65beab92a9f",
      url:
        "https://raw.githubusercontent.com/google-research/google-research/master/mbpp/mbpp.jsonl",
    },
    {
      name: "sanitized-mbpp.json",
      sha256: "ca95deaa9a01ef0a6f439f88bcf0dd3db3563d22f22aad6cae04ebb9a8d8c8e9",
      url:
        "https://raw.githubusercontent.com/google-research/google-research/master/mbpp/sanitized-mbpp.json",
    },
  ],
} as const satisfies DatasetSpec;

/** Task id ranges of the standard splits of `mbpp.jsonl`. */
export const MBPP_SPLITS = {
  test: [11, 510],
  prompt: [1, 10],
  validation: [511, 600],
  train: [601, 974],
  all: [1, 974],
  sanitized: [1, 974],
  "sanitized-test": [11, 510],
} as const satisfies Record<string, readonly [number, number]>;

/** Task ids of the few-shot examples, in the order they are prepended (Austin et al. use 2-4). */
const FEW_SHOT_IDS = [2, 3, 4, 1, 5, 6, 7, 8, 9, 10] as const;

/** One problem, normalised from either file. */
interface MbppProblem {
  readonly taskId: number;
  readonly text: string;
  readonly code: string;
  readonly tests: readonly string[];
  /** `test_setup_code` (mbpp.jsonl) or `test_imports` (sanitized). */
  readonly setup: string;
}

/** MBPP as a {@linkcode Benchmark}. */
export const mbpp: Benchmark = {
  name: "mbpp",
  description:
    "Mostly Basic Python Problems (Austin et al., 2021): Python functions judged by asserts",
  metric: "pass@1",
  dataset: DATASET,
  splits: Object.keys(MBPP_SPLITS),
  promptTemplate: "mbpp-austin2021-v1",
  completesPrompt: false,
  stop: ["[DONE]"],
  officialId: (task: Task) => task.id.replace(/^mbpp\//, "Mbpp/"),
  load: loadMbpp,
  prompt: mbppPrompt,
  request(task: Task, code: string): ExecuteRequest {
    const check = task.check;
    if (check.kind !== "program") throw new TypeError(`Task "${task.id}" is not an MBPP task`);
    // The asserts run after the program, as its harness: passing needs them to run to their end.
    return {
      language: "python",
      mode: "test",
      code,
      harness: check.harness,
      ...(task.entryPoint ? { entryPoint: task.entryPoint } : {}),
    };
  },
  judge(_task: Task, execution: Execution): Execution {
    return execution;
  },
};

async function loadMbpp(options: LoadOptions = {}): Promise<LoadedTasks> {
  const split = options.split ?? "test";
  if (!Object.hasOwn(MBPP_SPLITS, split)) {
    throw new RangeError(
      `Cannot load MBPP split "${split}" as it is not a known split: use one of ${
        Object.keys(MBPP_SPLITS).join(", ")
      }`,
    );
  }
  const sanitized = split.startsWith("sanitized");
  const file = DATASET.files[sanitized ? 1 : 0];
  const resolved = await resolveDatasetFile(DATASET, file, options);
  const problems = sanitized
    ? parseSanitized(await Deno.readTextFile(resolved.path), resolved.path)
    : await isParquet(resolved.path)
    ? mbppProblems(
      (await readDatasetRecords(resolved.path, "MBPP problem")).map((r) => r.value),
      resolved.path,
    )
    : parseMbppJsonl(await Deno.readTextFile(resolved.path), resolved.path);
  const [first, last] = MBPP_SPLITS[split as keyof typeof MBPP_SPLITS];
  const inSplit = problems.filter((p) => p.taskId >= first && p.taskId <= last);
  const tasks = inSplit.map((p) => toTask(p, split)).slice(0, options.limit ?? Infinity);
  fewShotPool = problems;
  return { tasks, split, sha256: { [file.name]: resolved.sha256 }, source: resolved.path };
}

/** Problems of the last load, for few-shot examples (which come from the `prompt` split). */
let fewShotPool: readonly MbppProblem[] = [];

/** Parses `mbpp.jsonl`; errors name the file and line. */
export function parseMbppJsonl(text: string, path: string): MbppProblem[] {
  return mbppProblems(parseJsonl<Record<string, unknown>>(text, path), path);
}

/** MBPP problems from records (JSONL lines, or rows of the Hub's `mbpp` parquet files). */
export function mbppProblems(
  records: readonly Readonly<Record<string, unknown>>[],
  path: string,
): MbppProblem[] {
  return records.map((record: Record<string, unknown>, i) => {
    const where = `"${path}" record ${i + 1}`;
    return {
      taskId: field(record, "task_id", "number", where),
      text: field(record, "text", "string", where),
      code: field(record, "code", "string", where),
      tests: stringList(record, "test_list", where),
      setup: field(record, "test_setup_code", "string", where),
    };
  });
}

/** Parses `sanitized-mbpp.json` (a JSON array). */
export function parseSanitized(text: string, path: string): MbppProblem[] {
  let records: unknown;
  try {
    records = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot read "${path}" as it is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!Array.isArray(records)) {
    throw new SyntaxError(`Cannot read "${path}" as it must be a JSON array of MBPP problems`);
  }
  return records.map((record: Record<string, unknown>, i) => {
    const where = `"${path}" record ${i + 1}`;
    return {
      taskId: field(record, "task_id", "number", where),
      text: field(record, "prompt", "string", where),
      code: field(record, "code", "string", where),
      tests: stringList(record, "test_list", where),
      setup: stringList(record, "test_imports", where).join("\n"),
    };
  });
}

function field<T extends "string" | "number">(
  record: Record<string, unknown>,
  name: string,
  type: T,
  where: string,
): T extends "string" ? string : number {
  const value = record[name];
  const actual = typeof value;
  if (actual !== type) {
    throw new TypeError(
      `Cannot read MBPP problem at ${where} as field "${name}" must be a ${type}: current value is ${
        JSON.stringify(value)
      }`,
    );
  }
  return value as T extends "string" ? string : number;
}

function stringList(record: Record<string, unknown>, name: string, where: string): string[] {
  const value = record[name];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new TypeError(
      `Cannot read MBPP problem at ${where} as field "${name}" must be a list of strings: current value is ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function toTask(problem: MbppProblem, split: string): Task {
  const harness = [problem.setup, ...problem.tests].filter((line) => line.trim() !== "").join("\n");
  const entryPoint = entryPointOf(problem);
  return {
    id: `mbpp/${problem.taskId}`,
    language: "python",
    prompt: problem.text,
    reference: problem.code,
    ...(entryPoint === undefined ? {} : { entryPoint }),
    check: { kind: "program", harness },
    meta: { split, tests: problem.tests.join("\n") },
  };
}

/** The function the first assert calls that the gold code defines. */
function entryPointOf(problem: MbppProblem): string | undefined {
  const defined = [...problem.code.matchAll(/^def\s+(\w+)\s*\(/gm)].map((m) => m[1]!);
  const firstTest = problem.tests[0] ?? "";
  return defined.find((name) => new RegExp(`\\b${name}\\s*\\(`).test(firstTest)) ?? defined[0];
}

/**
 * The prompt of Austin et al. (2021): the task text and its asserts; with `shots`, that many
 * solved examples from the `prompt` split first, each answer between `[BEGIN]` and `[DONE]`.
 */
export function mbppPrompt(task: Task, options: PromptOptions = {}): string {
  const tests = String(task.meta.tests ?? "");
  const question = describe(task.prompt, tests);
  const shots = options.shots ?? 0;
  if (shots === 0) return question;
  const pool = fewShotPool;
  const examples = FEW_SHOT_IDS.slice(0, shots).map((id) => {
    const problem = pool.find((p) => p.taskId === id);
    if (problem === undefined) {
      throw new RangeError(
        `Cannot build a ${shots}-shot MBPP prompt as example task ${id} is not loaded: load mbpp.jsonl first`,
      );
    }
    return `${describe(problem.text, problem.tests.join("\n"))}[BEGIN]\n${problem.code}\n[DONE]\n`;
  });
  return `${examples.join("\n")}\n${question}[BEGIN]\n`;
}

function describe(text: string, tests: string): string {
  return `You are an expert Python programmer, and here is your task: ${text} Your code should pass these tests:\n\n${tests}\n`;
}
