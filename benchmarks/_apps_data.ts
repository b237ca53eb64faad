/**
 * The three file layouts APPS problems come in, read into one shape ({@linkcode AppsProblem}):
 *
 * - the original layout of `APPS.tar.gz`: one folder per problem (`0000/`, `0001/`, ...) with
 *   `question.txt`, `input_output.json`, `solutions.json`, `metadata.json` and, for call-based
 *   problems, `starter_code.py`;
 * - the JSONL export of the same fields (Hugging Face `codeparrot/apps` `train.jsonl` and
 *   `test.jsonl`: `problem_id`, `question`, `solutions` and `input_output` as JSON strings,
 *   `difficulty`, `url`, `starter_code`);
 * - MapCoder's re-formatted subset (`selected150.jsonl`: `id`, `description`, `difficulty`,
 *   `test_list` of `{input, output}`, `starter_code`; no solutions).
 *
 * @module
 */

import { existsSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { sha256, sha256File } from "../src/util/hash.ts";
import {
  FieldReader,
  type LineRecord,
  parseJsonlRecords,
  preview,
  readDatasetText,
} from "./_records.ts";

/** How a call-based case's arguments are written down. */
export type AppsArgsEncoding =
  /** A JSON list of arguments (APPS `input_output.json`). */
  | "json"
  /**
   * One argument per line, each a Python literal or else a bare string (MapCoder's conversion,
   * `"\n".join(str(x) for x in inputs)`); decoded by the harness with `ast.literal_eval`.
   */
  | "lines";

/** One test case: `input` and `output` exactly as the dataset gives them. */
export interface AppsCase {
  readonly input: unknown;
  readonly output: unknown;
}

/** One APPS problem, whatever layout it came from. */
export interface AppsProblem {
  /** Folder name, `problem_id` (zero-padded to 4 digits) or MapCoder id. */
  readonly problemId: string;
  readonly question: string;
  readonly solutions: readonly string[];
  readonly starterCode: string;
  readonly difficulty: string;
  readonly url: string;
  /** Function name of call-based problems; absent for standard-input problems. */
  readonly fnName?: string;
  readonly cases: readonly AppsCase[];
  readonly argsEncoding: AppsArgsEncoding;
  readonly layout: "original" | "codeparrot" | "mapcoder";
  /** MapCoder's `sample_io` (public cases shown in its prompt); empty in the other layouts. */
  readonly sampleIo?: readonly AppsCase[];
}

/** Reads every problem folder under `root` (sorted by name); `files` receives each file read. */
export async function readOriginalLayout(
  root: string,
  files?: Map<string, string>,
): Promise<AppsProblem[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.isDirectory && existsSync(join(root, entry.name, "question.txt"))) {
      names.push(entry.name);
    }
  }
  names.sort();
  const problems: AppsProblem[] = [];
  // In batches: the full APPS has 5,000 folders per split, too many files to open at once.
  for (let i = 0; i < names.length; i += 64) {
    const batch = names.slice(i, i + 64);
    problems.push(
      ...await Promise.all(batch.map((name) => readProblemFolder(join(root, name), name, files))),
    );
  }
  return problems;
}

/** Reads one original-layout problem folder. */
export async function readProblemFolder(
  folder: string,
  problemId: string,
  files?: Map<string, string>,
): Promise<AppsProblem> {
  const read = async (name: string): Promise<string | undefined> => {
    const path = join(folder, name);
    if (!existsSync(path)) return undefined;
    files?.set(path, "");
    return await Deno.readTextFile(path);
  };
  const question = await read("question.txt");
  if (question === undefined) {
    throw new TypeError(
      `Cannot read APPS problem "${folder}" as it has no question.txt: point --data at a folder of APPS problem folders`,
    );
  }
  const json = (name: string, text: string | undefined) =>
    text === undefined ? undefined : parseJsonFile(text, join(folder, name));
  const inputOutput = json("input_output.json", await read("input_output.json"));
  const solutions = json("solutions.json", await read("solutions.json"));
  const metadata = json("metadata.json", await read("metadata.json"));
  const where = `APPS problem "${folder}"`;
  return {
    problemId,
    question,
    solutions: solutionList(solutions, `${where} solutions.json`),
    starterCode: (await read("starter_code.py")) ?? "",
    difficulty: metaString(metadata, "difficulty", `${where} metadata.json`),
    url: metaString(metadata, "url", `${where} metadata.json`),
    ...testsOf(inputOutput, `${where} input_output.json`),
    argsEncoding: "json",
    layout: "original",
  };
}

/** Parses an APPS JSONL file in either export (told apart by their fields, line by line). */
export function parseAppsJsonl(text: string, path: string): AppsProblem[] {
  const records = parseJsonlRecords(text, path, "APPS problem");
  const seen = new Map<string, number>();
  return records.map((record) => {
    const problem = "test_list" in record.value
      ? mapcoderProblem(record, path)
      : codeparrotProblem(record, path);
    const count = (seen.get(problem.problemId) ?? 0) + 1;
    seen.set(problem.problemId, count);
    // MapCoder's file repeats some problems; ids must stay unique (and free of "#").
    return count === 1 ? problem : { ...problem, problemId: `${problem.problemId}-${count}` };
  });
}

function codeparrotProblem({ line, value }: LineRecord, path: string): AppsProblem {
  const where = `APPS problem at "${path}" line ${line}`;
  const fields = new FieldReader(value, where);
  if (!("input_output" in value)) {
    fields.fail(
      `it has neither "input_output" (codeparrot/apps export) nor "test_list" (MapCoder export): current fields are ${
        Object.keys(value).join(", ")
      }`,
    );
  }
  const embedded = (name: string) => {
    const text = fields.optionalString(name);
    return text.trim() === "" ? undefined : parseJsonFile(text, `${where} field "${name}"`);
  };
  const id = fields.id("problem_id");
  return {
    problemId: /^\d+$/.test(id) ? id.padStart(4, "0") : id,
    question: fields.string("question"),
    solutions: solutionList(embedded("solutions"), `${where} field "solutions"`),
    starterCode: fields.optionalString("starter_code"),
    difficulty: fields.optionalString("difficulty", "unknown"),
    url: fields.optionalString("url"),
    ...testsOf(embedded("input_output"), `${where} field "input_output"`),
    argsEncoding: "json",
    layout: "codeparrot",
  };
}

function mapcoderProblem({ line, value }: LineRecord, path: string): AppsProblem {
  const where = `APPS problem at "${path}" line ${line}`;
  const fields = new FieldReader(value, where);
  const starterCode = fields.optionalString("starter_code");
  const fnName = /^\s*def\s+(\w+)\s*\(/m.exec(starterCode)?.[1];
  const cases = fields.list("test_list").map((item, i) => {
    const test = new FieldReader(item as Record<string, unknown>, `${where} test_list[${i}]`);
    if (item === null || typeof item !== "object") {
      test.fail(
        `it must be an object with "input" and "output": current value is ${preview(item)}`,
      );
    }
    return { input: test.string("input"), output: test.list("output") };
  });
  const sampleIo = Array.isArray(value.sample_io)
    ? value.sample_io.filter((item): item is { input: unknown; output: unknown } =>
      item !== null && typeof item === "object"
    ).map((item) => ({ input: item.input, output: item.output }))
    : [];
  return {
    problemId: fields.id("id"),
    question: fields.string("description"),
    solutions: [],
    starterCode,
    difficulty: fields.optionalString("difficulty", "unknown"),
    url: "",
    ...(fnName === undefined ? {} : { fnName }),
    cases,
    argsEncoding: "lines",
    layout: "mapcoder",
    sampleIo,
  };
}

function parseJsonFile(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot read ${where} as it is not valid JSON: ${(error as Error).message}`,
    );
  }
}

function solutionList(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((s) => typeof s === "string")) return value;
  throw new TypeError(
    `Cannot read ${where} as it must be a list of strings: current value is ${preview(value)}`,
  );
}

function metaString(metadata: unknown, name: string, where: string): string {
  if (metadata === undefined) return name === "difficulty" ? "unknown" : "";
  const value = (metadata as Record<string, unknown>)?.[name];
  if (value === undefined) return name === "difficulty" ? "unknown" : "";
  if (typeof value === "string") return value;
  throw new TypeError(
    `Cannot read ${where} as field "${name}" must be a string: current value is ${preview(value)}`,
  );
}

/** `input_output.json`: `{inputs, outputs, fn_name?}` with inputs and outputs of equal length. */
function testsOf(value: unknown, where: string): { cases: AppsCase[]; fnName?: string } {
  if (value === undefined) return { cases: [] };
  const record = value as Record<string, unknown>;
  const inputs = record?.inputs;
  const outputs = record?.outputs;
  if (!Array.isArray(inputs) || !Array.isArray(outputs) || inputs.length !== outputs.length) {
    throw new TypeError(
      `Cannot read ${where} as it must hold "inputs" and "outputs" lists of equal length: current value is ${
        preview(value)
      }`,
    );
  }
  const fnName = record.fn_name;
  if (fnName !== undefined && fnName !== null && typeof fnName !== "string") {
    throw new TypeError(
      `Cannot read ${where} as "fn_name" must be a string: current value is ${preview(fnName)}`,
    );
  }
  const cases = inputs.map((input, i) => ({ input, output: outputs[i] }));
  return typeof fnName === "string" ? { cases, fnName } : { cases };
}

/** Reads a JSONL file in either export. */
export async function readAppsJsonl(path: string): Promise<AppsProblem[]> {
  return parseAppsJsonl(await readDatasetText(path), path);
}

/**
 * A digest of a folder's files (the `sha256sum` lines of every file read, sorted by path),
 * recorded as the dataset sha256 of an unpinned original-layout copy.
 */
export async function treeDigest(root: string, paths: Iterable<string>): Promise<string> {
  const lines: string[] = [];
  for (const path of paths) lines.push(`${await sha256File(path)}  ${relative(root, path)}`);
  return sha256(lines.sort().join("\n") + "\n");
}

/** Whether `path` is a folder that directly holds APPS problem folders. */
export function holdsProblemFolders(path: string): boolean {
  if (!isDirectory(path)) return false;
  for (const entry of Deno.readDirSync(path)) {
    if (entry.isDirectory && existsSync(join(path, entry.name, "question.txt"))) return true;
  }
  return false;
}

export function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

export function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}
