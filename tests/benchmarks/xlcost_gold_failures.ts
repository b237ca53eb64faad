/**
 * Classifies the gold translations of an XLCoST run that do not compile, by cause, from the
 * compiler's first error and the reference around it (README, "XLCoST gold failures"):
 *
 *   deno run -A tests/benchmarks/xlcost_gold_failures.ts reports/xlcost/<run> --data ../shared/datasets/xlcost
 *
 * The causes are checked in order; each rule was read off the failing programs themselves.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { xlcost } from "../../benchmarks/xlcost.ts";
import type { Report } from "../../src/report/schema.ts";
import type { SampleResult } from "../../src/types.ts";

/** One cause: its name and whether a failure (first error, text around it) has it. */
interface Cause {
  readonly name: string;
  readonly test: (error: string, context: string) => boolean;
}

/** The causes, in the order they are checked. */
export const CAUSES: readonly Cause[] = [
  {
    name: "header not installed (`<boost/...>`)",
    test: (error) => /No such file or directory/.test(error),
  },
  {
    name: 'glued tokens or a mangled string literal (`elsecout`, `intmain`, `"-1";return;}`)',
    test: (error, context) =>
      /\S;\S/.test(context) || /\\u2581/.test(error) ||
      /‘(?:else|int|return|string|String)[A-Za-z_]\w*’|package elseSystem/.test(error) ||
      /expected ‘;’ before/.test(error),
  },
  {
    name: "character literal lost its content (`' '` for `'\\n'`)",
    test: (error) => /empty character constant/.test(error),
  },
  {
    name: "`|` or `||` dropped from the data (`if ( a < 0 b < 0 )`)",
    test: (error) => /expected ‘\)’ before|'\)' expected|-> expected|'\]' expected/.test(error),
  },
  {
    name: "operator split in two (`> =`)",
    test: (_error, context) => /[<>=!] =/.test(context),
  },
  {
    name: "C++17's `std::size` against a global `size` under `using namespace std`",
    test: (error) => /reference to ‘size’ is ambiguous/.test(error),
  },
  {
    name: "Java array syntax in C++ (`int edges [ ] [ ]`)",
    test: (error) => /multidimensional array must have bounds/.test(error),
  },
  {
    name: "code missing from the data (a declaration, `#define`, class, return or brace)",
    test: (error) =>
      /was not declared|cannot find symbol|missing return|reached end of file|class, interface|modifier static not allowed|';' expected/
        .test(error),
  },
];

/** The first error line of a compiler's output and the source around where it points. */
export function firstError(stderr: string, reference: string): { error: string; context: string } {
  const lines = stderr.split("\n");
  const at = lines.findIndex((line) => /\berror\b/.test(line));
  // The compile service keeps 4 KiB of output: long warnings can push the error out of it.
  if (at < 0) return { error: stderr.slice(0, 200), context: reference };
  const error = lines[at]!;
  const gcc = /:(\d+):(\d+): (?:fatal )?error/.exec(error);
  if (gcc !== null) {
    const text = reference.split("\n")[Number(gcc[1]) - 1] ?? "";
    const col = Number(gcc[2]);
    return { error, context: text.slice(Math.max(0, col - 60), col + 25) };
  }
  const caret = lines[at + 2]?.indexOf("^") ?? -1;
  const source = lines[at + 1] ?? "";
  return { error, context: caret < 0 ? source : source.slice(Math.max(0, caret - 60), caret + 25) };
}

/** The cause of one failure, or "other". */
export function classify(stderr: string, reference: string): string {
  const { error, context } = firstError(stderr, reference);
  return CAUSES.find((cause) => cause.test(error, context))?.name ?? "other";
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { data: { type: "string" } },
    allowPositionals: true,
  });
  const runDir = positionals[0];
  if (runDir === undefined) {
    throw new TypeError("Cannot classify as a run folder is needed: pass reports/xlcost/<run>");
  }
  const report = JSON.parse(await Deno.readTextFile(join(runDir, "report.json"))) as Report;
  const loaded = await xlcost.load({
    split: report.config.split,
    ...(values.data === undefined ? {} : { data: values.data }),
  });
  const tasks = new Map(loaded.tasks.map((task) => [task.id, task]));
  const text = await Deno.readTextFile(join(runDir, "executions.jsonl"));
  const byCause = new Map<string, string[]>();
  for (const line of text.trim().split("\n")) {
    const result = JSON.parse(line) as SampleResult;
    if (result.execution.status === "passed") continue;
    const cause = classify(result.execution.stderr, tasks.get(result.taskId)?.reference ?? "");
    const number = result.taskId.split("/").at(-1)!;
    byCause.set(cause, [...(byCause.get(cause) ?? []), number]);
  }
  console.log(`| cause | ${report.config.split} | lines |\n|---|---|---|`);
  for (const [cause, numbers] of [...byCause].sort((a, b) => b[1].length - a[1].length)) {
    console.log(`| ${cause} | ${numbers.length} | ${numbers.join(", ")} |`);
  }
}

if (import.meta.main) await main(Deno.args);
