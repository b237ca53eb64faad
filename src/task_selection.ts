/**
 * Choosing tasks by id (`--tasks`): a list of ids (`11,12`, `mbpp/11`, `HumanEval/3`), ranges of
 * numeric ids (`11-20` or `11..20`, both ends included), `@FILE` (ids one per line or separated by
 * commas or spaces, `#` starts a comment), or `samples` (the tasks the samples file covers). Ids
 * compare case-insensitively, with or without the benchmark's prefix. An id that no task of the
 * split has is an error, never silently dropped.
 *
 * @module
 */

import { taskIdAliases } from "./models/samples.ts";
import type { Task } from "./types.ts";

/** What {@linkcode selectTaskIds} needs besides the spec. */
export interface SelectByIdOptions {
  /** The split's name, for errors. */
  readonly split: string;
  /** The tasks the samples file covers, for the spec `samples`. */
  readonly covered?: readonly Task[];
}

/** The tasks of `tasks` that `spec` names, in the split's order. */
export async function selectTaskIds(
  tasks: readonly Task[],
  spec: string,
  options: SelectByIdOptions,
): Promise<Task[]> {
  if (spec.trim() === "samples") {
    if (options.covered === undefined) {
      throw new TypeError(
        `Cannot select --tasks samples as the model is not a samples file: pass --model samples:PATH, or list task ids`,
      );
    }
    const keep = new Set(options.covered.map((t) => t.id));
    return tasks.filter((t) => keep.has(t.id));
  }
  const items = await specItems(spec);
  const chosen = new Set<string>();
  const byAlias = aliasIndex(tasks);
  for (const item of items) {
    const matched = matchItem(item, tasks, byAlias);
    if (matched.length === 0) throw unknownId(item, tasks, options.split);
    for (const task of matched) chosen.add(task.id);
  }
  return tasks.filter((t) => chosen.has(t.id));
}

async function specItems(spec: string): Promise<string[]> {
  const text = spec.startsWith("@") ? await readIdFile(spec.slice(1)) : spec;
  const items = text.split("\n").map((line) => line.replace(/#.*$/, ""))
    .flatMap((line) => line.split(/[,\s]+/)).filter((item) => item !== "");
  if (items.length === 0) {
    throw new RangeError(
      `Cannot select tasks as --tasks names none: current value is "${spec}": list ids (11,12), ranges (11-20) or @FILE`,
    );
  }
  return items;
}

async function readIdFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot select tasks from "${path}" as it does not exist: pass --tasks @FILE with one task id per line`,
      );
    }
    throw error;
  }
}

function aliasIndex(tasks: readonly Task[]): Map<string, Task> {
  const byAlias = new Map<string, Task>();
  for (const task of tasks) {
    for (const alias of taskIdAliases(task.id)) if (!byAlias.has(alias)) byAlias.set(alias, task);
  }
  return byAlias;
}

function matchItem(item: string, tasks: readonly Task[], byAlias: Map<string, Task>): Task[] {
  const exact = byAlias.get(item.trim().toLowerCase());
  if (exact !== undefined) return [exact];
  const range = /^(\d+)(?:-|\.\.)(\d+)$/.exec(item);
  if (range === null) return [];
  const [low, high] = [Number(range[1]), Number(range[2])];
  if (low > high) {
    throw new RangeError(
      `Cannot select tasks "${item}" as a range must run from low to high: write ${high}-${low}`,
    );
  }
  const inRange = tasks.filter((task) => {
    const last = task.id.slice(task.id.lastIndexOf("/") + 1);
    return /^\d+$/.test(last) && Number(last) >= low && Number(last) <= high;
  });
  return inRange;
}

function unknownId(item: string, tasks: readonly Task[], split: string): RangeError {
  const first = tasks[0]?.id ?? "";
  const last = tasks.at(-1)?.id ?? "";
  return new RangeError(
    `Cannot select task "${item}" as split "${split}" has no task with that id: its ${tasks.length} tasks run from ${first} to ${last}; check the id or choose another --split`,
  );
}
