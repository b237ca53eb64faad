/**
 * The per-sample path, as plain record functions that `runBenchmark` and the PPO trainer both
 * call: the prompt a model sees, raw model text to the code that runs, the program the sandbox
 * runs and its verdict, and the syntax check. A rollout's reward is computed by exactly the code
 * that scores a benchmark run; resuming from JSONL is a wrapper around these functions
 * (`generate.ts`, `judge.ts`).
 *
 * @module
 */

import { sanitize } from "./models/sanitize.ts";
import { parsesCleanly } from "./metrics/syntax_rate.ts";
import type { Benchmark } from "../benchmarks/benchmark.ts";
import type { Executor } from "../sandbox/types.ts";
import type { Execution, Task } from "./types.ts";

/** How raw model text is read (see {@linkcode sampleCode}). */
export interface SampleCodeOptions {
  /** How the backend's text reads: a continuation of the prompt or a chat answer. */
  readonly style: "completion" | "chat";
  /** Stop sequences: the raw text is cut before the first one. */
  readonly stop: readonly string[];
  /** Whether `raw` is already a whole program (gold code, a samples file's solution). */
  readonly isProgram?: boolean;
}

/** The text given to a model for `task`, few-shot examples included. */
export function samplePrompt(benchmark: Benchmark, task: Task, shots = 0): string {
  return benchmark.prompt(task, { shots });
}

/**
 * The code that runs for raw model text: whole programs verbatim, anything else sanitized with
 * the benchmark's own rules (joined to the prompt it continues where the benchmark completes
 * prompts).
 */
export function sampleCode(
  benchmark: Benchmark,
  task: Task,
  raw: string,
  options: SampleCodeOptions,
): string {
  if (options.isProgram) return raw;
  return sanitize(raw, {
    language: task.language,
    style: options.style,
    stop: options.stop,
    ...(task.entryPoint === undefined ? {} : { entryPoint: task.entryPoint }),
    ...(benchmark.completesPrompt ? { prompt: task.prompt } : {}),
  });
}

/** Runs `code` for `task` in the sandbox and returns the benchmark's verdict. */
export async function judgeSample(
  benchmark: Benchmark,
  executor: Executor,
  task: Task,
  code: string,
): Promise<Execution> {
  return benchmark.judge(task, await executor.execute(benchmark.request(task, code)));
}

/** Whether the program the sandbox runs for `code` (wrapping included) parses cleanly. */
export async function sampleParses(
  benchmark: Benchmark,
  task: Task,
  code: string,
): Promise<boolean> {
  const request = benchmark.request(task, code);
  const program = request.harness === undefined
    ? request.code
    : `${request.code}\n\n${request.harness}`;
  return await parsesCleanly(program, request.language);
}

/** What the model wrote, and the part of the reference it had to write. */
export interface WrittenPart {
  readonly reference: string;
  readonly hypothesis: string;
}

/**
 * The model's own part of `code` and the matching part of the reference: on a benchmark that
 * completes prompts, both without the shared prompt (which would otherwise dominate any
 * similarity between them); elsewhere the whole code and the whole reference.
 */
export function writtenPart(benchmark: Benchmark, task: Task, code: string): WrittenPart {
  if (!benchmark.completesPrompt) return { reference: task.reference, hypothesis: code };
  const strip = (text: string) =>
    text.startsWith(task.prompt) ? text.slice(task.prompt.length) : text;
  return { reference: strip(task.reference), hypothesis: strip(code) };
}
