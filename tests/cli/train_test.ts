import { BENCHMARKS } from "../../benchmarks/mod.ts";
import assert from "node:assert/strict";
import { execute, parseCommand, UsageError } from "../../src/cli/_args.ts";
import { progressLine, TRAIN, trainArgs } from "../../src/cli/train.ts";
import type { TrainLogEntry } from "../../src/rl/ppo/record.ts";
import { fixturePath } from "../_shared.ts";

const MODEL = fixturePath("rl/tiny-gpt2");

/** `deno task train ...args` parsed into train options, as the command does. */
async function parse(args: string[]) {
  const parsed = parseCommand(TRAIN, args);
  assert.equal(typeof parsed, "object", `${args.join(" ")} asked for ${String(parsed)}`);
  if (typeof parsed === "string") throw new Error("unreachable");
  return await trainArgs(parsed);
}

async function refuses(args: string[], message: string) {
  await assert.rejects(parse(args), (error: Error) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.message, message);
    return true;
  });
}

Deno.test("trainArgs()", async (t) => {
  await t.step("maps the flags onto the PPO config", async () => {
    const { options, json } = await parse([
      "mbpp",
      "--model",
      MODEL,
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
      "--backend",
      "cpu",
      "--sandbox",
      "none",
      "--filter",
      "difficulty=introductory",
      "--no-eval",
      "--fresh",
      "--json",
    ]);
    const { config } = options;
    assert.equal(options.benchmark.name, "mbpp");
    assert.equal(options.model, MODEL);
    assert.equal(options.evalLimit, 4);
    assert.deepEqual(
      [options.backend, options.isolation, options.filter, options.evaluate, options.fresh, json],
      ["cpu", "none", { difficulty: "introductory" }, false, true, true],
    );
    assert.equal(config.reward, "ppocoder");
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
  await t.step("keeps the PPO defaults and 20 evaluation tasks when no flag is given", async () => {
    const { options, json } = await parse(["mbpp", "--model", MODEL]);
    assert.equal(options.evalLimit, 20);
    assert.equal(json, false);
    assert.equal(options.config.iterations, 20);
    assert.deepEqual(
      Object.keys(options).sort(),
      ["benchmark", "config", "evalLimit", "model"],
    );
  });
  await t.step("names what is wrong", async () => {
    await refuses(
      ["mbpp"],
      "missing option --model: train needs a starting model: pass a Hugging Face folder " +
        "(config.json, safetensors, tokenizer.json) or an onnxruntime-genai export " +
        "(genai_config.json, model.onnx)",
    );
    await refuses(
      ["mbpp", "--model", "no/such/model"],
      'option --model names "no/such/model", which does not exist: pass a Hugging Face folder ' +
        "(config.json, safetensors, tokenizer.json) or an onnxruntime-genai export " +
        "(genai_config.json, model.onnx)",
    );
    await refuses(
      ["mbp", "--model", MODEL],
      `unknown benchmark "mbp" (did you mean mbpp?): use one of ${
        Object.keys(BENCHMARKS).join(", ")
      }`,
    );
    await refuses(
      ["mbpp", "--model", MODEL, "--rollout", "vllm"],
      'option --rollout must be one of onnx, tfjs: current value is "vllm"',
    );
    await refuses(
      ["mbpp", "--model", MODEL, "--batch", "0"],
      'option --batch must be a whole number of at least 1: current value is "0"',
    );
    await refuses(
      ["mbpp", "--model", MODEL, "--temperature", "0"],
      'option --temperature must be a number above 0: current value is "0"',
    );
    await refuses(
      ["mbpp", "--model", MODEL, "--reward", "ppocodr"],
      'option --reward: Cannot use reward recipe "ppocodr" as it is unknown: use one of ' +
        "ppocoder, coderl, syntax, or term=weight pairs (did you mean ppocoder?)",
    );
    await refuses(
      ["mbpp", "--model", MODEL, "--batch", "3", "--samples-per-task", "1"],
      "Cannot train as the rollouts of an iteration (batchTasks x samplesPerTask = 3) must " +
        'split evenly into "minibatches": current value is 2',
    );
  });
});

Deno.test("train command line", async (t) => {
  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await execute(TRAIN, () => Promise.resolve(0), args, {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
    });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  await t.step("--help lists every option with its default", async () => {
    const { code, out } = await run(["--help"]);
    assert.equal(code, 0);
    assert.match(out, /^Usage: deno task train <benchmark> --model DIR \[options\]\n/);
    for (const name of Object.keys(TRAIN.options)) assert.match(out, new RegExp(`--${name}\\b`));
    assert.match(out, /--lr LR +Adam learning rate, constant \(default 0\.00001\)/);
    assert.match(out, /--kl-target NATS +target KL .* \(default 6\)/);
  });
  await t.step("no benchmark is a usage error, exit 2", async () => {
    const { code, out, err } = await run([]);
    assert.equal(code, 2);
    assert.equal(out, "");
    assert.match(err, /^error: missing benchmark: train needs one\nUsage: deno task train /);
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
