/**
 * `train --sandbox-url`: the trainer rewarded through two sandbox service replicas sees the
 * rewards it sees in-process, iteration by iteration (the tiny setting of the trainer's tests).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ppoConfig } from "../../src/rl/ppo/config.ts";
import { train } from "../../src/rl/ppo/trainer.ts";
import { serveSandbox } from "../../sandbox/service/serve.ts";
import { writeTinyModel, X_COMPILES, X_TASKS } from "../rl/ppo/_tiny.ts";

Deno.test({
  name: "train() with sandboxUrls gets the in-process rewards",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ppocoder-train-remote-" });
    const replicas = [0, 1].map(() =>
      serveSandbox({ port: 0, log: () => {}, executor: { languages: ["python"], workers: 1 } })
    );
    try {
      await writeTinyModel(join(dir, "model"));
      await Promise.all(replicas.map((r) => r.ready));
      const run = (name: string, extra: { sandboxUrls?: string[] } = {}) =>
        train({
          benchmark: X_COMPILES,
          model: join(dir, "model"),
          tasks: X_TASKS,
          reportsDir: join(dir, "reports"),
          runName: name,
          workers: 2,
          evaluate: false,
          config: ppoConfig({
            iterations: 3,
            batchTasks: 8,
            samplesPerTask: 1,
            minibatches: 2,
            microBatch: 8,
            epochs: 1,
            maxNewTokens: 8,
            reward: "custom",
            rewardWeights: { compile: 1 },
            checkpointEvery: 1000,
          }),
          ...extra,
        });
      const local = await run("local");
      const remote = await run("remote", {
        sandboxUrls: replicas.map((r) => `http://127.0.0.1:${r.port}`),
      });
      const rewards = (log: typeof local.log) => log.map((e) => [e.rewardMean, e.compileRate]);
      assert.equal(remote.log.length, 3);
      assert.deepEqual(rewards(remote.log), rewards(local.log));
      console.log(
        `rewards per iteration (mean, compile rate): ${JSON.stringify(rewards(local.log))}`,
      );
      assert.match(remote.record.provenance.isolation.notes?.[0] ?? "", /^remote: /);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await Deno.remove(dir, { recursive: true });
    }
  },
});
