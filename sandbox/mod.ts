/**
 * The sandbox: compiles and runs programs in isolated, limited workers.
 *
 * @example Usage
 * ```ts ignore
 * import { createExecutor } from "./mod.ts";
 *
 * const executor = await createExecutor({ languages: ["python"] });
 * const execution = await executor.execute({ language: "python", mode: "test", code: "assert 1 + 1 == 2" });
 * console.log(execution.status); // "passed"
 * await executor.close();
 * ```
 *
 * @module
 */

export { createExecutor, DEFAULT_COMPILE_LIMITS, DEFAULT_LIMITS } from "./executor.ts";
export { SandboxUnavailableError, ToolchainError } from "./errors.ts";
export { isLanguage, type Language, LANGUAGES, type LanguageSpec } from "./languages.ts";
export { findToolchain, resolveToolchain, type Toolchain } from "./toolchains.ts";
export type {
  ExecuteRequest,
  Executor,
  ExecutorOptions,
  IsolationMode,
  Limits,
  ToolchainInfo,
} from "./types.ts";
