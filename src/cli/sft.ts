/**
 * `deno task sft --init random --config PRESET --corpus SPEC ...` or `--init DIR`: supervised
 * next-token training of the TF.js policy on code corpora, with a progress line, checkpoints in
 * the PPO trainer's layout, and a summary. Rerunning the same command resumes the run.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { selectTasks } from "../run.ts";
import { MODEL_PRESETS, type SftConfig, sftConfig } from "../rl/sft/config.ts";
import { CORPUS_KINDS, type HeldOut, heldOutFromTasks, parseCorpusSpec } from "../rl/sft/corpus.ts";
import { type SftOptions, type SftResult, trainSft } from "../rl/sft/trainer.ts";
import { parseBackendName } from "../rl/tf_backend.ts";

const USAGE = `Usage: deno task sft --init random --config PRESET|FILE --corpus SPEC [...] [options]
       deno task sft --init MODEL_DIR --corpus SPEC [...] [options]

Supervised next-token training (SFT / continued pretraining) of the TF.js policy on code. From
scratch, a byte-level BPE tokenizer is trained on the corpora first. Checkpoints are Hugging Face
folders that \`deno task train --model\` takes; the last one is exported to ONNX for
\`deno task bench --model onnx:DIR\`. Rerun the same command to resume.

Model:
  --init random|DIR       random weights (needs --config), or a Hugging Face folder or
                          onnxruntime-genai Llama export to continue from
  --config PRESET|FILE    ${Object.keys(MODEL_PRESETS).join(", ")}, or a config.json
  --vocab-size N          tokenizer trained from scratch (default 4096)
  --tokenizer-bytes N     characters of corpus the tokenizer is trained on (default 20000000)
Data (repeat --corpus; options after ?, e.g. files:src/?ext=.java&max-bytes=5000000):
  --corpus SPEC           ${CORPUS_KINDS.map((k) => `${k}:`).join(" ")}
                            files:PATH           folder, file or .zip of source files
                            jsonl:PATH[?field=code]  JSONL(.gz), one document per record
                            lines:PATH           one function per line (CodeXGLUE)
                            bench:NAME[:SPLIT]   prompt -> gold solution, loss on the solution
                                                 (?loss=all: on both)
                            stdlib:python|go|java  the installed toolchain's standard library
  --heldout B:SPLIT:N     keep the first N tasks of benchmark B's split (what
                          \`bench B --split SPLIT --limit N\` scores) out of every corpus
  --heldout-repos         also drop every item from those tasks' repositories
  --data PATH             dataset file or folder for bench: corpora and --heldout
  --val-fraction X        share of items held out for the validation loss (default 0.02)
Training:
  --steps N (1000)  --batch ROWS (16)  --micro-batch ROWS (8)  --seq-len N (256)
  --lr X (1e-3)  --min-lr-ratio X (0.1)  --warmup N (100)  --weight-decay X (0.1)
  --max-grad-norm X (1)  --seed S (0)
  --backend NAME          TensorFlow.js backend: tensorflow-gpu, tensorflow, wasm, cpu
Run:
  --out DIR               run folder (default reports/sft/<config or model>-s<seed>)
  --fresh                 delete the run folder and start over
  --eval-every N (100)  --eval-rows N (64)  --checkpoint-every N (200)  --log-every N (10)
  --no-onnx               no ONNX export at the end
  --json                  print the summary as JSON
`;

const FLAGS = {
  init: { type: "string" },
  config: { type: "string" },
  "vocab-size": { type: "string" },
  "tokenizer-bytes": { type: "string" },
  corpus: { type: "string", multiple: true },
  heldout: { type: "string" },
  "heldout-repos": { type: "boolean" },
  data: { type: "string" },
  "val-fraction": { type: "string" },
  steps: { type: "string" },
  batch: { type: "string" },
  "micro-batch": { type: "string" },
  "seq-len": { type: "string" },
  lr: { type: "string" },
  "min-lr-ratio": { type: "string" },
  warmup: { type: "string" },
  "weight-decay": { type: "string" },
  "max-grad-norm": { type: "string" },
  seed: { type: "string" },
  backend: { type: "string" },
  out: { type: "string" },
  fresh: { type: "boolean" },
  "eval-every": { type: "string" },
  "eval-rows": { type: "string" },
  "checkpoint-every": { type: "string" },
  "log-every": { type: "string" },
  "no-onnx": { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>["values"];

/** Parsed command line: the trainer's options without the held-out set, which is loaded. */
export interface SftArgs {
  readonly options: Omit<SftOptions, "heldOut">;
  /** `B:SPLIT:N` of --heldout. */
  readonly heldOut?: { benchmark: string; split: string; limit: number; dropRepos: boolean };
  readonly json: boolean;
}

/** Parses `args`; `null` asks for the usage text. */
export function parseSftArgs(args: string[]): SftArgs | null {
  const { values } = parseArgs({ args, options: FLAGS });
  if (values.help || args.length === 0) return null;
  const init = values.init;
  if (init === undefined) {
    throw new TypeError(
      "Cannot train without --init: pass --init random --config PRESET, or --init with a model folder",
    );
  }
  if (init === "random" && values.config === undefined) {
    throw new TypeError(
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
    ...(values.backend === undefined ? {} : { backend: parseBackendName(values.backend) }),
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
    throw new RangeError(
      `Cannot parse --heldout as it must be BENCHMARK:SPLIT:N (the first N tasks): current value is "${text}"`,
    );
  }
  return { benchmark: match[1]!, split: match[2]!, limit: Number(match[3]), dropRepos };
}

function configOf(values: Values): Partial<SftConfig> {
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

function integer(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || text.trim() === "") {
    throw new RangeError(
      `Cannot parse --${flag} as it must be a non-negative integer: current value is "${text}"`,
    );
  }
  return value;
}

function number(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || text.trim() === "") {
    throw new RangeError(
      `Cannot parse --${flag} as it must be a number: current value is "${text}"`,
    );
  }
  return value;
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

async function main(args: string[]): Promise<number> {
  const parsed = parseSftArgs(args);
  if (parsed === null) {
    console.log(USAGE);
    return args.length === 0 ? 2 : 0;
  }
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

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
