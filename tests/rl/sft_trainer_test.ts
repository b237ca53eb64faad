import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { sftConfig } from "../../src/rl/sft/config.ts";
import { parseCorpusSpec } from "../../src/rl/sft/corpus.ts";
import type { SftTrainerState } from "../../src/rl/sft/record.ts";
import { type SftOptions, trainSft } from "../../src/rl/sft/trainer.ts";
import { loadTrainablePolicy } from "../../src/rl/load_model.ts";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { fixturePath } from "../_shared.ts";

const CORPUS = fixturePath("rl/sft/corpus");
const CORPORA = [`files:${CORPUS}`, `jsonl:${CORPUS}/snippets.jsonl`];

/** A 2-layer Llama of width 32: small enough for CI, big enough to learn the fixture corpus. */
const TINY = {
  model_type: "llama",
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  tie_word_embeddings: true,
};

function options(runDir: string, configPath: string, steps: number): SftOptions {
  const config = sftConfig({
    init: "random",
    model: configPath,
    corpora: CORPORA,
    steps,
    batchSize: 4,
    microBatch: 2,
    seqLen: 48,
    learningRate: 1e-2,
    warmupSteps: 4,
    vocabSize: 360,
    evalEvery: 10,
    checkpointEvery: 10,
    seed: 3,
  });
  return {
    config,
    corpora: CORPORA.map(parseCorpusSpec),
    runDir,
    backend: "wasm",
    exportOnnx: false,
  };
}

Deno.test("trainSft() from scratch on the fixture corpus", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "sft-test-" });
  const configPath = join(root, "tiny.json");
  await Deno.writeTextFile(configPath, JSON.stringify(TINY));
  const full = await trainSft(options(join(root, "full"), configPath, 30));

  await t.step("learns: the training loss falls by more than a nat, held-out below uniform", () => {
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(full.log.slice(0, 3).map((e) => e.loss));
    const last = mean(full.log.slice(-5).map((e) => e.loss));
    assert.ok(first - last > 1, `loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    const val = full.log.filter((e) => e.valLoss !== undefined).map((e) => e.valLoss!);
    assert.equal(val.length, 3);
    // Below a uniform guess over the 360 tokens (the held-out text is one small document).
    assert.ok(val.every((v) => v < Math.log(360)), `held-out loss ${val.join(" -> ")}`);
  });

  await t.step("writes checkpoints in the PPO trainer's layout, loadable by it", async () => {
    assert.deepEqual(full.record.checkpoints, [
      "checkpoints/iter-000010",
      "checkpoints/iter-000020",
      "checkpoints/iter-000030",
    ]);
    const dir = full.checkpoint;
    for (
      const file of [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "value_head.safetensors",
        "optimizer.safetensors",
        "trainer_state.json",
      ]
    ) {
      assert.ok(existsSync(join(dir, file)), file);
    }
    const state = JSON.parse(
      await Deno.readTextFile(join(dir, "trainer_state.json")),
    ) as SftTrainerState;
    assert.equal(state.kind, "sft");
    assert.equal(state.iteration, 30);
    assert.equal(state.optimizerSteps, 30);
    assert.equal(state.cursor, 120);
    const loaded = await loadTrainablePolicy(dir);
    assert.equal(loaded.format, "hf");
    assert.equal(loaded.config.vocabSize, 360);
    assert.deepEqual(loaded.tokenizer.encode("x"), [0, loaded.tokenizer.tokenId("x")]);
    loaded.policy.dispose();
  });

  await t.step("resumes after a stop with the same steps as an uninterrupted run", async () => {
    const dir = join(root, "resumed");
    const first = await trainSft({ ...options(dir, configPath, 30), stopAfter: 14 });
    assert.equal(first.record.step, 14);
    assert.equal(first.record.status, "running");
    const second = await trainSft(options(dir, configPath, 30));
    assert.equal(second.resumedFrom, 10);
    assert.equal(second.record.status, "finished");
    assert.deepEqual(second.log.map((e) => e.step), full.log.map((e) => e.step));
    assert.deepEqual(second.log.map((e) => e.loss), full.log.map((e) => e.loss));
    assert.deepEqual(
      second.log.map((e) => e.valLoss),
      full.log.map((e) => e.valLoss),
    );
  });

  await t.step("continues a model folder on prompt -> solution pairs (MBPP fixture)", async () => {
    const corpora = ["bench:mbpp:all"];
    const config = sftConfig({
      init: "pretrained",
      model: full.checkpoint,
      corpora,
      steps: 4,
      batchSize: 2,
      microBatch: 2,
      seqLen: 96,
      learningRate: 1e-3,
      warmupSteps: 1,
      evalEvery: 2,
      checkpointEvery: 4,
    });
    const result = await trainSft({
      config,
      corpora: corpora.map(parseCorpusSpec),
      read: {
        benchmark: getBenchmark,
        data: fixturePath("mbpp/mbpp_small.jsonl"),
        allowUnverified: true,
      },
      runDir: join(root, "continued"),
      backend: "wasm",
      exportOnnx: false,
    });
    assert.equal(result.record.model.init, "pretrained");
    assert.equal(result.record.tokenizer.trained, false);
    assert.equal(result.record.dataset.trainRows + result.record.dataset.valRows, 8);
    // Only the solutions count: fewer loss tokens than tokens fed.
    assert.ok(result.log.every((e) => e.lossTokens > 0 && e.lossTokens < e.tokens));
    assert.equal(result.record.status, "finished");
  });

  await t.step("refuses to resume with a changed configuration", async () => {
    const changed = options(join(root, "full"), configPath, 30);
    await assert.rejects(
      () => trainSft({ ...changed, config: { ...changed.config, learningRate: 5e-3 } }),
      {
        name: "SftConfigMismatchError",
        message: `Cannot resume SFT run "${
          join(root, "full")
        }" as its configuration differs: learningRate: 0.01 -> 0.005: rerun with the same options, or pass --fresh to start over or --run NAME for a new run`,
      },
    );
  });
  await Deno.remove(root, { recursive: true });
});
