/**
 * The judging stage: runs every sample's program in the sandbox and streams each result to
 * `executions.jsonl`, so a killed run resumes without re-running finished executions. What is
 * stored of a program's output is cut to a per-sample budget (head and tail, with the byte
 * counts), apart from the output limit the program runs under: the verdict sees all of it.
 *
 * @module
 */

import { join } from "node:path";
import { iterateJsonl, JsonlAppender } from "./util/jsonl.ts";
import { clipExecution, DEFAULT_STORED_OUTPUT_BYTES } from "./util/clip_output.ts";
import { forEachConcurrently, sampleKey } from "./generate.ts";
import { judgeSample } from "./sample_path.ts";
import type { Benchmark } from "../benchmarks/benchmark.ts";
import type { Executor } from "../sandbox/types.ts";
import type { Sample, SampleResult, Task } from "./types.ts";

/** File name of the execution records in a run folder. */
export const EXECUTIONS_FILE = "executions.jsonl";

/** Options of {@linkcode judgeSamples}. */
export interface JudgeOptions {
  readonly runDir: string;
  /** Bytes of program output stored per sample. @default 32768 */
  readonly storedOutputBytes?: number;
  /** Called once with the results already stored, then after each stored result. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@linkcode judgeSamples} returns. */
export interface JudgeResult {
  readonly results: SampleResult[];
  /** Executions run now (not taken from a previous attempt) and the seconds they took. */
  readonly executed: number;
  readonly seconds: number;
}

/** Judges the samples that have no stored result yet; returns all results in sample order. */
export async function judgeSamples(
  samples: readonly Sample[],
  tasks: ReadonlyMap<string, Task>,
  benchmark: Benchmark,
  executor: Executor,
  options: JudgeOptions,
): Promise<JudgeResult> {
  const path = join(options.runDir, EXECUTIONS_FILE);
  const budget = options.storedOutputBytes ?? DEFAULT_STORED_OUTPUT_BYTES;
  const byKey = await readStored(path, budget);
  const pending = samples.filter((s) => !byKey.has(sampleKey(s.taskId, s.index)));
  const appender = await JsonlAppender.open(path);
  const started = performance.now();
  let done = samples.length - pending.length;
  options.onProgress?.(done, samples.length);
  try {
    await forEachConcurrently(pending, executor.workers * 2, async (sample) => {
      const task = tasks.get(sample.taskId)!;
      const execution = clipExecution(
        await judgeSample(benchmark, executor, task, sample.code),
        budget,
      );
      const result: SampleResult = { taskId: sample.taskId, index: sample.index, execution };
      await appender.append(result);
      byKey.set(sampleKey(sample.taskId, sample.index), result);
      options.onProgress?.(++done, samples.length);
    });
  } finally {
    await appender.close();
  }
  const results = samples.map((s) => byKey.get(sampleKey(s.taskId, s.index))!);
  return { results, executed: pending.length, seconds: (performance.now() - started) / 1000 };
}

/**
 * Results an earlier attempt stored, by sample key, read as a stream and cut to the budget. A
 * stored sandbox_error was the sandbox's fault, not the sample's: it is left out, so judged again.
 */
async function readStored(path: string, budget: number): Promise<Map<string, SampleResult>> {
  const byKey = new Map<string, SampleResult>();
  for await (const { value } of iterateJsonl<SampleResult>(path, { allowTruncatedTail: true })) {
    if (value.execution.status === "sandbox_error") continue;
    const execution = clipExecution(value.execution, budget);
    byKey.set(sampleKey(value.taskId, value.index), { ...value, execution });
  }
  return byKey;
}
