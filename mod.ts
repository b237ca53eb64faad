/**
 * ppocoder: an evaluation-first harness for code-generation models. It runs what a model writes
 * in a sandbox and scores it on MBPP, APPS, CodeSearchNet, XLCoST and HumanEval, and it
 * fine-tunes models with PPO using the same sandbox as the reward (PPOCoder, Shojaee et al.,
 * TMLR 2023).
 *
 * @example Usage
 * ```ts ignore
 * import { getBenchmark, runBenchmark } from "./mod.ts";
 * const { report } = await runBenchmark(getBenchmark("mbpp"), { model: "reference" });
 * console.log(report.metrics["pass@1"]);
 * ```
 *
 * The PPO policy layer (TensorFlow.js) has its own entry point, `src/rl/mod.ts`, so that
 * importing this module does not load TensorFlow.js.
 *
 * @module
 */

export type * from "./src/types.ts";
export { EXECUTION_STATUSES } from "./src/types.ts";
export { BENCHMARKS, getBenchmark } from "./benchmarks/mod.ts";
export type * from "./benchmarks/benchmark.ts";
export { DatasetError, resolveDatasetFile, type ResolveOptions } from "./benchmarks/_dataset.ts";
export { DEFAULT_SAMPLING, runBenchmark, type RunOptions, type RunResult } from "./src/run.ts";
export { type GenerateOptions, generateSamples } from "./src/generate.ts";
export { type JudgeOptions, type JudgeResult, judgeSamples } from "./src/judge.ts";
export {
  judgeSample,
  sampleCode,
  sampleParses,
  samplePrompt,
  writtenPart,
} from "./src/sample_path.ts";
export { type PpoConfig, ppoConfig, train, type TrainOptions } from "./src/rl/mod.ts";
export { meanPassAtK, passAtK } from "./src/metrics/pass_at_k.ts";
export * from "./src/metrics/mod.ts";
export { createModelBackend, MODEL_BACKENDS } from "./src/models/registry.ts";
export { sanitize, type SanitizeOptions } from "./src/models/sanitize.ts";
export type * from "./src/models/backend.ts";
export { buildReport, type ReportInput } from "./src/report/build.ts";
export { comparabilityKey, type KeyFields } from "./src/report/key.ts";
export type * from "./src/report/schema.ts";
export { createFolderStore, type ReportStore } from "./src/report/store.ts";
export { createApp } from "./src/leaderboard/app.ts";
export { type CheckOptions, type CheckResult, runCheck } from "./src/cli/check.ts";
export { createExecutor } from "./sandbox/mod.ts";
export type * from "./sandbox/types.ts";
export { isLanguage, LANGUAGES } from "./sandbox/languages.ts";
