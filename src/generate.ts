/**
 * The generation stage: asks a backend for each task's missing samples and streams every
 * generation to `generations.jsonl` as it arrives, so a killed run resumes where it stopped and
 * never pays for a generation twice.
 *
 * @module
 */

import { join } from "node:path";
import { JsonlAppender, readJsonl } from "./util/jsonl.ts";
import type { GenerationRecord, ModelBackend, Sampling } from "./models/backend.ts";
import type { Sample, Task } from "./types.ts";

/** Options of {@linkcode generateSamples}. */
export interface GenerateOptions {
  /** Run folder holding `generations.jsonl`. */
  readonly runDir: string;
  readonly sampling: Sampling;
  /** The rendered prompt of a task. */
  readonly prompt: (task: Task) => string;
  /** Turns a raw completion into the code that runs (join with the prompt, sanitize). */
  readonly toCode: (task: Task, raw: string, isProgram: boolean) => string;
  /**
   * Tasks in flight at once. @default the backend's `concurrency` (its requests in flight, so an
   * `openai:` server gets as many as `--backend concurrency=N` says), else 4
   */
  readonly concurrency?: number;
  /** Called once with the tasks already complete, then after each task's generations are stored. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** File name of the generation records in a run folder. */
export const GENERATIONS_FILE = "generations.jsonl";

/** What {@linkcode generateSamples} returns. */
export interface GenerateResult {
  /** Every sample of the tasks, in task then index order. */
  readonly samples: Sample[];
  /** Samples generated now (not taken from an earlier attempt). */
  readonly generated: number;
  /** Tokens of every stored generation of these tasks, where the backend reported them. */
  readonly tokens: { readonly prompt: number; readonly completion: number };
}

/** Generates what is missing and returns every sample of `tasks`. */
export async function generateSamples(
  tasks: readonly Task[],
  backend: ModelBackend,
  options: GenerateOptions,
): Promise<GenerateResult> {
  const path = join(options.runDir, GENERATIONS_FILE);
  const stored = await readJsonl<GenerationRecord>(path, { allowTruncatedTail: true });
  const byKey = new Map(stored.map((record) => [sampleKey(record.taskId, record.index), record]));
  const appender = await JsonlAppender.open(path);
  const before = byKey.size;
  const pending = tasks.filter((task) => missingIndices(task, options.sampling.n, byKey).length);
  let done = tasks.length - pending.length;
  options.onProgress?.(done, tasks.length);
  try {
    const concurrency = options.concurrency ?? backend.concurrency ?? 4;
    await forEachConcurrently(pending, concurrency, async (task) => {
      const missing = missingIndices(task, options.sampling.n, byKey);
      await generateTask(task, missing, backend, options, byKey, appender);
      options.onProgress?.(++done, tasks.length);
    });
  } finally {
    await appender.close();
  }
  return {
    samples: collectSamples(tasks, options.sampling.n, byKey),
    generated: byKey.size - before,
    tokens: sumTokens(byKey.values()),
  };
}

async function generateTask(
  task: Task,
  indices: number[],
  backend: ModelBackend,
  options: GenerateOptions,
  byKey: Map<string, GenerationRecord>,
  appender: JsonlAppender,
): Promise<void> {
  const request = { task, prompt: options.prompt(task), sampling: options.sampling, indices };
  for (const generation of await backend.generate(request)) {
    const record: GenerationRecord = {
      taskId: task.id,
      index: generation.index,
      prompt: request.prompt,
      raw: generation.raw,
      code: options.toCode(task, generation.raw, generation.isProgram ?? false),
      ...(generation.promptTokens === undefined ? {} : { promptTokens: generation.promptTokens }),
      ...(generation.completionTokens === undefined
        ? {}
        : { completionTokens: generation.completionTokens }),
    };
    await appender.append(record);
    byKey.set(sampleKey(task.id, generation.index), record);
  }
}

function sumTokens(records: Iterable<GenerationRecord>): GenerateResult["tokens"] {
  let prompt = 0;
  let completion = 0;
  for (const record of records) {
    prompt += record.promptTokens ?? 0;
    completion += record.completionTokens ?? 0;
  }
  return { prompt, completion };
}

function missingIndices(task: Task, n: number, byKey: Map<string, unknown>): number[] {
  return Array.from({ length: n }, (_, i) => i).filter((i) => !byKey.has(sampleKey(task.id, i)));
}

function collectSamples(
  tasks: readonly Task[],
  n: number,
  byKey: Map<string, GenerationRecord>,
): Sample[] {
  return tasks.flatMap((task) =>
    Array.from({ length: n }, (_, i) => byKey.get(sampleKey(task.id, i)))
      .filter((record) => record !== undefined)
      .map(({ taskId, index, raw, code }) => ({ taskId, index, raw, code }))
  );
}

/** Key of one sample in resume maps. */
export function sampleKey(taskId: string, index: number): string {
  return `${taskId}#${index}`;
}

/** Runs `work` on every item with at most `limit` in flight; the first error stops new work. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  async function lane(): Promise<void> {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  }
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane);
  const settled = await Promise.allSettled(lanes);
  const rejection = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (rejection) throw rejection.reason;
}
