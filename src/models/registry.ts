/**
 * Model specs to backends: `reference`, `samples:PATH`, `openai:MODEL`, `onnx:FOLDER_OR_ID`.
 * To add a backend, add one row to {@linkcode MODEL_BACKENDS}.
 *
 * @module
 */

import { createReferenceBackend } from "./reference.ts";
import { createSamplesBackend } from "./samples.ts";
import { OpenAiBackend } from "./openai.ts";
import { onnxOptionsFrom, openAiOptionsFrom } from "./_backend_options.ts";
import type { ModelBackend } from "./backend.ts";
import { didYouMean } from "../util/did_you_mean.ts";

/** Backend options from the command line (`--backend api=chat`, `base-url=URL`, ...). */
export type BackendOptions = Readonly<Record<string, string>>;

/** What a backend may use besides its options. */
export interface BackendContext {
  /** Where retries and other notices go (the command line prints them on stderr). */
  readonly log?: (message: string) => void;
}

type BackendFactory = (
  argument: string,
  options: BackendOptions,
  context: BackendContext,
) => Promise<ModelBackend>;

/** Every backend, by spec prefix, with a one-line usage. */
export const MODEL_BACKENDS: Record<string, { usage: string; create: BackendFactory }> = {
  reference: {
    usage: "reference (the benchmark's gold code: the harness's self-check)",
    create: (_, options) => {
      refuseOptions("reference", options);
      return Promise.resolve(createReferenceBackend());
    },
  },
  samples: {
    usage: "samples:PATH (a JSONL of {task_id, completion | solution} lines)",
    create: (path, options) => {
      refuseOptions("samples", options);
      return createSamplesBackend(path);
    },
  },
  openai: {
    usage: "openai:MODEL (an OpenAI-compatible server; --backend api=chat|completions, " +
      "base-url=URL (else $OPENAI_BASE_URL), api-key=KEY (else $OPENAI_API_KEY), concurrency=N, " +
      "timeout=MS, retries=N, backoff=MS, max-backoff=MS, system-prompt=TEXT)",
    create: (model, options, { log }) =>
      Promise.resolve(
        new OpenAiBackend(model, { ...openAiOptionsFrom(options), ...(log ? { log } : {}) }),
      ),
  },
  onnx: {
    usage: "onnx:FOLDER|OWNER/NAME (a local ONNX decoder + tokenizer.json, or a Hugging Face id " +
      "fetched into ~/.cache/ppocoder/models; --backend batch-size=N, cache-dir=DIR, " +
      "revision=REV, hub-endpoint=URL)",
    // Imported on use: it loads onnxruntime's native addon, which no other backend needs.
    create: async (spec, options) =>
      (await import("./onnx.ts")).OnnxBackend.open(spec, onnxOptionsFrom(options)),
  },
};

/** Creates the backend a spec names, e.g. `samples:out.jsonl`. */
export function createModelBackend(
  spec: string,
  options: BackendOptions = {},
  context: BackendContext = {},
): Promise<ModelBackend> {
  const colon = spec.indexOf(":");
  const prefix = colon === -1 ? spec : spec.slice(0, colon);
  const argument = colon === -1 ? "" : spec.slice(colon + 1);
  const entry = MODEL_BACKENDS[prefix];
  if (entry === undefined) {
    const known = Object.values(MODEL_BACKENDS).map((b) => b.usage).join("; ");
    throw new RangeError(
      `Cannot use model "${spec}" as "${prefix}" is not a known backend` +
        `${didYouMean(prefix, Object.keys(MODEL_BACKENDS))}: use one of ${known}`,
    );
  }
  if (prefix !== "reference" && argument === "") {
    throw new RangeError(`Cannot use model "${spec}" as it needs an argument: ${entry.usage}`);
  }
  return entry.create(argument, options, context);
}

/** Backends without options refuse any, rather than ignore a setting the user meant. */
function refuseOptions(backend: string, options: BackendOptions): void {
  const given = Object.entries(options);
  if (given.length === 0) return;
  const shown = given.map(([k, v]) => `--backend ${k}=${v}`).join(", ");
  throw new RangeError(
    `Cannot use ${shown} with the ${backend} backend as it takes no options: remove ` +
      `${given.length === 1 ? "it" : "them"} (openai: and onnx: models take --backend options)`,
  );
}
