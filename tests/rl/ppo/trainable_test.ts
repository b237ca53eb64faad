import assert from "node:assert/strict";
import { getBenchmark } from "../../../benchmarks/mod.ts";
import { ppoConfig } from "../../../src/rl/ppo/config.ts";
import { train, type TrainOptions } from "../../../src/rl/ppo/trainer.ts";

Deno.test("train() refuses a benchmark whose license forbids training on it", async () => {
  const options = {
    benchmark: getBenchmark("multipl-e"),
    config: ppoConfig({}),
    model: "/nonexistent",
  } as unknown as TrainOptions;
  await assert.rejects(train(options), {
    name: "TypeError",
    message:
      /^Cannot train on benchmark "multipl-e" as its data may not be used as training data: /,
  });
});
