/**
 * The trainer end to end on the tiny setting of `_tiny.ts`: the real trainer, the real sandbox
 * (bwrap, Python compile mode), ONNX rollouts and the real report writer.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type PpoConfig, ppoConfig } from "../../../src/rl/ppo/config.ts";
import { readJsonl } from "../../../src/util/jsonl.ts";
import { train, type TrainOptions } from "../../../src/rl/ppo/trainer.ts";
import type { RolloutRecord, TrainLogEntry } from "../../../src/rl/ppo/record.ts";
import { writeTinyModel, X_COMPILES, X_TASKS } from "./_tiny.ts";
import { killTestOptions } from "./_train_child.ts";

/** The learning test's settings (measured: about 13 s per 120-iteration run on WASM). */
const LEARNING: Partial<PpoConfig> = {
  iterations: 120,
  batchTasks: 8,
  samplesPerTask: 1,
  minibatches: 2,
  microBatch: 8,
  epochs: 2,
  learningRate: 1e-3,
  maxGradNorm: 1,
  maxNewTokens: 8,
  klControl: "fixed",
  klCoef: 0,
  reward: "custom",
  rewardWeights: { compile: 1 },
  targetApproxKl: 0,
  checkpointEvery: 1000,
};

async function setUp() {
  const dir = await Deno.makeTempDir({ prefix: "ppo-trainer-" });
  await writeTinyModel(join(dir, "model"));
  return dir;
}

function options(dir: string, config: Partial<PpoConfig>, extra: Partial<TrainOptions> = {}) {
  return {
    benchmark: X_COMPILES,
    model: join(dir, "model"),
    tasks: X_TASKS,
    reportsDir: join(dir, "reports"),
    workers: 2,
    evaluate: false,
    config: ppoConfig({ ...LEARNING, ...config }),
    ...extra,
  } satisfies TrainOptions;
}

function firstAndLast20(log: readonly TrainLogEntry[]) {
  const mean = (xs: readonly TrainLogEntry[]) =>
    xs.reduce((s, e) => s + e.rewardMean, 0) / xs.length;
  return { first: mean(log.slice(0, 20)), last: mean(log.slice(-20)) };
}

Deno.test({
  name: "train() learns a reward it can reach, and shuffled rewards teach nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const dir = await setUp();
    try {
      const learned = await train(options(dir, {}, { evaluate: true, runName: "learn" }));
      const shuffled = await train(options(dir, { shuffleRewards: true }, { runName: "shuffled" }));
      await t.step("the mean reward of the last 20 iterations is >= the first 20 + 0.5", () => {
        const { first, last } = firstAndLast20(learned.log);
        assert.equal(learned.log.length, 120);
        assert.ok(last >= first + 0.5, `first 20: ${first}, last 20: ${last}`);
      });
      await t.step("with shuffled rewards it does not rise by 0.5", () => {
        const { first, last } = firstAndLast20(shuffled.log);
        assert.ok(last < first + 0.5, `first 20: ${first}, last 20: ${last}`);
      });
      await t.step("the record holds the config, a checkpoint and two eval reports", () => {
        const record = learned.record;
        assert.equal(record.status, "finished");
        assert.equal(record.iterations, 120);
        assert.deepEqual(record.config.rewardWeights, { compile: 1 });
        assert.equal(record.checkpoints.length, 1);
        assert.ok(
          existsSync(join(learned.runDir, record.checkpoints[0]!, "optimizer.safetensors")),
        );
        assert.deepEqual(record.evals.map((e) => e.iteration), [0, 120]);
        for (const e of record.evals) assert.ok(existsSync(e.reportPath), e.reportPath);
        assert.ok(record.evals[1]!.metrics.compile_rate! >= record.evals[0]!.metrics.compile_rate!);
      });
      await t.step("every term and phase is logged", () => {
        const entry = learned.log.at(-1)!;
        assert.deepEqual(Object.keys(entry.terms).sort(), ["compile", "kl"]);
        assert.deepEqual(Object.keys(entry.seconds).sort(), [
          "reward",
          "rollout",
          "scoring",
          "total",
          "update",
        ]);
        assert.equal(entry.dropped, 0);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "train() resumes from its newest checkpoint with the same next rollouts",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const dir = await setUp();
    try {
      const short = { iterations: 6, checkpointEvery: 3 };
      const whole = await train(options(dir, short, { runName: "whole" }));
      await train(options(dir, { ...short, iterations: 3 }, { runName: "resumed" }));
      const resumed = await train(options(dir, short, { runName: "resumed" }));
      await t.step("the second call resumes after iteration 3", () => {
        assert.equal(resumed.resumedFrom, 3);
        assert.equal(resumed.log.length, 6);
      });
      await t.step(
        "iterations 4-6 sample the same rollouts and see the same statistics",
        async () => {
          const rollouts = async (run: string) =>
            (await readJsonl<RolloutRecord>(join(dir, "reports/training", run, "rollouts.jsonl")))
              .filter((r) => r.iteration > 3).map((r) => `${r.iteration}:${r.raw}`);
          assert.deepEqual(await rollouts("resumed"), await rollouts("whole"));
          const stats = (log: readonly TrainLogEntry[]) =>
            log.slice(3).map((e) => [e.rewardMean, e.responseTokens, e.kl.toFixed(4)]);
          assert.deepEqual(stats(resumed.log), stats(whole.log));
        },
      );
      await t.step("a changed configuration is refused with the differing fields", async () => {
        await assert.rejects(
          () => train(options(dir, { ...short, learningRate: 5e-4 }, { runName: "resumed" })),
          {
            name: "ConfigMismatchError",
            message: `Cannot resume training run "${
              join(dir, "reports/training/resumed")
            }" as its configuration differs: learningRate: 0.001 -> 0.0005: rerun with the same options, or pass --fresh to start over or --run NAME for a new run`,
          },
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "train() resumes after kill -9 with the same next rollouts",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await setUp();
    try {
      const whole = await train(killTestOptions(dir, "whole", 8, 2));
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./_train_child.ts", import.meta.url).pathname,
          dir,
          "killed",
          "8",
          "2",
        ],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("iteration 5")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
      const resumed = await train(killTestOptions(dir, "killed", 8, 2));
      assert.ok(
        resumed.resumedFrom >= 4 && resumed.resumedFrom < 8,
        `resumed after ${resumed.resumedFrom}`,
      );
      const rollouts = async (run: string) =>
        (await readJsonl<RolloutRecord>(join(dir, "reports/training", run, "rollouts.jsonl")))
          .map((r) => `${r.iteration}:${r.row}:${r.raw}`);
      assert.deepEqual(await rollouts("killed"), await rollouts("whole"));
      assert.deepEqual(
        resumed.log.map((e) => [e.iteration, e.rewardMean, e.kl.toFixed(5)]),
        whole.log.map((e) => [e.iteration, e.rewardMean, e.kl.toFixed(5)]),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "train() with critic warm-up leaves the policy unchanged while the value head learns",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await setUp();
    try {
      const { log } = await train(options(dir, { iterations: 3, criticWarmup: 2, klCoef: 0.05 }));
      // The rollouts of iteration 3 come from the policy after two warm-up updates.
      assert.deepEqual(log.map((e) => e.kl), [0, 0, 0]);
      assert.ok(log.every((e) => e.valueLoss > 0));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
