import assert from "node:assert/strict";
import {
  learningRateAt,
  MODEL_PRESETS,
  randomModelConfig,
  sftConfig,
  sftConfigDifferences,
} from "../../src/rl/sft/config.ts";
import { parseConfig } from "../../src/rl/config.ts";
import { defaultRunName, parseSftArgs } from "../../src/cli/sft.ts";

const BASE = { init: "random", model: "llama-1m", corpora: ["files:src"] } as const;

Deno.test("learningRateAt()", async (t) => {
  const config = sftConfig({ ...BASE, steps: 110, warmupSteps: 10, learningRate: 1e-3 });
  await t.step("rises linearly over the warm-up", () => {
    assert.equal(learningRateAt(1, config), 1e-4);
    assert.equal(learningRateAt(5, config), 5e-4);
    assert.equal(learningRateAt(10, config), 1e-3);
  });
  await t.step("follows half a cosine down to a tenth of the peak", () => {
    assert.ok(Math.abs(learningRateAt(60, config) - 5.5e-4) < 1e-12);
    assert.ok(Math.abs(learningRateAt(110, config) - 1e-4) < 1e-12);
    assert.ok(learningRateAt(30, config) > learningRateAt(31, config));
  });
});

Deno.test("sftConfig()", async (t) => {
  await t.step("fills the defaults", () => {
    const config = sftConfig(BASE);
    assert.equal(config.seqLen, 256);
    assert.equal(config.adamBeta2, 0.95);
  });
  await t.step("names the first field out of range", () => {
    assert.throws(() => sftConfig({ ...BASE, batchSize: 0 }), {
      name: "RangeError",
      message: 'Cannot train as "batchSize" must be a positive integer: current value is 0',
    });
    assert.throws(() => sftConfig({ ...BASE, corpora: [] }), {
      message: "Cannot train as no corpus was given: pass --corpus (see --help)",
    });
  });
  await t.step("compares runs on the fields that change what is learnt", () => {
    const a = sftConfig(BASE);
    const b = sftConfig({ ...BASE, learningRate: 5e-4, evalEvery: 7 });
    assert.deepEqual(sftConfigDifferences(a, b), ["learningRate: 0.001 -> 0.0005"]);
  });
});

Deno.test("randomModelConfig() sets the vocabulary, end token and context of a preset", async () => {
  const raw = await randomModelConfig("llama-5m", { vocabSize: 4096, eosTokenId: 0, seqLen: 4096 });
  const config = parseConfig(raw);
  assert.equal(config.vocabSize, 4096);
  assert.deepEqual(config.eosTokenIds, [0]);
  assert.equal(config.maxPositions, 4096);
  assert.equal(config.hiddenSize, MODEL_PRESETS["llama-5m"].hidden_size);
  await assert.rejects(
    () => randomModelConfig("no-such-model", { vocabSize: 9, eosTokenId: 0, seqLen: 8 }),
    {
      message:
        'Cannot build a model from "no-such-model" as it is neither a preset nor a config.json file: use one of llama-1m, llama-5m, llama-11m, gpt2-4m or a path to a Hugging Face config.json',
    },
  );
});

Deno.test("parseSftArgs()", async (t) => {
  await t.step("reads a run from scratch with its held-out tasks", () => {
    const parsed = parseSftArgs([
      "--init=random",
      "--config=llama-1m",
      "--corpus=files:src?ext=.ts",
      "--heldout=codesearchnet:java_train_15:300",
      "--heldout-repos",
      "--steps=20",
      "--lr=3e-4",
    ])!;
    assert.equal(parsed.options.config.steps, 20);
    assert.equal(parsed.options.config.learningRate, 3e-4);
    assert.equal(
      parsed.options.config.heldOut,
      "codesearchnet:java_train_15:300 and their repositories",
    );
    assert.deepEqual(parsed.heldOut, {
      benchmark: "codesearchnet",
      split: "java_train_15",
      limit: 300,
      dropRepos: true,
    });
    assert.equal(parsed.options.runDir, "reports/sft/llama-1m-s0");
  });
  await t.step("needs --init, and --config from scratch", () => {
    assert.throws(() => parseSftArgs(["--corpus=files:src"]), {
      message:
        "Cannot train without --init: pass --init random --config PRESET, or --init with a model folder",
    });
    assert.throws(() => parseSftArgs(["--init=random", "--corpus=files:src"]), {
      message:
        "Cannot train from scratch without --config: pass one of llama-1m, llama-5m, llama-11m, gpt2-4m or a config.json path",
    });
  });
  await t.step("names a wrong value or option as a usage error", () => {
    assert.throws(() => parseSftArgs(["--init=random", "--config=llama-1m", "--steps=x"]), {
      name: "UsageError",
      message: 'option --steps must be a whole number (0 or more): current value is "x"',
    });
    assert.throws(
      () =>
        parseSftArgs(["--init=random", "--config=llama-1m", "--corpus=files:src", "--backend=wsm"]),
      {
        name: "UsageError",
        message: /current value is "wsm" \(did you mean wasm\?\)/,
      },
    );
    assert.throws(() => parseSftArgs(["--stpes=3"]), {
      name: "UsageError",
      message: "unknown option --stpes (did you mean --steps?)",
    });
    assert.equal(parseSftArgs(["--help"]), null);
  });
  await t.step("names a run after the model folder", () => {
    assert.equal(
      defaultRunName(sftConfig({ init: "pretrained", model: "/m/tiny-gpt2/", corpora: ["x:y"] })),
      "tiny-gpt2-s0",
    );
  });
});
