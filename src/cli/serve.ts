/**
 * `deno task serve [--reports DIR] [--port N] [--hostname H]`: serves the leaderboard over a
 * reports folder.
 *
 * @module
 */

import { createApp } from "../leaderboard/app.ts";
import { createTrainingRuns } from "../leaderboard/training.ts";
import { createFolderStore } from "../report/store.ts";
import {
  type CommandSpec,
  existingPath,
  integer,
  type Parsed,
  runCommand,
  UsageError,
} from "./_args.ts";

/** The `serve` command line. */
export const SERVE = {
  name: "serve",
  summary: "Serves the leaderboard over DIR/<benchmark>/<run>/report.json: server-rendered " +
    "pages that work without JavaScript, and the same data as JSON under /api/.",
  options: {
    reports: {
      type: "string",
      value: "DIR",
      help: "folder of reports; it must exist (default reports)",
    },
    port: {
      type: "string",
      value: "N",
      help: "port to listen on, 0 for any free one (default 8000)",
    },
    hostname: {
      type: "string",
      value: "HOST",
      help: "address to listen on (default 127.0.0.1)",
    },
  },
  exitCodes: { 1: "the server could not start (the port is in use, or not allowed)" },
  interrupted: "stopped",
} as const satisfies CommandSpec;

/** Parsed command line of `serve`. */
export interface ServeOptions {
  readonly reports: string;
  readonly port: number;
  readonly hostname: string;
}

/** Turns a parsed command line into options; throws `UsageError` on a bad value. */
export async function serveOptions({ values }: Parsed<typeof SERVE>): Promise<ServeOptions> {
  const port = integer("port", values.port) ?? 8000;
  if (port > 65535) {
    throw new UsageError(
      `option --port must be a whole number from 0 to 65535: current value is "${values.port}"`,
    );
  }
  const reports = values.reports ?? "reports";
  await existingPath("reports", reports, {
    kind: "folder",
    hint: "run deno task bench first, or pass --reports DIR with the folder it wrote",
  });
  return { reports, port, hostname: values.hostname ?? "127.0.0.1" };
}

async function serve(parsed: Parsed<typeof SERVE>): Promise<number> {
  const options = await serveOptions(parsed);
  const app = createApp(createFolderStore(options.reports), {
    training: createTrainingRuns(options.reports),
  });
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      port: options.port,
      hostname: options.hostname,
      onListen: ({ hostname, port }) =>
        console.log(`Serving reports from "${options.reports}" at http://${hostname}:${port}/`),
    }, app.fetch);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `Cannot listen on ${options.hostname}:${options.port} as the address is in use: stop ` +
          `the server that holds it, or pass --port N (--port 0 picks a free port)`,
      );
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      throw new Error(
        `Cannot listen on ${options.hostname}:${options.port} as this machine has no such ` +
          `address: pass --hostname 127.0.0.1, or 0.0.0.0 for every address`,
      );
    }
    throw error;
  }
  await server.finished;
  return 0;
}

if (import.meta.main) await runCommand(SERVE, serve);
