/**
 * `deno task sandbox serve [options]`: one replica of the sandbox service, speaking
 * SandboxFusion's `/run_code` (see `sandbox/service/`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { findToolchain } from "../../sandbox/toolchains.ts";
import { isLanguage, type Language, LANGUAGES } from "../../sandbox/languages.ts";
import { serveSandbox, type ServeSandboxOptions } from "../../sandbox/service/serve.ts";
import type { IsolationMode, Limits } from "../../sandbox/types.ts";

const USAGE = `Usage: deno task sandbox serve [options]

Serves the sandbox over HTTP: SandboxFusion's POST /run_code and GET /v1/ping (verl's and
SandboxFusion's clients work unchanged), GET /v1/ready (readiness), GET /v1/info, GET /v1/stats,
and POST /v1/execute (batches, for --sandbox-url of bench). SIGTERM drains it.

  --port N              port (default 8080)
  --hostname HOST       address (default 127.0.0.1; 0.0.0.0 in a container)
  --workers N           concurrent executions (default: CPU cores)
  --max-queue N         executions admitted beyond the workers; more are refused at once with
                        HTTP 504 (default: 16 per worker)
  --languages LIST      comma-separated languages to serve (default: every one whose toolchain
                        is installed: ${Object.keys(LANGUAGES).join(", ")})
  --sandbox bwrap|none  isolation (default bwrap)
  --timeout MS  --cpu-time MS  --memory MB  --processes N  --output-bytes N
                        default limits of a run (a /run_code request sets its own time limit)
  --drain-timeout S     seconds a drain waits for the work in hand (default 120)
  --no-canary           say ready without running a hello world per language first
`;

const FLAGS = {
  port: { type: "string" },
  hostname: { type: "string" },
  workers: { type: "string" },
  "max-queue": { type: "string" },
  languages: { type: "string" },
  sandbox: { type: "string" },
  timeout: { type: "string" },
  "cpu-time": { type: "string" },
  memory: { type: "string" },
  processes: { type: "string" },
  "output-bytes": { type: "string" },
  "drain-timeout": { type: "string" },
  "no-canary": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** What `sandbox serve` was asked for; languages `null` means every installed one. */
export interface SandboxServeArgs {
  readonly options: ServeSandboxOptions;
  readonly languages: readonly Language[] | null;
}

/** Parses the arguments after `serve`; `null` for `--help`. */
export function parseServeArgs(args: readonly string[]): SandboxServeArgs | null {
  const { values } = parseArgs({ args: [...args], options: FLAGS, strict: true });
  if (values.help) return null;
  const isolation = values.sandbox ?? "bwrap";
  if (isolation !== "bwrap" && isolation !== "none") {
    throw new RangeError(
      `Cannot parse --sandbox as it must be "bwrap" or "none": current value is "${isolation}"`,
    );
  }
  const workers = integer("workers", values.workers);
  const maxQueue = integer("max-queue", values["max-queue"]);
  const drain = integer("drain-timeout", values["drain-timeout"]);
  const options: ServeSandboxOptions = {
    port: integer("port", values.port) ?? 8080,
    hostname: values.hostname ?? "127.0.0.1",
    ...(maxQueue === undefined ? {} : { maxQueue }),
    ...(drain === undefined ? {} : { drainTimeoutMs: drain * 1000 }),
    canary: !values["no-canary"],
    podName: Deno.env.get("MY_POD_NAME") ?? null,
    executor: {
      isolation: isolation as IsolationMode,
      ...(workers === undefined ? {} : { workers }),
      limits: limits(values),
    },
  };
  return {
    options,
    languages: values.languages === undefined ? null : languages(values.languages),
  };
}

function languages(text: string): Language[] {
  return text.split(",").map((name) => name.trim()).filter((name) => name !== "").map((name) => {
    if (isLanguage(name)) return name;
    throw new RangeError(
      `Cannot serve "${name}" as it is not a language of the sandbox: use one of ${
        Object.keys(LANGUAGES).join(", ")
      }`,
    );
  });
}

function limits(values: Record<string, unknown>): Partial<Limits> {
  const entries: [keyof Limits, string][] = [
    ["wallMs", "timeout"],
    ["cpuMs", "cpu-time"],
    ["memoryMb", "memory"],
    ["processes", "processes"],
    ["outputBytes", "output-bytes"],
  ];
  const result: Partial<Record<keyof Limits, number>> = {};
  for (const [key, flag] of entries) {
    const value = integer(flag, values[flag] as string | undefined);
    if (value !== undefined) result[key] = value;
  }
  return result;
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

/** Every language whose toolchain is installed here. */
async function installedLanguages(): Promise<Language[]> {
  const names = Object.keys(LANGUAGES) as Language[];
  const found = await Promise.all(names.map(findToolchain));
  return names.filter((_, index) => found[index] !== null);
}

async function serve(args: readonly string[]): Promise<number> {
  const parsed = parseServeArgs(args);
  if (parsed === null) {
    console.log(USAGE);
    return 0;
  }
  const languages = parsed.languages ?? await installedLanguages();
  const replica = serveSandbox({
    ...parsed.options,
    executor: { ...parsed.options.executor, languages },
    onListen: ({ hostname, port }) =>
      console.error(`sandbox service listening at http://${hostname}:${port}/ (starting)`),
  });
  const stop = () => {
    console.error("draining: refusing new work, finishing the work in hand");
    replica.stop();
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  try {
    await replica.ready;
    const { capacity } = replica.service.stats();
    console.error(`ready: ${languages.join(", ")}; ${capacity} executions in hand at most`);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    await replica.stop();
    return 1;
  }
  await replica.finished;
  console.error("drained and stopped");
  return 0;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "serve") return await serve(rest);
  console.log(USAGE);
  return command === undefined || command === "--help" || command === "-h" ? 0 : 2;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(2);
  }
}
