/**
 * Backend options from the command line (`--backend KEY=VALUE`, all strings) to the typed
 * options of the `openai:` and `onnx:` backends. Each backend's keys are one table.
 *
 * @module
 */

import type { OnnxOptions } from "./onnx.ts";
import type { OpenAiOptions } from "./openai.ts";
import { didYouMean } from "../util/did_you_mean.ts";

type Kind = "string" | "integer";

/** `--backend` keys of the openai backend -> option name and kind. */
const OPENAI_KEYS = {
  "api": ["api", "string"],
  "base-url": ["baseUrl", "string"],
  "api-key": ["apiKey", "string"],
  "concurrency": ["concurrency", "integer"],
  "timeout": ["timeoutMs", "integer"],
  "retries": ["maxRetries", "integer"],
  "backoff": ["backoffMs", "integer"],
  "max-backoff": ["maxBackoffMs", "integer"],
  "system-prompt": ["systemPrompt", "string"],
} as const satisfies Record<string, readonly [keyof OpenAiOptions, Kind]>;

/** `--backend` keys of the onnx backend -> option name and kind. */
const ONNX_KEYS = {
  "batch-size": ["batchSize", "integer"],
  "cache-dir": ["cacheDir", "string"],
  "hub-endpoint": ["endpoint", "string"],
  "revision": ["revision", "string"],
} as const satisfies Record<string, readonly [keyof OnnxOptions, Kind]>;

/** Typed {@linkcode OpenAiOptions} from `--backend` strings. */
export function openAiOptionsFrom(options: Readonly<Record<string, string>>): OpenAiOptions {
  // The backend itself checks that `api` is "chat" or "completions".
  return convert("openai", options, OPENAI_KEYS) as OpenAiOptions;
}

/** Typed {@linkcode OnnxOptions} from `--backend` strings. */
export function onnxOptionsFrom(options: Readonly<Record<string, string>>): OnnxOptions {
  return convert("onnx", options, ONNX_KEYS) as OnnxOptions;
}

function convert(
  backend: string,
  options: Readonly<Record<string, string>>,
  keys: Readonly<Record<string, readonly [string, Kind]>>,
): Record<string, string | number> {
  const typed: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(options)) {
    const entry = keys[key];
    if (entry === undefined) {
      throw new RangeError(
        `Cannot use --backend ${key}=${value} with the ${backend} backend as it knows only: ` +
          Object.keys(keys).join(", ") + didYouMean(key, Object.keys(keys)),
      );
    }
    const [name, kind] = entry;
    typed[name] = kind === "integer" ? integer(key, value) : value;
  }
  return typed;
}

function integer(key: string, value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new RangeError(
      `Cannot use --backend ${key}=${value} as it must be a non-negative integer`,
    );
  }
  return parsed;
}
