/**
 * The leaderboard: a Hono app over a {@linkcode ReportStore}, rendering HTML on the server (no
 * JavaScript needed) and the same data as JSON under `/api/`.
 *
 * @example Usage
 * ```ts ignore
 * import { createApp } from "./src/leaderboard/app.ts";
 * import { createFolderStore } from "./src/report/store.ts";
 * Deno.serve(createApp(createFolderStore("reports")).fetch);
 * ```
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { html } from "hono/html";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  formatRunRef,
  InvalidRunRefError,
  type LoadedRun,
  MalformedReportError,
  parseRunRef,
  type ReportStore,
  type RunEntry,
  RunNotFoundError,
  type RunRef,
} from "../report/store.ts";
import { boardsPage } from "./_board_page.ts";
import { comparePage } from "./_compare_page.ts";
import {
  type Board,
  buildBoards,
  compareTwoRuns,
  filterTasks,
  intervals,
  paginate,
  parseTaskFilter,
  type RunComparison,
  type TaskFilter,
} from "./_data.ts";
import { page } from "./_layout.ts";
import { runPage, taskPage } from "./_run_page.ts";
import { addTrainingRoutes, type TrainingRuns } from "./training.ts";

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  /** Heading of the front page. @default "Leaderboard" */
  readonly title?: string;
  /** Runs shown per comparability group on the front page. @default 25 */
  readonly rowsPerGroup?: number;
  /** Tasks per page of a run's outcomes. @default 100 */
  readonly tasksPerPage?: number;
  /** Training runs, served under `/training` when given. */
  readonly training?: TrainingRuns;
}

/** The leaderboard app over `store`; it holds no state of its own beyond the store. */
export function createApp(store: ReportStore, options: AppOptions = {}): Hono {
  const { title = "Leaderboard", rowsPerGroup = 25, tasksPerPage = 100 } = options;
  const app = new Hono();
  app.use(secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: ["'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
      formAction: ["'self'"],
    },
  }));

  app.get("/", async (c) => {
    const listing = await store.list();
    return c.html(boardsPage(buildBoards(listing), listing.problems, { rowsPerGroup, title }));
  });
  app.get("/benchmarks/:benchmark", async (c) => {
    const { board, problems } = await findBoard(store, c.req.param("benchmark"));
    const heading = `${board.benchmark} leaderboard`;
    return c.html(boardsPage([board], problems, { rowsPerGroup: Infinity, title: heading }));
  });
  app.get("/runs/:folder/:run", async (c) => {
    const run = await store.load(refOf(c));
    const filter = taskFilter(c);
    const tasks = paginate(filterTasks(run.report.tasks, filter), pageOf(c), tasksPerPage);
    const comparable = await comparableRuns(store, run);
    return c.html(runPage({ run, intervals: intervals(run.report), comparable, filter, tasks }));
  });
  app.get("/runs/:folder/:run/task", async (c) => {
    const { run, task } = await findTask(store, c);
    return c.html(taskPage(run, task, await store.taskRecords(run.ref, task.taskId)));
  });
  app.get("/compare", async (c) => {
    const comparison = await compareFromQuery(store, c);
    return c.html(comparePage(comparison), comparison.comparable ? 200 : 409);
  });

  app.get("/api/boards", async (c) => {
    const listing = await store.list();
    return c.json({ boards: buildBoards(listing).map(boardJson), problems: listing.problems });
  });
  app.get("/api/benchmarks/:benchmark", async (c) => {
    const { board, problems } = await findBoard(store, c.req.param("benchmark"));
    return c.json({ board: boardJson(board), problems });
  });
  app.get("/api/runs/:folder/:run", async (c) => {
    const run = await store.load(refOf(c));
    const { tasks: _, ...report } = run.report;
    return c.json({
      ref: formatRunRef(run.ref),
      headline: run.headline,
      report,
      intervals: intervals(run.report),
    });
  });
  app.get("/api/runs/:folder/:run/tasks", async (c) => {
    const run = await store.load(refOf(c));
    const size = Math.min(1000, Math.max(1, Number(c.req.query("size")) || tasksPerPage));
    const tasks = paginate(filterTasks(run.report.tasks, taskFilter(c)), pageOf(c), size);
    return c.json({ ref: formatRunRef(run.ref), ...tasks });
  });
  app.get("/api/runs/:folder/:run/task", async (c) => {
    const { run, task } = await findTask(store, c);
    const records = await store.taskRecords(run.ref, task.taskId);
    return c.json({ ref: formatRunRef(run.ref), task, ...records });
  });
  app.get("/api/compare", async (c) => {
    const comparison = await compareFromQuery(store, c);
    return c.json(comparisonJson(comparison), comparison.comparable ? 200 : 409);
  });

  if (options.training) addTrainingRoutes(app, options.training);

  app.notFound((c) => errorResponse(c, 404, `Cannot find page "${c.req.path}"`));
  app.onError((error, c) => {
    const { status, message, problems } = classify(error);
    return errorResponse(c, status, message, problems);
  });
  return app;
}

// ---------------------------------------------------------------------------------------------
// Request helpers

function refOf(c: Context): RunRef {
  return { folder: c.req.param("folder") ?? "", run: c.req.param("run") ?? "" };
}

function pageOf(c: Context): number {
  return Number(c.req.query("page") ?? 1);
}

function taskFilter(c: Context): TaskFilter {
  try {
    return parseTaskFilter(c.req.query());
  } catch (error) {
    throw new HTTPException(400, { message: (error as Error).message });
  }
}

async function findBoard(store: ReportStore, benchmark: string) {
  const listing = await store.list();
  const board = buildBoards(listing).find((b) => b.benchmark === benchmark);
  if (board === undefined) {
    throw new HTTPException(404, {
      message: `Cannot find benchmark "${benchmark}": no readable report names it`,
    });
  }
  return { board, problems: listing.problems };
}

async function findTask(store: ReportStore, c: Context) {
  const id = c.req.query("id");
  if (!id) {
    throw new HTTPException(400, {
      message: `Cannot show a task without its id: add "?id=<task id>"`,
    });
  }
  const run = await store.load(refOf(c));
  const task = run.report.tasks.find((t) => t.taskId === id);
  if (task === undefined) {
    throw new HTTPException(404, {
      message: `Cannot find task "${id}" in run "${formatRunRef(run.ref)}"`,
    });
  }
  return { run, task };
}

async function comparableRuns(store: ReportStore, run: LoadedRun): Promise<RunEntry[]> {
  const listing = await store.list();
  const self = formatRunRef(run.ref);
  return listing.runs.filter((r) =>
    r.summary.comparabilityKey === run.report.comparabilityKey && formatRunRef(r.ref) !== self
  );
}

async function compareFromQuery(store: ReportStore, c: Context): Promise<RunComparison> {
  const { a, b, metric } = c.req.query();
  if (!a || !b) {
    throw new HTTPException(400, {
      message: `Cannot compare runs without both: add "?a=<folder>/<run>&b=<folder>/<run>"`,
    });
  }
  const [runA, runB] = [await store.load(parseRunRef(a)), await store.load(parseRunRef(b))];
  return compareTwoRuns(runA, runB, metric || undefined);
}

// ---------------------------------------------------------------------------------------------
// JSON shapes

function boardJson(board: Board) {
  return {
    benchmark: board.benchmark,
    groups: board.groups.map((g) => ({
      key: g.key,
      headline: g.headline,
      keyFields: g.keyFields,
      metrics: g.metrics,
      runs: g.runs.map((r, i) => ({
        rank: i + 1,
        ref: formatRunRef(r.ref),
        id: r.summary.id,
        model: r.summary.config.model,
        sampling: r.summary.config.sampling,
        shots: r.summary.config.shots,
        startedAt: r.summary.provenance.startedAt,
        taskCount: r.summary.config.taskCount,
        headline: r.summary.metrics[g.headline] ?? null,
        metrics: r.summary.metrics,
        metricsByLanguage: r.summary.metricsByLanguage,
      })),
    })),
  };
}

function comparisonJson(comparison: RunComparison) {
  const refs = { a: formatRunRef(comparison.a.ref), b: formatRunRef(comparison.b.ref) };
  if (!comparison.comparable) {
    const { reason, differences } = comparison;
    return { comparable: false, ...refs, reason, differences };
  }
  const { metric, metrics, byLanguage } = comparison;
  return { comparable: true, ...refs, metric, metrics, byLanguage };
}

// ---------------------------------------------------------------------------------------------
// Errors

interface Classified {
  readonly status: ContentfulStatusCode;
  readonly message: string;
  readonly problems?: readonly string[];
}

function classify(error: Error): Classified {
  if (error instanceof HTTPException) return { status: error.status, message: error.message };
  if (error instanceof InvalidRunRefError) return { status: 400, message: error.message };
  if (error instanceof RunNotFoundError) return { status: 404, message: error.message };
  if (error instanceof MalformedReportError) {
    return { status: 500, message: error.message, problems: error.problems };
  }
  console.error(error);
  return { status: 500, message: "The server failed to build this page: see its log" };
}

const TITLES: Readonly<Record<number, string>> = {
  400: "Bad request",
  404: "Not found",
  409: "Not comparable",
  500: "Server error",
};

function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  message: string,
  problems: readonly string[] = [],
) {
  if (c.req.path.startsWith("/api/")) {
    return c.json({ error: { status, message, ...(problems.length ? { problems } : {}) } }, status);
  }
  const heading = TITLES[status] ?? `Error ${status}`;
  return c.html(
    page(
      heading,
      html`<h1>${heading}</h1><div class="error">${message}</div>
${
        problems.length > 0
          ? html`<ul>${problems.map((p) => html`<li><code>${p}</code></li>`)}</ul>`
          : ""
      }
<p><a href="/">Back to the leaderboard</a></p>`,
    ),
    status,
  );
}
