/**
 * `deno task sft --init random --config PRESET --corpus SPEC ...` or `--init DIR`: supervised
 * next-token training of the TF.js policy on code corpora, with a progress line, checkpoints in
 * the PPO trainer's layout, and a summary. Rerunning the same command resumes the run.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { selectTasks } from "../run.ts";
import { MODEL_PRESETS, type SftConfig, sftConfig } from "../rl/sft/config.ts";
import { CORPUS_KINDS, type HeldOut, heldOutFromTasks, parseCorpusSpec } from "../rl/sft/corpus.ts";
import { type SftOptions, type SftResult, trainSft } from "../rl/sft/trainer.ts";
import { BACKENDS } from "../rl/tf_backend.ts";
import {
  choice,
  type CommandSpec,
  integer,
  number,
  parseCommand,
  type Parsed,
  runCommand,
  UsageError,
  type Values,
} from "./_args.ts";

const MODEL = "Model";
const DATA = "Data (repeat --corpus; options after ?, e.g. files:src/?ext=.java&max-bytes=5000000)";
const TRAINING = "Training";
const RUN = "Run";

/** The `sft` command line. */
export const SFT = {
  name: "sft",
  usage: "--init random --config PRESET|FILE --corpus SPEC [...] [options]\n" +
    "       deno task sft --init MODEL_DIR --corpus SPEC [...] [options]",
  summary: "Supervised next-token training (SFT / continued pretraining) of the TF.js policy on " +
    "code. From scratch, a byte-level BPE tokenizer is trained on the corpora first. Checkpoints " +
    "are Hugging Face folders that `deno task train --model` takes; the last one is exported to " +
    "ONNX for `deno task bench --model onnx:DIR`. Rerun the same command to resume.",
  options: {
    init: {
      type: "string",
      value: "random|DIR",
      section: MODEL,
      help: "random weights (needs --config), or a Hugging Face folder or onnxruntime-genai " +
        "Llama export to continue from (required)",
    },
    config: {
      type: "string",
      value: "PRESET|FILE",
      section: MODEL,
      help: `${Object.keys(MODEL_PRESETS).join(", ")}, or a config.json`,
    },
    "vocab-size": {
      type: "string",
      value: "N",
      section: MODEL,
      help: "tokenizer trained from scratch (default 4096)",
    },
    "tokenizer-bytes": {
      type: "string",
      value: "N",
      section: MODEL,
      help: "characters of corpus the tokenizer is trained on (default 20000000)",
    },
    corpus: {
      type: "string",
      multiple: true,
      value: "SPEC",
      section: DATA,
      help: `${CORPUS_KINDS.map((k) => `${k}:`).join(" ")}
  files:PATH           folder, file or .zip of source files
  jsonl:PATH[?field=code]  JSONL(.gz), one document per record
  lines:PATH           one function per line (CodeXGLUE)
  bench:NAME[:SPLIT]   prompt -> gold solution (?loss=all: loss on both)
  stdlib:python|go|java  the installed toolchain's standard library`,
    },
    heldout: {
      type: "string",
      value: "B:SPLIT:N",
      section: DATA,
      help:
        "keep the first N tasks of benchmark B's split (what `bench B --split SPLIT --limit N` " +
        "scores) out of every corpus",
    },
    "heldout-repos": {
      type: "boolean",
      section: DATA,
      help: "also drop every item from those tasks' repositories",
    },
    data: {
      type: "string",
      value: "PATH",
      section: DATA,
      help: "dataset file or folder for bench: corpora and --heldout",
    },
    "val-fraction": {
      type: "string",
      value: "X",
      section: DATA,
      help: "share of items held out for the validation loss (default 0.02)",
    },
    steps: {
      type: "string",
      value: "N",
      section: TRAINING,
      help: "optimizer steps (default 1000)",
    },
    batch: { type: "string", value: "ROWS", section: TRAINING, help: "rows per step (default 16)" },
    "micro-batch": {
      type: "string",
      value: "ROWS",
      section: TRAINING,
      help: "rows per micro-batch (default 8)",
    },
    "seq-len": {
      type: "string",
      value: "N",
      section: TRAINING,
      help: "tokens per row (default 256)",
    },
    lr: {
      type: "string",
      value: "X",
      section: TRAINING,
      help: "peak learning rate (default 1e-3)",
    },
    "min-lr-ratio": {
      type: "string",
      value: "X",
      section: TRAINING,
      help: "final learning rate over the peak (default 0.1)",
    },
    warmup: { type: "string", value: "N", section: TRAINING, help: "warm-up steps (default 100)" },
    "weight-decay": { type: "string", value: "X", section: TRAINING, help: "default 0.1" },
    "max-grad-norm": { type: "string", value: "X", section: TRAINING, help: "default 1" },
    seed: { type: "string", value: "S", section: TRAINING, help: "default 0" },
    backend: {
      type: "string",
      value: "NAME",
      section: TRAINING,
      help: `TensorFlow.js backend: ${BACKENDS.join(", ")}`,
    },
    out: {
      type: "string",
      value: "DIR",
      section: RUN,
      help: "run folder (default reports/sft/<config or model>-s<seed>)",
    },
    fresh: { type: "boolean", section: RUN, help: "delete the run folder and start over" },
    "eval-every": {
      type: "string",
      value: "N",
      section: RUN,
      help: "steps between validation losses (default 100)",
    },
    "eval-rows": {
      type: "string",
      value: "N",
      section: RUN,
      help: "validation rows per evaluation (default 64)",
    },
    "checkpoint-every": {
      type: "string",
      value: "N",
      section: RUN,
      help: "steps between checkpoints (default 200)",
    },
    "log-every": {
      type: "string",
      value: "N",
      section: RUN,
      help: "steps between progress lines (default 10)",
    },
    "no-onnx": { type: "boolean", section: RUN, help: "no ONNX export at the end" },
    json: { type: "boolean", section: RUN, help: "print the summary as JSON" },
  },
} as const satisfies CommandSpec;

type SftValues = Values<typeof SFT>;

/** Parsed command line: the trainer's options without the held-out set, which is loaded. */
export interface SftArgs {
  readonly options: Omit<SftOptions, "heldOut">;
  /** `B:SPLIT:N` of --heldout. */
  readonly heldOut?: { benchmark: string; split: string; limit: number; dropRepos: boolean };
  readonly json: boolean;
}

/** Parses `args`; `null` for `--help` or `--version`. Throws UsageError for a wrong line. */
export function parseSftArgs(args: readonly string[]): SftArgs | null {
  const parsed = parseCommand(SFT, args);
  return typeof parsed === "string" ? null : sftArgs(parsed.values);
}

/** The trainer's options from the parsed command line; throws UsageError for a wrong line. */
export function sftArgs(values: SftValues): SftArgs {
  const init = values.init;
  if (init === undefined) {
    throw new UsageError(
      "Cannot train without --init: pass --init random --config PRESET, or --init with a model folder",
    );
  }
  if (init === "random" && values.config === undefined) {
    throw new UsageError(
      `Cannot train from scratch without --config: pass one of ${
        Object.keys(MODEL_PRESETS).join(", ")
      } or a config.json path`,
    );
  }
  const heldOut = parseHeldOut(values.heldout, values["heldout-repos"] ?? false);
  const config = sftConfig({
    init: init === "random" ? "random" : "pretrained",
    model: init === "random" ? values.config! : init,
    corpora: values.corpus ?? [],
    heldOut: heldOut === undefined
      ? null
      : `${heldOut.benchmark}:${heldOut.split}:${heldOut.limit}${
        heldOut.dropRepos ? " and their repositories" : ""
      }`,
    ...configOf(values),
  });
  const out = values.out ?? join("reports", "sft", defaultRunName(config));
  const options: Omit<SftOptions, "heldOut"> = {
    config,
    corpora: config.corpora.map(parseCorpusSpec),
    read: { benchmark: getBenchmark, ...(values.data === undefined ? {} : { data: values.data }) },
    runDir: out,
    ...(values.fresh ? { fresh: true } : {}),
    ...(values["no-onnx"] ? { exportOnnx: false } : {}),
    ...(values.backend === undefined
      ? {}
      : { backend: choice("backend", values.backend, BACKENDS)! }),
  };
  return { options, ...(heldOut ? { heldOut } : {}), json: values.json ?? false };
}

/** `<config or model folder>-s<seed>`, in the characters run folders allow. */
export function defaultRunName(config: SftConfig): string {
  const base = config.init === "random" ? config.model : resolve(config.model);
  const name = base.split("/").filter(Boolean).at(-1)!.replace(/\.json$/, "");
  return `${name.replace(/[^A-Za-z0-9._-]+/g, "_")}-s${config.seed}`.replace(/^[._]+/, "");
}

function parseHeldOut(text: string | undefined, dropRepos: boolean): SftArgs["heldOut"] {
  if (text === undefined) return undefined;
  const match = /^([\w-]+):([^:]+):(\d+)$/.exec(text);
  if (match === null) {
    throw new UsageError(
      `Cannot parse --heldout as it must be BENCHMARK:SPLIT:N (the first N tasks): current value is "${text}"`,
    );
  }
  return { benchmark: match[1]!, split: match[2]!, limit: Number(match[3]), dropRepos };
}

function configOf(values: SftValues): Partial<SftConfig> {
  return {
    ...optional("vocabSize", integer("vocab-size", values["vocab-size"])),
    ...optional("tokenizerBytes", integer("tokenizer-bytes", values["tokenizer-bytes"])),
    ...optional("valFraction", number("val-fraction", values["val-fraction"])),
    ...optional("steps", integer("steps", values.steps)),
    ...optional("batchSize", integer("batch", values.batch)),
    ...optional("microBatch", integer("micro-batch", values["micro-batch"])),
    ...optional("seqLen", integer("seq-len", values["seq-len"])),
    ...optional("learningRate", number("lr", values.lr)),
    ...optional("minLrRatio", number("min-lr-ratio", values["min-lr-ratio"])),
    ...optional("warmupSteps", integer("warmup", values.warmup)),
    ...optional("weightDecay", number("weight-decay", values["weight-decay"])),
    ...optional("maxGradNorm", number("max-grad-norm", values["max-grad-norm"])),
    ...optional("seed", integer("seed", values.seed)),
    ...optional("evalEvery", integer("eval-every", values["eval-every"])),
    ...optional("evalRows", integer("eval-rows", values["eval-rows"])),
    ...optional("checkpointEvery", integer("checkpoint-every", values["checkpoint-every"])),
    ...optional("logEvery", integer("log-every", values["log-every"])),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Loads the `--heldout` tasks the way `bench --split SPLIT --limit N` selects them. */
export async function loadHeldOut(
  spec: NonNullable<SftArgs["heldOut"]>,
  data: string | undefined,
): Promise<HeldOut> {
  const loaded = await getBenchmark(spec.benchmark).load({
    split: spec.split,
    ...(data === undefined ? {} : { data }),
  });
  const tasks = (await selectTasks(loaded, { limit: spec.limit })).tasks;
  return heldOutFromTasks(
    `${spec.benchmark} ${loaded.split}, first ${tasks.length} tasks${
      spec.dropRepos ? " and their repositories" : ""
    }`,
    tasks,
    spec.dropRepos,
  );
}

/** The summary printed at the end. */
export function summary(result: SftResult): string {
  const { record, log } = result;
  const losses = log.filter((e) => e.valLoss !== undefined);
  const rate = log.length === 0 ? 0 : log.reduce((s, e) => s + e.tokens, 0) /
    Math.max(1e-9, log.reduce((s, e) => s + e.seconds, 0));
  const lines = [
    `sft run: ${result.runDir} (${record.status})`,
    `model ${record.model.source} (${record.model.init}, ${
      record.model.parameters.toLocaleString("en-US")
    } parameters), tokenizer ${record.tokenizer.vocabSize} tokens${
      record.tokenizer.trained ? " (trained)" : ""
    }, tfjs ${record.tfjs.backend}`,
    `data: ${record.dataset.trainRows} training rows (${
      record.dataset.trainTokens.toLocaleString("en-US")
    } tokens), ${record.dataset.valRows} held-out rows${
      record.heldOut ? `; kept out: ${record.heldOut.description}` : ""
    }`,
    `steps ${record.step}/${record.config.steps}${
      result.resumedFrom ? ` (resumed after ${result.resumedFrom})` : ""
    }, ${Math.round(rate).toLocaleString("en-US")} tok/s over the steps logged`,
  ];
  if (losses.length > 0) {
    lines.push(
      `held-out loss: ${losses.map((e) => `${e.step}: ${e.valLoss!.toFixed(3)}`).join(", ")}`,
    );
  }
  lines.push(`checkpoint: ${result.checkpoint || "none"}`);
  if (record.onnx) lines.push(`onnx export: ${join(result.runDir, record.onnx)}`);
  return lines.join("\n");
}

async function sft({ values }: Parsed<typeof SFT>): Promise<number> {
  const parsed = sftArgs(values);
  const data = parsed.options.read?.data;
  const heldOut = parsed.heldOut ? await loadHeldOut(parsed.heldOut, data) : undefined;
  const result = await trainSft({
    ...parsed.options,
    ...(heldOut ? { heldOut } : {}),
    log: (line) => console.error(line),
  });
  if (parsed.json) {
    console.log(JSON.stringify({ runDir: result.runDir, record: result.record }));
  } else {
    console.log(summary(result));
  }
  return 0;
}

if (import.meta.main) await runCommand(SFT, sft);
