import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/leaderboard/app.ts";
import { createTrainingRuns } from "../../src/leaderboard/training.ts";
import { createFolderStore } from "../../src/report/store.ts";
import { ppoConfig } from "../../src/rl/ppo/config.ts";
import { train } from "../../src/rl/ppo/trainer.ts";
import { writeTinyModel, X_COMPILES, X_TASKS } from "../rl/ppo/_tiny.ts";

Deno.test({
  name: "training pages show a run's curves, eval reports and comparison",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "ppo-board-" });
    try {
      await writeTinyModel(join(dir, "model"));
      const reports = join(dir, "reports");
      const result = await train({
        benchmark: X_COMPILES,
        model: join(dir, "model"),
        tasks: X_TASKS,
        reportsDir: reports,
        workers: 2,
        runName: "tiny<run>",
        config: ppoConfig({
          iterations: 3,
          batchTasks: 4,
          samplesPerTask: 1,
          minibatches: 1,
          maxNewTokens: 6,
          reward: "custom",
          rewardWeights: { compile: 1 },
        }),
      }).catch((error) => error as Error);
      await t.step("refuses a run name the store could not serve", () => {
        assert.ok(result instanceof RangeError);
        assert.equal(
          result.message,
          'Cannot name a training run "tiny<run>" as run names are letters, digits and . _ : @ + = , - and do not start with a dot: pass another --run',
        );
      });
      const run = await train({
        benchmark: X_COMPILES,
        model: join(dir, "model"),
        tasks: X_TASKS,
        reportsDir: reports,
        workers: 2,
        runName: "tiny",
        config: ppoConfig({
          iterations: 3,
          batchTasks: 4,
          samplesPerTask: 1,
          minibatches: 1,
          maxNewTokens: 6,
          reward: "custom",
          rewardWeights: { compile: 1 },
        }),
      });
      const app = createApp(createFolderStore(reports), { training: createTrainingRuns(reports) });
      await t.step("the list names the run", async () => {
        const response = await app.request("/training");
        assert.equal(response.status, 200);
        assert.match(await response.text(), /href="\/training\/tiny"/);
      });
      await t.step(
        "the run page has curves, both eval reports and the comparison link",
        async () => {
          const response = await app.request("/training/tiny");
          assert.equal(response.status, 200);
          const text = await response.text();
          for (
            const title of [
              "Reward (mean of the score)",
              "KL to the reference",
              "Entropy",
              "Response length",
            ]
          ) {
            assert.ok(text.includes(title), title);
          }
          const [first, last] = [run.record.evals[0]!, run.record.evals.at(-1)!];
          assert.ok(text.includes(`href="/runs/${first.ref}"`));
          assert.ok(
            text.includes(
              `/compare?a=${encodeURIComponent(first.ref)}&amp;b=${encodeURIComponent(last.ref)}`,
            ),
          );
          const compare = await app.request(`/compare?a=${first.ref}&b=${last.ref}`);
          assert.equal(compare.status, 200);
        },
      );
      await t.step("the eval reports sit on the benchmark's board", async () => {
        const board = await (await app.request("/api/benchmarks/x-compiles")).json();
        assert.equal(board.board.groups[0].runs.length, 2);
      });
      await t.step("an unknown run is a 404", async () => {
        assert.equal((await app.request("/training/nope")).status, 404);
        assert.equal((await app.request("/api/training/..")).status, 404);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
