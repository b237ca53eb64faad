/**
 * The `samples:PATH` backend: completions produced anywhere, read by
 * `src/interop/samples_formats.ts` (human-eval / EvalPlus JSONL, bigcode `generations.json`, an
 * EvalPlus samples folder or `eval_results.json`, a run's `generations.jsonl`). Several samples
 * of a task are indexed in file order. Task ids compare case-insensitively, with or without the
 * benchmark's prefix (`Mbpp/11`, `mbpp/11` and `11` all name `mbpp/11`); an id the split does not
 * have is an error, never silently dropped.
 *
 * @module
 */

import { readSamplesFile, type SamplesFile, type SampleText } from "../interop/samples_formats.ts";
import type { Generation, GenerationRequest, ModelBackend } from "./backend.ts";
import type { Task } from "../types.ts";

/** A `samples:` backend plus what the file holds. */
export interface SamplesBackend extends ModelBackend {
  /** Most samples any task has in the file. */
  readonly maxSamplesPerTask: number;
  /** Whether the file has samples for `taskId` (positional files: once bound to a split). */
  has(taskId: string): boolean;
}

/** Reads `path` and creates the backend; errors name the file and line. */
export async function createSamplesBackend(path: string): Promise<SamplesBackend> {
  const file = await readSamplesFile(path);
  let bound = new Map<string, readonly SampleText[]>();
  const counts = [...(file.byId ? normalisedIndex(file).values() : file.byPosition ?? [])]
    .map((s) => s.length);
  const maxSamplesPerTask = Math.max(0, ...counts);
  const lookup = (task: Task) =>
    bound.get(task.id) ?? (file.byId ? matchId(file, task) : undefined);
  return {
    identity: {
      backend: "samples",
      id: path,
      settings: { sha256: file.sha256, format: file.format },
    },
    yieldsCode: false,
    samplingSource: "samples file",
    maxSamplesPerTask,
    has: (taskId) => bound.has(taskId) || (file.byId !== undefined && findId(file, taskId)),
    coveredTasks(tasks: readonly Task[], split: string): readonly Task[] {
      bound = bindTasks(file, tasks, split);
      return tasks.filter((task) => bound.has(task.id));
    },
    samplesPerTask(tasks: readonly Task[]): number {
      const missing = tasks.filter((task) => lookup(task) === undefined);
      if (missing.length > 0) {
        const shown = missing.slice(0, 5).map((t) => t.id).join(", ");
        throw new RangeError(
          `Cannot evaluate "${path}" as it has no sample for ${missing.length} of ${tasks.length} tasks (${shown}${
            missing.length > 5 ? ", ..." : ""
          }): add samples for them, or choose the tasks with --tasks samples (the tasks the file covers), --tasks, --split, --filter or --limit`,
        );
      }
      return maxSamplesPerTask;
    },
    generate(request: GenerationRequest): Promise<readonly Generation[]> {
      const lines = lookup(request.task) ?? [];
      const generations = request.indices.flatMap((index) => {
        const line = lines[index];
        return line === undefined ? [] : [{ index, raw: line.raw, isProgram: line.isProgram }];
      });
      return Promise.resolve(generations);
    },
    close: () => Promise.resolve(),
  };
}

/** The names a task answers to in a samples file: its id, without the benchmark, its last part. */
export function taskIdAliases(taskId: string): string[] {
  const full = normalise(taskId);
  const native = full.slice(full.indexOf("/") + 1);
  const last = full.slice(full.lastIndexOf("/") + 1);
  return [...new Set([full, native, last])];
}

function normalise(id: string): string {
  return id.trim().toLowerCase();
}

function matchId(file: SamplesFile, task: Task): readonly SampleText[] | undefined {
  const byNormal = normalisedIndex(file);
  for (const alias of taskIdAliases(task.id)) {
    const found = byNormal.get(alias);
    if (found !== undefined) return found;
  }
  return undefined;
}

function findId(file: SamplesFile, taskId: string): boolean {
  const byNormal = normalisedIndex(file);
  return taskIdAliases(taskId).some((alias) => byNormal.has(alias));
}

const INDEXES = new WeakMap<SamplesFile, Map<string, readonly SampleText[]>>();

function normalisedIndex(file: SamplesFile): Map<string, readonly SampleText[]> {
  let index = INDEXES.get(file);
  if (index === undefined) {
    // Ids that differ only in case or spacing ("Mbpp/2", "mbpp/2") are one task's samples.
    const merged = new Map<string, SampleText[]>();
    for (const [id, samples] of file.byId ?? []) {
      merged.set(normalise(id), [...(merged.get(normalise(id)) ?? []), ...samples]);
    }
    index = merged;
    INDEXES.set(file, index);
  }
  return index;
}

/** Task id -> samples for the tasks of a split; an id of the file no task has is an error. */
function bindTasks(
  file: SamplesFile,
  tasks: readonly Task[],
  split: string,
): Map<string, readonly SampleText[]> {
  if (file.byPosition !== undefined) {
    if (file.byPosition.length > tasks.length) {
      throw new RangeError(
        `Cannot evaluate "${file.path}" as it holds samples for ${file.byPosition.length} tasks and split "${split}" has ${tasks.length}: a bigcode generations.json lists the tasks of the split in order; choose the split it was generated for with --split`,
      );
    }
    return new Map(file.byPosition.map((samples, i) => [tasks[i]!.id, samples]));
  }
  const byAlias = new Map<string, Task>();
  for (const task of tasks) {
    for (const alias of taskIdAliases(task.id)) if (!byAlias.has(alias)) byAlias.set(alias, task);
  }
  const bound = new Map<string, readonly SampleText[]>();
  const unknown: string[] = [];
  for (const [id, samples] of file.byId ?? []) {
    const task = byAlias.get(normalise(id));
    if (task === undefined) unknown.push(id);
    else bound.set(task.id, [...(bound.get(task.id) ?? []), ...samples]);
  }
  if (unknown.length > 0) {
    throw new RangeError(
      `Cannot evaluate "${file.path}" as ${unknown.length} of its task ids are not tasks of split "${split}" (${
        unknown.slice(0, 5).join(", ")
      }${
        unknown.length > 5 ? ", ..." : ""
      }): choose the split that has them (--split), or remove them from the file`,
    );
  }
  return bound;
}
