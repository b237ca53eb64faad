/**
 * `deno task sandbox serve [options]`: one replica of the sandbox service, speaking
 * SandboxFusion's `/run_code` (see `sandbox/service/`). SIGTERM and Ctrl-C drain it.
 *
 * @module
 */

import { findToolchain } from "../../sandbox/toolchains.ts";
import { isLanguage, type Language, LANGUAGES } from "../../sandbox/languages.ts";
import { serveSandbox, type ServeSandboxOptions } from "../../sandbox/service/serve.ts";
import type { Limits } from "../../sandbox/types.ts";
import {
  choice,
  type CommandSpec,
  didYouMean,
  execute,
  integer,
  list,
  type Parsed,
  UsageError,
} from "./_args.ts";

const SERVICE = "Service";
const LIMITS = "Default limits of a run (a /run_code request sets its own time limit)";

/** The `sandbox` command line. */
export const SANDBOX = {
  name: "sandbox",
  usage: "serve [options]",
  summary: "Serves the sandbox over HTTP: SandboxFusion's POST /run_code and GET /v1/ping " +
    "(verl's and SandboxFusion's clients work unchanged), GET /v1/ready (readiness), GET " +
    "/v1/info, GET /v1/stats, and POST /v1/execute (batches, for bench --sandbox-url). A full " +
    "replica answers 504 at once; SIGTERM or Ctrl-C drains it: new work is refused, the work in " +
    "hand finishes, then it exits 0.",
  positionals: { min: 1, max: 1, label: "command (serve)" },
  options: {
    port: { type: "string", value: "N", section: SERVICE, help: "port (default 8080)" },
    hostname: {
      type: "string",
      value: "HOST",
      section: SERVICE,
      help: "address (default 127.0.0.1; 0.0.0.0 in a container)",
    },
    workers: {
      type: "string",
      value: "N",
      section: SERVICE,
      help: "concurrent executions (default: CPU cores)",
    },
    "max-queue": {
      type: "string",
      value: "N",
      section: SERVICE,
      help: "executions admitted beyond the workers; more are refused at once with HTTP 504 " +
        "(default 16 per worker)",
    },
    languages: {
      type: "string",
      value: "LIST",
      section: SERVICE,
      help: `languages to serve (default: every one whose toolchain is installed: ${
        Object.keys(LANGUAGES).join(", ")
      })`,
    },
    sandbox: {
      type: "string",
      value: "MODE",
      section: SERVICE,
      help: "bwrap or none (default bwrap; none is in /v1/info and every answer)",
    },
    "drain-timeout": {
      type: "string",
      value: "S",
      section: SERVICE,
      help: "seconds a drain waits for the work in hand (default 120)",
    },
    "no-canary": {
      type: "boolean",
      section: SERVICE,
      help: "say ready without running a hello world per language first",
    },
    timeout: { type: "string", value: "MS", section: LIMITS, help: "wall-clock limit" },
    "cpu-time": { type: "string", value: "MS", section: LIMITS, help: "CPU time limit" },
    memory: { type: "string", value: "MB", section: LIMITS, help: "memory limit" },
    processes: { type: "string", value: "N", section: LIMITS, help: "process limit" },
    "output-bytes": {
      type: "string",
      value: "N",
      section: LIMITS,
      help: "stdout and stderr a program may write before it is stopped",
    },
  },
  exitCodes: { 1: "the service could not start (its error says why)" },
} as const satisfies CommandSpec;

/** What `sandbox serve` was asked for; languages `null` means every installed one. */
export interface SandboxServeArgs {
  readonly options: ServeSandboxOptions;
  readonly languages: readonly Language[] | null;
}

/** Turns a parsed command line into serve options; throws `UsageError` on a bad value. */
export function sandboxArgs({ values, positionals }: Parsed<typeof SANDBOX>): SandboxServeArgs {
  if (positionals[0] !== "serve") {
    throw new UsageError(
      `unknown command "${positionals[0]}"${didYouMean(positionals[0]!, ["serve"])}: use serve`,
    );
  }
  const port = integer("port", values.port);
  if (port !== undefined && port > 65535) {
    throw new UsageError(`option --port must be at most 65535: current value is "${port}"`);
  }
  const workers = integer("workers", values.workers, 1);
  const maxQueue = integer("max-queue", values["max-queue"]);
  const drain = integer("drain-timeout", values["drain-timeout"], 1);
  const options: ServeSandboxOptions = {
    port: port ?? 8080,
    hostname: values.hostname ?? "127.0.0.1",
    ...(maxQueue === undefined ? {} : { maxQueue }),
    ...(drain === undefined ? {} : { drainTimeoutMs: drain * 1000 }),
    canary: !values["no-canary"],
    podName: Deno.env.get("MY_POD_NAME") ?? null,
    executor: {
      isolation: choice("sandbox", values.sandbox, ["bwrap", "none"]) ?? "bwrap",
      ...(workers === undefined ? {} : { workers }),
      limits: limits(values),
    },
  };
  const names = list(values.languages);
  return { options, languages: names === undefined ? null : names.map(language) };
}

function language(name: string): Language {
  if (isLanguage(name)) return name;
  const known = Object.keys(LANGUAGES);
  throw new UsageError(
    `option --languages names "${name}", which the sandbox does not run${
      didYouMean(name, known)
    }: use ${known.join(", ")}`,
  );
}

function limits(values: Parsed<typeof SANDBOX>["values"]): Partial<Limits> {
  const flags: [keyof Limits, string | undefined, string][] = [
    ["wallMs", values.timeout, "timeout"],
    ["cpuMs", values["cpu-time"], "cpu-time"],
    ["memoryMb", values.memory, "memory"],
    ["processes", values.processes, "processes"],
    ["outputBytes", values["output-bytes"], "output-bytes"],
  ];
  const result: Partial<Record<keyof Limits, number>> = {};
  for (const [key, text, flag] of flags) {
    const value = integer(flag, text, 1);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

/** Every language whose toolchain is installed here. */
async function installedLanguages(): Promise<Language[]> {
  const names = Object.keys(LANGUAGES) as Language[];
  const found = await Promise.all(names.map(findToolchain));
  return names.filter((_, index) => found[index] !== null);
}

async function serve(parsed: Parsed<typeof SANDBOX>): Promise<number> {
  const args = sandboxArgs(parsed);
  const languages = args.languages ?? await installedLanguages();
  const replica = serveSandbox({
    ...args.options,
    executor: { ...args.options.executor, languages },
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
  } catch (error) {
    await replica.stop();
    throw error;
  }
  const { capacity } = replica.service.stats();
  console.error(`ready: ${languages.join(", ")}; ${capacity} executions in hand at most`);
  await replica.finished;
  console.error("drained and stopped");
  return 0;
}

// Not runCommand: its Ctrl-C exits at once, and a replica must drain instead.
if (import.meta.main) Deno.exit(await execute(SANDBOX, serve, Deno.args));
