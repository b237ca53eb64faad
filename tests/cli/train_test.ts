import assert from "node:assert/strict";
import { parseTrainArgs, progressLine } from "../../src/cli/train.ts";
import type { TrainLogEntry } from "../../src/rl/ppo/record.ts";

Deno.test("parseTrainArgs()", async (t) => {
  await t.step("asks for the usage text without a benchmark or with --help", () => {
    assert.equal(parseTrainArgs([]), null);
    assert.equal(parseTrainArgs(["mbpp", "--help"]), null);
  });
  await t.step("maps the flags onto the PPO config", () => {
    const parsed = parseTrainArgs([
      "mbpp",
      "--model",
      "m",
      "--reward",
      "ppocoder,dataflow_match=0.5",
      "--iterations",
      "7",
      "--batch",
      "2",
      "--samples-per-task",
      "3",
      "--minibatches",
      "3",
      "--lr",
      "3e-5",
      "--kl",
      "0.1",
      "--kl-control",
      "fixed",
      "--rollout",
      "tfjs",
      "--advantage",
      "rloo",
      "--seed",
      "5",
      "--eval-limit",
      "4",
    ])!;
    const { config } = parsed.options;
    assert.equal(parsed.options.benchmark.name, "mbpp");
    assert.equal(parsed.options.evalLimit, 4);
    assert.deepEqual(config.rewardWeights, { compile: 1, ast_match: 1, dataflow_match: 0.5 });
    assert.deepEqual(
      [config.iterations, config.batchTasks, config.samplesPerTask, config.learningRate],
      [7, 2, 3, 3e-5],
    );
    assert.deepEqual([
      config.klCoef,
      config.klControl,
      config.rollout,
      config.advantage,
      config.seed,
    ], [
      0.1,
      "fixed",
      "tfjs",
      "rloo",
      5,
    ]);
  });
  await t.step("names what is wrong", () => {
    assert.throws(() => parseTrainArgs(["mbpp"]), {
      name: "TypeError",
      message:
        "Cannot train without a starting model: pass --model with a Hugging Face folder or an onnxruntime-genai export",
    });
    assert.throws(() => parseTrainArgs(["mbpp", "--model", "m", "--rollout", "vllm"]), {
      name: "RangeError",
      message: 'Cannot parse --rollout as it must be one of onnx, tfjs: current value is "vllm"',
    });
  });
});

Deno.test("progressLine() shows reward, terms, rates and phase times", () => {
  const entry = {
    iteration: 2,
    rollouts: 8,
    dropped: 1,
    rewardMean: 0.5,
    rewardStd: 0.25,
    terms: { compile: 0.5, kl: -0.01 },
    compileRate: 0.75,
    syntaxRate: 1,
    passRate: 0,
    responseTokens: 12.5,
    writtenChars: 40,
    eosShare: 0.5,
    truncatedShare: 0.5,
    kl: 0.2,
    beta: 0.05,
    entropy: 2,
    policyLoss: -0.01,
    valueLoss: 0.3,
    policyClipFraction: 0.1,
    valueClipFraction: 0,
    approxKl: 0.001,
    policyKl: 0,
    explainedVariance: null,
    gradNorm: 0.4,
    learningRate: 1e-5,
    epochs: 4,
    earlyStopped: false,
    tokensPerSecond: 100,
    seconds: { rollout: 1, reward: 0.5, scoring: 0.6, update: 2, total: 3.6 },
    cursor: 8,
  } satisfies TrainLogEntry;
  assert.equal(
    progressLine(entry, 10),
    "iter 2/10  reward 0.50±0.25 (compile 0.50, kl -0.01)  compile 75% syntax 100% pass 0%  len 12.5 tok eos 50%  kl 0.20 beta 0.050 ent 2.00  pg -0.010 vf 0.300 clip 0.10  akl 0.0010 gn 0.40 dropped 1  | rollout 1.0s reward 0.5s scoring 0.6s update 2.0s 100 tok/s",
  );
});
