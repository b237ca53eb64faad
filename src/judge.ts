/**
 * The judging stage: runs every sample's program in the sandbox and streams each result to
 * `executions.jsonl`, so a killed run resumes without re-running finished executions.
 *
 * @module
 */

import { join } from "node:path";
import { JsonlAppender, readJsonl } from "./util/jsonl.ts";
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
  /** Called after each stored result. */
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
  const stored = await readJsonl<SampleResult>(path, { allowTruncatedTail: true });
  // A stored sandbox_error was the sandbox's fault, not the sample's: judged again on resume.
  const byKey = new Map(
    stored.filter((r) => r.execution.status !== "sandbox_error").map((r) => [
      sampleKey(r.taskId, r.index),
      r,
    ]),
  );
  const pending = samples.filter((s) => !byKey.has(sampleKey(s.taskId, s.index)));
  const appender = await JsonlAppender.open(path);
  const started = performance.now();
  let done = samples.length - pending.length;
  try {
    await forEachConcurrently(pending, executor.workers * 2, async (sample) => {
      const task = tasks.get(sample.taskId)!;
      const execution = await judgeSample(benchmark, executor, task, sample.code);
      const result: SampleResult = { taskId: sample.taskId, index: sample.index, execution };
      await appender.append(result);
      byKey.set(sampleKey(sample.taskId, sample.index), result);
      options.onProgress?.(++done, samples.length);
    });
  } finally {
    appender.close();
  }
  const results = samples.map((s) => byKey.get(sampleKey(s.taskId, s.index))!);
  return { results, executed: pending.length, seconds: (performance.now() - started) / 1000 };
}
