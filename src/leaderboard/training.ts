/**
 * Training runs on the leaderboard: a reader over `<reports>/training/<run>/` (`training.json`
 * and `train_log.jsonl`, as `deno task train` writes them), and Hono routes for the list of runs
 * and a run's page with its curves, its eval reports and the before/after comparison.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { existsSync } from "node:fs";
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { readJsonl } from "../util/jsonl.ts";
import type { TrainingRecord, TrainLogEntry } from "../rl/ppo/record.ts";
import { trainingListPage, trainingRunPage } from "./_training_page.ts";

/** One training run as the pages show it. */
export interface TrainingRun {
  readonly name: string;
  readonly record: TrainingRecord;
  readonly log: readonly TrainLogEntry[];
}

/** Read access to training runs. */
export interface TrainingRuns {
  list(): Promise<readonly TrainingRun[]>;
  /** Throws an HTTP 404 when the run is absent. */
  load(name: string): Promise<TrainingRun>;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._:@+=,-]{0,199}$/;

/** Training runs under `<root>/training/`. */
export function createTrainingRuns(root: string): TrainingRuns {
  const base = resolve(root, "training");
  async function load(name: string): Promise<TrainingRun> {
    const dir = join(base, name);
    if (!NAME.test(name) || !existsSync(join(dir, "training.json"))) {
      throw new HTTPException(404, { message: `Cannot find training run "${name}"` });
    }
    const record = JSON.parse(
      await Deno.readTextFile(join(dir, "training.json")),
    ) as TrainingRecord;
    const log = await readJsonl<TrainLogEntry>(join(dir, "train_log.jsonl"), {
      allowTruncatedTail: true,
    });
    return { name, record, log };
  }
  return {
    load,
    async list() {
      if (!existsSync(base)) return [];
      const names: string[] = [];
      for await (const entry of Deno.readDir(base)) {
        if (
          entry.isDirectory && NAME.test(entry.name) &&
          existsSync(join(base, entry.name, "training.json"))
        ) {
          names.push(entry.name);
        }
      }
      return await Promise.all(names.sort().map(load));
    },
  };
}

/** Adds `/training`, `/training/:run` and `/api/training/:run` to `app`. */
export function addTrainingRoutes(app: Hono, runs: TrainingRuns): void {
  app.get("/training", async (c) => c.html(trainingListPage(await runs.list())));
  app.get(
    "/training/:run",
    async (c) => c.html(trainingRunPage(await runs.load(c.req.param("run")))),
  );
  app.get("/api/training/:run", async (c) => {
    const run = await runs.load(c.req.param("run"));
    return c.json({ name: run.name, record: run.record, log: run.log });
  });
}
