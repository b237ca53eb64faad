/**
 * One bad run among good ones: each is one listed problem or a 4xx page of its own, never a stall
 * and never an error for the other runs. Each case is one that was reproduced in issue 14.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/leaderboard/app.ts";
import { createFolderStore } from "../../src/report/store.ts";
import { copyFixtures, readFixture, RUNS, writeReport } from "./report_fixtures.ts";

/** Fails instead of hanging: the old store waited forever on a FIFO. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function mkfifo(path: string): Promise<void> {
  const { success } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(success, `mkfifo ${path}`);
}

Deno.test("the leaderboard with one bad run among good ones", async (t) => {
  const dir = await copyFixtures();
  const app = createApp(createFolderStore(dir));
  const request = (path: string) => within(10_000, Promise.resolve(app.request(path)));
  const tiny = await readFixture(RUNS.tiny);
  const good = `/runs/${RUNS.tiny.folder}/${RUNS.tiny.run}`;
  try {
    await t.step("an 80 MB line in executions.jsonl: the task page answers at once", async () => {
      const ref = { folder: "mbpp", run: "long-line" };
      await writeReport(dir, ref, { ...tiny, id: ref.run });
      const path = join(dir, "mbpp", ref.run, "executions.jsonl");
      const flood = "x".repeat(80 * 1024 * 1024);
      const record = (task: string, stdout: string) =>
        JSON.stringify({
          taskId: task,
          index: 0,
          execution: { status: "failed", compiled: true, stdout, stderr: "" },
        });
      await Deno.writeTextFile(path, `${record("mbpp/11", flood)}\n${record("mbpp/12", "ok")}\n`);
      await Deno.copyFile(
        join(dir, RUNS.tiny.folder, RUNS.tiny.run, "generations.jsonl"),
        join(dir, "mbpp", ref.run, "generations.jsonl"),
      );
      for (const task of ["mbpp%2F11", "mbpp%2F12"]) {
        const started = performance.now();
        const response = await request(`/runs/mbpp/${ref.run}/task?id=${task}`);
        const page = await response.text();
        // Before: 69 s for every task page of the run (the reader joined text quadratically).
        assert.ok(performance.now() - started < 5000, `${performance.now() - started} ms`);
        assert.equal(response.status, 200);
        if (task === "mbpp%2F11") {
          assert.match(
            page,
            /Cannot show executions\.jsonl line 1: it is 83886\d+ bytes, more than the 16777216 the leaderboard reads/,
          );
        }
      }
    });

    await t.step("a FIFO as executions.jsonl: the task page answers, naming it", async () => {
      const ref = { folder: "mbpp", run: "fifo-records" };
      await writeReport(dir, ref, { ...tiny, id: ref.run });
      await mkfifo(join(dir, "mbpp", ref.run, "executions.jsonl"));
      const response = await request(`/runs/mbpp/${ref.run}/task?id=mbpp%2F11`);
      assert.equal(response.status, 200);
      assert.match(
        await response.text(),
        /The run&#39;s executions\.jsonl is not a regular file \(a FIFO, a socket or a device\)/,
      );
    });

    await t.step("a FIFO as report.json: listed as a problem, the board answers", async () => {
      await Deno.mkdir(join(dir, "mbpp", "fifo-report"));
      await mkfifo(join(dir, "mbpp", "fifo-report", "report.json"));
      const body = await (await request("/api/boards")).json();
      assert.ok(
        body.problems.some((p: { path: string; message: string }) =>
          p.path === "mbpp/fifo-report/report.json" && /not a regular file/.test(p.message)
        ),
        JSON.stringify(body.problems),
      );
    });

    await t.step(
      "a deeply nested config.model.settings: one problem, every board answers",
      async () => {
        const ref = { folder: "mbpp", run: "deep" };
        const depth = 100_000;
        const text = JSON.stringify({ ...tiny, id: ref.run }).replace(
          /"settings":\{[^}]*\}/,
          `"settings":{"x":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`,
        );
        await writeReport(dir, ref, text);
        const boards = await request("/api/boards");
        assert.equal(boards.status, 200);
        const body = await boards.json();
        assert.ok(body.boards.length >= 3);
        const problem = body.problems.find((p: { path: string }) =>
          p.path === "mbpp/deep/report.json"
        );
        assert.match(
          problem.message,
          /nested more than 32 levels deep at report\.config\.model\.settings\.x/,
        );
        assert.equal((await request("/")).status, 200);
        const page = await request("/runs/mbpp/deep");
        assert.equal(page.status, 422);
        assert.match(await page.text(), /<h1>Unreadable report<\/h1>/);
        assert.equal((await request(good)).status, 200);
      },
    );

    await t.step(
      "a truncated report.json: a 422 page of its own, listed on the board",
      async () => {
        const ref = { folder: "mbpp", run: "truncated" };
        const full = JSON.stringify({ ...tiny, id: ref.run });
        await writeReport(dir, ref, full.slice(0, full.length / 2));
        const response = await request("/runs/mbpp/truncated");
        assert.equal(response.status, 422);
        assert.match(await response.text(), /as it is not valid JSON/);
        const api = await request("/api/runs/mbpp/truncated");
        assert.equal(api.status, 422);
        assert.equal((await api.json()).error.status, 422);
        const board = await (await request("/")).text();
        assert.match(board, /mbpp\/truncated\/report\.json<\/code>: Cannot read report/);
        assert.equal((await request(good)).status, 200);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
