/**
 * `deno task bench <benchmark> [options]`: evaluate a model on a benchmark and write a report.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BENCHMARKS, getBenchmark } from "../../benchmarks/mod.ts";
import { runBenchmark } from "../run.ts";
import { ProgressBar } from "./_progress.ts";
import { formatSummary } from "./_summary.ts";
import { MODEL_BACKENDS } from "../models/registry.ts";
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
  --filter KEY=VALUE    keep tasks whose meta field matches (repeatable), e.g. difficulty=introductory
  --data PATH           dataset file or folder (else $PPOCODER_DATA, the cache, then a download)
  --allow-unverified    accept dataset files whose sha256 differs from the pinned one
  --shots N             few-shot examples in the prompt (default 0)
  --backend KEY=VALUE   backend option (repeatable), e.g. api=chat, base-url=http://127.0.0.1:8000/v1
Sampling:
  --n N  --temperature T  --top-p P  --top-k K  --max-tokens N  --stop TEXT (repeatable)  --seed S
  --k LIST              k values of pass@k (default 1,10,100; those above n are left out)
Sandbox:
  --sandbox bwrap|none  isolation (default bwrap; none is recorded in the report)
  --workers N           concurrent executions (default: CPU cores)
  --timeout MS  --cpu-time MS  --memory MB  --processes N  --output-bytes N
  --sandbox-url URL[,URL...]  judge through sandbox service replicas (deno task sandbox serve)
  --shard I/N           run only tasks I, I+N, I+2N, ... (0-based; merge with deno task merge)
Output:
  --reports DIR         root of run folders (default reports)
  --fresh               start the run over instead of resuming it
  --json                print the report path and metrics as JSON instead of a table
`;

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
  "sandbox-url": { type: "string" },
  shard: { type: "string" },
  reports: { type: "string" },
  fresh: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
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
    ...optional("sandboxUrls", values["sandbox-url"]?.split(",").filter((url) => url.trim())),
    ...optional("shard", parseShard(values.shard)),
    ...optional("reportsDir", values.reports),
    ...(values.fresh ? { fresh: true } : {}),
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

/** `--shard I/N`: tasks I, I+N, ... of the selection, 0 <= I < N. */
export function parseShard(text: string | undefined): RunOptions["shard"] {
  if (text === undefined) return undefined;
  const parts = text.split("/");
  const [index, count] = parts.map((part) => part.trim() === "" ? NaN : Number(part));
  const valid = parts.length === 2 && Number.isInteger(index) && Number.isInteger(count);
  if (!valid || index! < 0 || index! >= count!) {
    throw new RangeError(
      `Cannot parse --shard as it must be I/N with 0 <= I < N: current value is "${text}"`,
    );
  }
  return { index: index!, count: count! };
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
    console.log(JSON.stringify({ report: result.reportPath, metrics: result.report.metrics }));
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
