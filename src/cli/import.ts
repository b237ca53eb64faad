/**
 * `deno task import FILE --benchmark NAME`: another harness's published verdicts (human-eval's
 * `<samples>_results.jsonl`, EvalPlus's `eval_results.json`) as a run on the leaderboard, marked
 * as imported (see `src/interop/import.ts`).
 *
 * @module
 */

import { BENCHMARKS, getBenchmark } from "../../benchmarks/mod.ts";
import { importRun } from "../interop/import.ts";
import { formatSummary } from "./_summary.ts";
import {
  choice,
  type CommandSpec,
  didYouMean,
  existingPath,
  type Parsed,
  runCommand,
  UsageError,
} from "./_args.ts";

/** The `import` command line. */
export const IMPORT = {
  name: "import",
  usage: "FILE --benchmark NAME [options]",
  summary: `Reads human-eval's <samples>_results.jsonl or EvalPlus's eval_results.json (current ` +
    `or legacy layout) and writes it as a run marked "imported", in a comparability group of its ` +
    `own.`,
  positionals: { min: 1, max: 1, label: "FILE" },
  options: {
    benchmark: {
      type: "string",
      value: "NAME",
      help: `the benchmark the verdicts are for: ${Object.keys(BENCHMARKS).join(", ")} (required)`,
    },
    split: { type: "string", value: "NAME", help: "its split (the benchmark's default otherwise)" },
    data: {
      type: "string",
      value: "PATH",
      help: "dataset file or folder; it must exist (else $PPOCODER_DATA, the cache, then a " +
        "download)",
    },
    "allow-unverified": {
      type: "boolean",
      help: "accept dataset files whose sha256 differs from the pinned one",
    },
    verdict: {
      type: "string",
      value: "base|plus",
      help: "EvalPlus: the base tests (default) or base and plus tests",
    },
    name: { type: "string", value: "NAME", help: "the model's name (default the file's name)" },
    reports: { type: "string", value: "DIR", help: "root of run folders (default reports)" },
  },
} as const satisfies CommandSpec;

async function importCommand(parsed: Parsed<typeof IMPORT>): Promise<number> {
  const { values, positionals } = parsed;
  if (values.benchmark === undefined) {
    throw new UsageError("missing option --benchmark NAME: the benchmark the verdicts are for");
  }
  if (!Object.hasOwn(BENCHMARKS, values.benchmark)) {
    throw new UsageError(
      `unknown benchmark "${values.benchmark}"${
        didYouMean(values.benchmark, Object.keys(BENCHMARKS))
      }: use one of ${Object.keys(BENCHMARKS).join(", ")}`,
    );
  }
  const file = positionals[0]!;
  await Deno.stat(file).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new UsageError(
      `FILE "${file}" does not exist: pass human-eval's <samples>_results.jsonl or EvalPlus's ` +
        `eval_results.json`,
    );
  });
  const data = await existingPath("data", values.data);
  const verdict = choice("verdict", values.verdict, ["base", "plus"]);
  const { reportPath, report } = await importRun(file, getBenchmark(values.benchmark), {
    ...(values.split === undefined ? {} : { split: values.split }),
    ...(data === undefined ? {} : { data }),
    ...(values["allow-unverified"] ? { allowUnverified: true } : {}),
    ...(verdict === undefined ? {} : { verdict }),
    ...(values.name === undefined ? {} : { name: values.name }),
    ...(values.reports === undefined ? {} : { reportsDir: values.reports }),
  });
  console.log(formatSummary(report, reportPath));
  return 0;
}

if (import.meta.main) await runCommand(IMPORT, importCommand);
