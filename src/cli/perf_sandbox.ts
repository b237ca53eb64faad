/**
 * `deno task perf:sandbox`: runs the 974 MBPP gold programs (`code`, `test_setup_code` and the
 * asserts of `test_list`, joined by newlines) through the executor in `test` mode, then the same
 * programs the naive way (one plain `python3` process per program, no isolation), and prints the
 * time, executions per second and passes of each.
 *
 * Options: `deno task perf:sandbox --help`.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createExecutor, type IsolationMode, resolveToolchain } from "../../sandbox/mod.ts";
import {
  choice,
  type CommandSpec,
  existingPath,
  integer,
  type Parsed,
  runCommand,
} from "./_args.ts";

interface MbppRecord {
  readonly task_id: number;
  readonly code: string;
  readonly test_setup_code: string;
  readonly test_list: readonly string[];
}

interface Outcome {
  readonly seconds: number;
  readonly passed: number;
  readonly failures: readonly string[];
}

const DEFAULT_DATA = fileURLToPath(
  new URL("../../../shared/datasets/mbpp/mbpp.jsonl", import.meta.url),
);

function loadPrograms(path: string, limit: number | null): { id: number; code: string }[] {
  if (!existsSync(path)) {
    throw new Error(
      `Cannot read the MBPP programs as "${path}" does not exist: pass --data PATH to mbpp.jsonl`,
    );
  }
  const records = readFileSync(path, "utf8").split("\n").filter((l) => l.trim())
    .map((line) => JSON.parse(line) as MbppRecord);
  const programs = records.map((r) => ({
    id: r.task_id,
    code: r.code + "\n" + r.test_setup_code + "\n" + r.test_list.join("\n"),
  }));
  return limit === null ? programs : programs.slice(0, limit);
}

async function runSandbox(
  programs: readonly { id: number; code: string }[],
  isolation: IsolationMode,
  workers: number,
): Promise<Outcome & { notes: readonly string[] }> {
  const executor = await createExecutor({ isolation, workers, languages: ["python"] });
  let closed = false;
  try {
    const start = performance.now();
    const executions = await Promise.all(
      programs.map((p) => executor.execute({ language: "python", mode: "test", code: p.code })),
    );
    const seconds = (performance.now() - start) / 1000;
    const failures = executions.flatMap((e, i) =>
      e.status === "passed" ? [] : [`${programs[i]!.id}: ${e.status} ${e.stderr.slice(-200)}`]
    );
    await executor.close(); // the workers' CPU time is counted once they are reaped
    closed = true;
    return {
      seconds,
      passed: executions.length - failures.length,
      failures,
      notes: executor.notes ?? [],
    };
  } finally {
    if (!closed) await executor.close();
  }
}

async function runNaive(
  programs: readonly { id: number; code: string }[],
  python: string,
  workers: number,
): Promise<Outcome> {
  const dir = await Deno.makeTempDir({ prefix: "perf-sandbox-naive-" });
  try {
    const start = performance.now();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < programs.length) {
        const program = programs[next++]!;
        const file = `${dir}/${program.id}.py`;
        await Deno.writeTextFile(file, program.code);
        const output = await new Deno.Command(python, {
          args: [file],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        if (!output.success) failures.push(`${program.id}: exit ${output.code}`);
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    const seconds = (performance.now() - start) / 1000;
    return { seconds, passed: programs.length - failures.length, failures };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function line(label: string, count: number, outcome: Outcome): string {
  const rate = (count / outcome.seconds).toFixed(1);
  return `${label}: ${count} programs in ${outcome.seconds.toFixed(2)} s (${rate}/s), ` +
    `${outcome.passed} passed`;
}
/** The `perf:sandbox` command line. */
export const PERF_SANDBOX = {
  name: "perf:sandbox",
  summary: "Runs the 974 MBPP gold programs (code, test_setup_code and the asserts of test_list) " +
    "through the executor in test mode, then the same programs the naive way (one plain python3 " +
    "per program, no isolation), and prints the time, executions per second and passes of each.",
  options: {
    data: {
      type: "string",
      value: "PATH",
      help: "mbpp.jsonl (default ../shared/datasets/mbpp/mbpp.jsonl)",
    },
    workers: { type: "string", value: "N", help: "sandbox workers (default: CPU cores)" },
    sandbox: { type: "string", value: "MODE", help: "bwrap or none (default bwrap)" },
    limit: { type: "string", value: "N", help: "only the first N programs" },
    repeat: { type: "string", value: "N", help: "sandbox runs (default 1)" },
    "no-naive": { type: "boolean", help: "skip the naive loop" },
  },
} as const satisfies CommandSpec;

async function main({ values }: Parsed<typeof PERF_SANDBOX>): Promise<number> {
  const workers = integer("workers", values.workers, 1) ?? navigator.hardwareConcurrency;
  const isolation = choice("sandbox", values.sandbox, ["bwrap", "none"]) ?? "bwrap";
  const data = await existingPath("data", values.data, { kind: "file" }) ?? DEFAULT_DATA;
  const limit = integer("limit", values.limit, 1) ?? null;
  const repeat = integer("repeat", values.repeat, 1) ?? 1;
  const programs = loadPrograms(data, limit);
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  console.log(`${navigator.hardwareConcurrency} cores, load average ${load} at the start`);
  const label = `sandbox (${isolation}, ${workers} workers)`;
  for (let run = 0; run < repeat; run++) {
    const outcome = await runSandbox(programs, isolation, workers);
    console.log(line(label, programs.length, outcome));
    for (const note of outcome.notes) console.log(`  note: ${note}`);
    for (const failure of outcome.failures.slice(0, 10)) console.log(`  not passed: ${failure}`);
  }
  if (values["no-naive"]) return 0;
  const python = (await resolveToolchain("python")).tools.python!.path;
  const naive = await runNaive(programs, python, 2);
  console.log(
    line(`naive (${python} per program, 2 at a time, no isolation)`, programs.length, naive),
  );
  return 0;
}

if (import.meta.main) await runCommand(PERF_SANDBOX, main);
