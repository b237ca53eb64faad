/**
 * `deno task bench <benchmark> [options]`: evaluate a model on a benchmark and write a report.
 * Rerunning the same command resumes a killed or interrupted run; a second run of the same
 * command while the first is alive is refused (the run folder is locked).
 *
 * @module
 */

import { BENCHMARKS, getBenchmark } from "../../benchmarks/mod.ts";
import { runBenchmark, type RunOptions, type RunStart } from "../run.ts";
import { ProgressBar } from "./_progress.ts";
import { formatSummary } from "./_summary.ts";
import { MODEL_BACKENDS } from "../models/registry.ts";
import {
  choice,
  type CommandSpec,
  didYouMean,
  existingPath,
  integer,
  list,
  number,
  onInterrupt,
  pairs,
  type Parsed,
  runCommand,
  UsageError,
  type Values,
} from "./_args.ts";
import { join } from "node:path";
import { parseLimitsPreset } from "../limits_presets.ts";
import { BIGCODE_RESULTS, EVALPLUS_RESULTS, HUMAN_EVAL_RESULTS } from "../interop/export.ts";
import type { Sampling } from "../models/backend.ts";
import type { Limits } from "../../sandbox/types.ts";

const MODEL = "Model and data";
const SAMPLING = "Sampling";
const SANDBOX = "Sandbox";
const OUTPUT = "Output";

/** The `bench` command line. */
export const BENCH = {
  name: "bench",
  usage: "<benchmark> [options]",
  summary: `Evaluates a model on a benchmark: generates samples, runs them in the sandbox, and ` +
    `writes a report to <reports>/<benchmark>/<model>-<hash>/. Rerun the same command to resume ` +
    `a killed run. Benchmarks: ${Object.keys(BENCHMARKS).join(", ")}.`,
  positionals: { min: 1, max: 1, label: "benchmark" },
  options: {
    model: {
      type: "string",
      value: "SPEC",
      section: MODEL,
      help: `the model (default reference): ${
        Object.values(MODEL_BACKENDS).map((b) => b.usage).join("; ")
      }`,
    },
    backend: {
      type: "string",
      multiple: true,
      value: "KEY=VALUE",
      section: MODEL,
      help: "an option of the model's backend, e.g. api=chat, base-url=http://127.0.0.1:8000/v1, " +
        "concurrency=64 (openai: and onnx: only; an unknown key lists the known ones)",
    },
    split: { type: "string", value: "NAME", section: MODEL, help: "dataset split" },
    limit: { type: "string", value: "N", section: MODEL, help: "only the first N tasks" },
    tasks: {
      type: "string",
      value: "SPEC",
      section: MODEL,
      help: "tasks by id: 11,12 or 11-20 (ranges of numeric ids), @FILE (ids one per line), or " +
        "samples (the tasks the samples file covers); an id no task has is an error",
    },
    sanitize: {
      type: "string",
      value: "on|off",
      section: MODEL,
      help: "sanitize raw model text (cut at stops, extract code and the definitions the entry " +
        "point needs) or run it verbatim after the prompt, as human-eval does (default off for " +
        "samples: and reference, on for models)",
    },
    name: {
      type: "string",
      value: "NAME",
      section: MODEL,
      help: "a name for the model in reports and the run folder (default its id)",
    },
    filter: {
      type: "string",
      multiple: true,
      value: "KEY=VALUE",
      section: MODEL,
      help: "keep tasks whose meta field matches, e.g. difficulty=introductory",
    },
    data: {
      type: "string",
      value: "PATH",
      section: MODEL,
      help: "dataset file or folder; it must exist (without it: $PPOCODER_DATA, the cache, " +
        "then a download)",
    },
    "allow-unverified": {
      type: "boolean",
      section: MODEL,
      help: "accept dataset files whose sha256 differs from the pinned one",
    },
    shots: {
      type: "string",
      value: "N",
      section: MODEL,
      help: "few-shot examples in the prompt (default 0)",
    },
    n: { type: "string", value: "N", section: SAMPLING, help: "samples per task (default 1)" },
    k: {
      type: "string",
      value: "LIST",
      section: SAMPLING,
      help: "k values of pass@k (default 1,10,100; those above n are not estimated)",
    },
    temperature: { type: "string", value: "T", section: SAMPLING, help: "default 0 (greedy)" },
    "top-p": { type: "string", value: "P", section: SAMPLING, help: "default 1" },
    "top-k": { type: "string", value: "K", section: SAMPLING, help: "default 0 (no cut)" },
    "max-tokens": { type: "string", value: "N", section: SAMPLING, help: "default 512" },
    stop: {
      type: "string",
      multiple: true,
      value: "TEXT",
      section: SAMPLING,
      help: "stop sequence (default: the benchmark's)",
    },
    seed: { type: "string", value: "S", section: SAMPLING, help: "default 0" },
    sandbox: {
      type: "string",
      value: "MODE",
      section: SANDBOX,
      help: "bwrap or none (default bwrap; none is written into the report)",
    },
    workers: {
      type: "string",
      value: "N",
      section: SANDBOX,
      help: "concurrent executions (default: CPU cores)",
    },
    timeout: {
      type: "string",
      value: "MS",
      section: SANDBOX,
      help: "wall-clock limit of a program (the model server's is --backend timeout=MS)",
    },
    "cpu-time": { type: "string", value: "MS", section: SANDBOX, help: "CPU time limit" },
    memory: { type: "string", value: "MB", section: SANDBOX, help: "memory limit" },
    processes: { type: "string", value: "N", section: SANDBOX, help: "process limit" },
    "output-bytes": {
      type: "string",
      value: "N",
      section: SANDBOX,
      help: "stdout and stderr a program may write before it is stopped",
    },
    "sandbox-url": {
      type: "string",
      value: "URL[,URL...]",
      section: SANDBOX,
      help: "judge through sandbox service replicas (deno task sandbox serve), or a proxy in " +
        "front of them (then set --workers to their total)",
    },
    shard: {
      type: "string",
      value: "I/N",
      section: SANDBOX,
      help: "run only tasks I, I+N, I+2N, ... of the selection (0-based); deno task merge " +
        "joins the shards' runs into the single run's report",
    },
    reports: {
      type: "string",
      value: "DIR",
      section: OUTPUT,
      help: "root of run folders (default reports)",
    },
    fresh: { type: "boolean", section: OUTPUT, help: "start the run over instead of resuming it" },
    limits: {
      type: "string",
      value: "PRESET",
      section: SANDBOX,
      help: "ppocoder (10 s), human-eval (3 s per program; HumanEval's default) or evalplus " +
        "(max(4 s, 4 x the gold time) per task, gold timed once per machine); --timeout and the " +
        "other limits override it",
    },
    "stored-output-bytes": {
      type: "string",
      value: "N",
      section: OUTPUT,
      help: "program output kept per sample in executions.jsonl, head and tail with the byte " +
        "counts (default 32768)",
    },
    json: {
      type: "boolean",
      section: OUTPUT,
      help: "print the report path and metrics as JSON instead of a table",
    },
  },
  exitCodes: {
    1: "the run failed, or its folder is in use by another run of the same command",
  },
  interrupted: "interrupted: rerun the same command to resume",
} as const satisfies CommandSpec;

type BenchValues = Values<typeof BENCH>;

const DATA_HINT = "pass the dataset file or the folder that holds it, or leave --data out to " +
  "use $PPOCODER_DATA, the cache or a download";

/** A parsed `bench` command line. */
export interface BenchArgs {
  readonly benchmark: string;
  readonly options: RunOptions;
  readonly json: boolean;
}

/** Turns a parsed command line into run options; throws `UsageError` on a bad value. */
export async function benchArgs({ values, positionals }: Parsed<typeof BENCH>): Promise<BenchArgs> {
  const benchmark = positionals[0]!;
  if (!Object.hasOwn(BENCHMARKS, benchmark)) {
    throw new UsageError(
      `unknown benchmark "${benchmark}"${didYouMean(benchmark, Object.keys(BENCHMARKS))}: ` +
        `use one of ${Object.keys(BENCHMARKS).join(", ")}`,
    );
  }
  const options: RunOptions = {
    model: values.model ?? "reference",
    ...optional("split", values.split),
    ...optional("limit", integer("limit", values.limit, 1)),
    ...optional("filter", pairs("filter", values.filter)),
    ...optional("data", await existingPath("data", values.data, { hint: DATA_HINT })),
    ...(values["allow-unverified"] ? { allowUnverified: true } : {}),
    ...optional("shots", integer("shots", values.shots)),
    ...optional("backendOptions", pairs("backend", values.backend)),
    sampling: sampling(values),
    ...optional("k", list(values.k)?.map((k) => integer("k", k, 1)!)),
    ...optional("isolation", choice("sandbox", values.sandbox, ["bwrap", "none"])),
    ...optional("workers", integer("workers", values.workers, 1)),
    limits: limits(values),
    ...optional("sandboxUrls", list(values["sandbox-url"])),
    ...optional("shard", shard(values.shard)),
    ...optional("reportsDir", values.reports),
    ...(values.fresh ? { fresh: true } : {}),
    ...optional("storedOutputBytes", integer("stored-output-bytes", values["stored-output-bytes"])),
    ...optional("tasks", values.tasks),
    ...optional("sanitize", onOff(choice("sanitize", values.sanitize, ["on", "off"]))),
    ...optional("name", values.name),
    ...optional(
      "limitsPreset",
      values.limits === undefined ? undefined : parseLimitsPreset(values.limits),
    ),
  };
  return { benchmark, options, json: values.json ?? false };
}

function sampling(values: BenchValues): Partial<Sampling> {
  return {
    ...optional("n", integer("n", values.n, 1)),
    ...optional("temperature", number("temperature", values.temperature, { min: 0 })),
    ...optional("topP", number("top-p", values["top-p"], { min: 0, max: 1 })),
    ...optional("topK", integer("top-k", values["top-k"])),
    ...optional("maxTokens", integer("max-tokens", values["max-tokens"], 1)),
    ...optional("stop", values.stop),
    ...optional("seed", integer("seed", values.seed)),
  };
}

function limits(values: BenchValues): Partial<Limits> {
  return {
    ...optional("wallMs", integer("timeout", values.timeout, 1)),
    ...optional("cpuMs", integer("cpu-time", values["cpu-time"], 1)),
    ...optional("memoryMb", integer("memory", values.memory, 1)),
    ...optional("processes", integer("processes", values.processes, 1)),
    ...optional("outputBytes", integer("output-bytes", values["output-bytes"], 1)),
  };
}

/** `--shard I/N`: tasks I, I+N, ... of the selection, 0 <= I < N. */
export function shard(text: string | undefined): RunOptions["shard"] {
  if (text === undefined) return undefined;
  const parts = text.split("/");
  const [index, count] = parts.map((part) => part.trim() === "" ? NaN : Number(part));
  const valid = parts.length === 2 && Number.isInteger(index) && Number.isInteger(count);
  if (!valid || index! < 0 || index! >= count!) {
    throw new UsageError(
      `--shard must be I/N with 0 <= I < N, e.g. 0/4: current value is "${text}"`,
    );
  }
  return { index: index!, count: count! };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The line a run starts with: its folder, its size, and how much is resumed. */
export function startLine(start: RunStart): string {
  const { runDir, tasks, samplesPerTask, stored } = start;
  const samples = tasks * samplesPerTask;
  const size = `${tasks} task${tasks === 1 ? "" : "s"} × ${samplesPerTask} sample` +
    (samplesPerTask === 1 ? "" : "s");
  const resumed = stored.generations === 0 && stored.executions === 0
    ? "a new run"
    : `resuming: ${Math.min(stored.generations, samples)} of ${samples} generations and ` +
      `${Math.min(stored.executions, samples)} executions stored by an earlier attempt`;
  return `run folder ${runDir}: ${size}; ${resumed}`;
}

async function bench(parsed: Parsed<typeof BENCH>): Promise<number> {
  const { benchmark, options, json } = await benchArgs(parsed);
  const bars = { generate: new ProgressBar("generate"), judge: new ProgressBar("judge") };
  onInterrupt(() => {
    bars.generate.finish();
    bars.judge.finish();
  });
  const result = await runBenchmark(getBenchmark(benchmark), {
    ...options,
    log: (message) => console.error(message),
    onStart: (start) => console.error(startLine(start)),
    onProgress: (stage, done, total) => {
      if (stage === "judge") bars.generate.finish();
      bars[stage].update(done, total);
    },
  });
  bars.generate.finish();
  bars.judge.finish();
  if (json) {
    const file = (name: string) => join(result.runDir, name);
    console.log(JSON.stringify({
      report: result.reportPath,
      files: {
        generations: file("generations.jsonl"),
        executions: file("executions.jsonl"),
        humanEvalResults: file(HUMAN_EVAL_RESULTS),
        evalplusResults: file(EVALPLUS_RESULTS),
        bigcodeResults: file(BIGCODE_RESULTS),
      },
      metrics: result.report.metrics,
    }));
  } else {
    console.log(formatSummary(result.report, result.reportPath));
  }
  return 0;
}

if (import.meta.main) await runCommand(BENCH, bench);

function onOff(text: "on" | "off" | undefined): boolean | undefined {
  return text === undefined ? undefined : text === "on";
}
