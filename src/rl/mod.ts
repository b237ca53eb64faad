/**
 * The trainable policy of PPO on TensorFlow.js: GPT-2 and Llama-family (Llama, Mistral, Qwen2)
 * causal language models read from Hugging Face checkpoints, with a KV cache for generation, a
 * full scoring pass (log-probabilities, entropy, hidden states), a PPOCoder value head, a frozen
 * reference copy, seeded sampling, safetensors in and out, and ONNX export for the `onnx:`
 * generation backend.
 *
 * @example Usage
 * ```ts ignore
 * import { exportOnnx, generate, loadPolicy, selectBackend } from "./src/rl/mod.ts";
 * await selectBackend(); // prints "tfjs backend: wasm (...)"
 * const { policy, tokenizer } = await loadPolicy("checkpoints/qwen2-0.5b");
 * const reference = policy.reference();
 * const prompt = tokenizer!.encode("def add(a, b):\n");
 * const { tokens } = await generate(policy.model, [prompt], {
 *   maxNewTokens: 64,
 *   sampling: { temperature: 1, topK: 50, topP: 0.95 },
 *   seed: 0,
 * });
 * await exportOnnx(policy.model, "exports/step-100", { tokenizerFrom: "checkpoints/qwen2-0.5b" });
 * ```
 *
 * @module
 */

export { type Architecture, type ModelConfig, parseConfig, readConfig } from "./config.ts";
export {
  ARCHITECTURES,
  CausalLm,
  type ForwardInput,
  type ForwardOutput,
  type KvCache,
  type LayerCache,
  type ModelOptions,
  type RandomModelOptions,
  type TokenScores,
} from "./model.ts";
export { ActorCritic, type ActorCriticScores, type ScoreOptions } from "./policy.ts";
export { ValueHead, type ValueHeadOptions, type ValuesOptions } from "./value_head.ts";
export { generate, type GenerateOptions, type GenerateResult, GREEDY } from "./generate.ts";
export {
  type LoadedPolicy,
  loadPolicy,
  type LoadPolicyOptions,
  savePolicy,
  type SavePolicyOptions,
} from "./checkpoint.ts";
export {
  loadCheckpointTensors,
  readSafetensors,
  type SafetensorsDtype,
  saveCheckpointTensors,
  type TensorMap,
  writeSafetensors,
} from "./safetensors.ts";
export { loadTokenizer, type TextTokenizer } from "./tokenizer.ts";
export { exportOnnx, type ExportOnnxOptions, ONNX_OPSET } from "./onnx_export.ts";
export { llamaFromGenaiOnnx, readOnnxInitializers } from "./onnx_import.ts";
export {
  type BackendChoice,
  type BackendName,
  BACKENDS,
  describeBackend,
  selectBackend,
  type SelectBackendOptions,
} from "./tf_backend.ts";
export { loadTrainablePolicy, type TrainablePolicy } from "./load_model.ts";
export {
  type AdvantageEstimator,
  configDifferences,
  DEFAULT_PPO_CONFIG,
  type PpoConfig,
  ppoConfig,
} from "./ppo/config.ts";
export {
  computeGae,
  groupAdvantages,
  maskedMean,
  maskedVar,
  maskedWhiten,
  tokenRewards,
} from "./ppo/advantages.ts";
export { klPerToken, type KlState, updateKl } from "./ppo/kl.ts";
export { type LossInput, type LossOutput, ppoLoss } from "./ppo/loss.ts";
export {
  parseRewardSpec,
  REWARD_RECIPES,
  REWARD_TERMS,
  type RewardInput,
  type RewardTerm,
  type RewardWeights,
  scoreRollout,
} from "./ppo/rewards.ts";
export { ConfigMismatchError, train, type TrainOptions, type TrainResult } from "./ppo/trainer.ts";
export type { TrainingRecord, TrainLogEntry } from "./ppo/record.ts";
export {
  learningRateAt,
  MODEL_PRESETS,
  type SftConfig,
  sftConfig,
  sftConfigDifferences,
} from "./sft/config.ts";
export {
  applyHeldOut,
  type Corpus,
  type CorpusItem,
  type CorpusSpec,
  type HeldOut,
  heldOutFromTasks,
  parseCorpusSpec,
  readCorpus,
} from "./sft/corpus.ts";
export {
  ByteLevelBpeEncoder,
  countWords,
  saveTokenizer,
  tokenizerJson,
  trainBpe,
} from "./sft/bpe.ts";
export {
  SftConfigMismatchError,
  type SftOptions,
  type SftResult,
  trainSft,
} from "./sft/trainer.ts";
export type { SftLogEntry, SftRecord, SftTrainerState } from "./sft/record.ts";
export { findNative, loadNative, NATIVE_DIR_ENV, nativeDir } from "./native.ts";
