/**
 * Generation backends behind one interface, and sanitizing of what they write. Backends are
 * created from a spec (`reference`, `samples:PATH`, `openai:MODEL`, `onnx:FOLDER_OR_ID`) through
 * {@linkcode createModelBackend}; the `onnx:` backend is only imported when used, since it loads
 * onnxruntime's native addon (import `./onnx.ts` directly for the class itself).
 *
 * @example Usage
 * ```ts ignore
 * import { createModelBackend, sanitize } from "./mod.ts";
 * const backend = await createModelBackend("openai:qwen2.5-coder", { api: "chat" });
 * ```
 *
 * @module
 */

export type * from "./backend.ts";
export { type BackendOptions, createModelBackend, MODEL_BACKENDS } from "./registry.ts";
export { type OpenAiApi, OpenAiBackend, OpenAiError, type OpenAiOptions } from "./openai.ts";
export type { ModelConfig, OnnxOptions } from "./onnx.ts";
export { argmax, chooseToken, type Random, seededRandom, type TokenChoice } from "./sampling.ts";
export {
  cutAtClosingBrace,
  cutAtStop,
  extractCodeBlock,
  extractPythonDefinitions,
  FENCE_TAGS,
  sanitize,
  type SanitizeOptions,
  type SanitizeStyle,
} from "./sanitize.ts";
