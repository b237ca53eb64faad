/**
 * `deno task serve [--reports DIR] [--port N] [--hostname H]`: serves the leaderboard over a
 * reports folder.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createApp } from "../leaderboard/app.ts";
import { createTrainingRuns } from "../leaderboard/training.ts";
import { createFolderStore } from "../report/store.ts";

const USAGE = `Usage: deno task serve [--reports DIR] [--port N] [--hostname HOST]

Serves the leaderboard over DIR/<benchmark>/<run>/report.json.

  --reports DIR     folder of reports (default: reports)
  --port N          port to listen on (default: 8000)
  --hostname HOST   address to listen on (default: 127.0.0.1)
  --help            show this text`;

/** Parsed command line of `serve`. */
export interface ServeOptions {
  readonly reports: string;
  readonly port: number;
  readonly hostname: string;
}

/** Parses `serve`'s arguments; throws `TypeError` or `RangeError` on bad input. */
export function parseServeArgs(args: readonly string[]): ServeOptions | "help" {
  const { values } = parseArgs({
    args: [...args],
    options: {
      reports: { type: "string", default: "reports" },
      port: { type: "string", default: "8000" },
      hostname: { type: "string", default: "127.0.0.1" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot listen on port "${values.port}": it must be an integer from 0 to 65535`,
    );
  }
  return { reports: values.reports, port, hostname: values.hostname };
}

async function main(args: readonly string[]): Promise<number> {
  let options: ServeOptions | "help";
  try {
    options = parseServeArgs(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const app = createApp(createFolderStore(options.reports), {
    training: createTrainingRuns(options.reports),
  });
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    onListen: ({ hostname, port }) =>
      console.log(`Serving reports from "${options.reports}" at http://${hostname}:${port}/`),
  }, app.fetch);
  await server.finished;
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
