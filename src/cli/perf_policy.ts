/**
 * `deno task perf:policy`: throughput of the TensorFlow.js policy on each backend that loads
 * here: forward, forward+backward (the PPO update's cost per token) and cached decoding (the
 * rollout's), in tokens per second of wall-clock and of CPU time, for a small configuration
 * (6 layers, width 256, context 256, vocabulary 32000) in both architectures and for the tiny
 * test models. For comparison, the same models exported to ONNX run on onnxruntime-node
 * (forward and decoding only), the path rollouts and evaluation can take.
 *
 * Usage: `deno task perf:policy --help`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { cpus } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { type ModelConfig, parseConfig, readConfig } from "../rl/config.ts";
import { generate } from "../rl/generate.ts";
import { llamaFromGenaiOnnx, readOnnxInitializers } from "../rl/onnx_import.ts";
import { CausalLm } from "../rl/model.ts";
import { exportOnnx } from "../rl/onnx_export.ts";
import { loadCheckpointTensors, writeAtomic } from "../rl/safetensors.ts";
import { argmax } from "../models/sampling.ts";
import {
  type BackendChoice,
  type BackendName,
  BACKENDS,
  describeBackend,
  selectBackend,
} from "../rl/tf_backend.ts";
import { choice, type CommandSpec, integer, list, type Parsed, runCommand } from "./_args.ts";

/** A model measured: a config, or a fixture folder under tests/fixtures/rl. */
interface Subject {
  readonly name: string;
  readonly config?: Record<string, unknown>;
  readonly fixture?: string;
  /** Sequence length of the forward and backward passes. */
  readonly seq: number;
}

const SMALL = { vocab_size: 32000, bos_token_id: 1, eos_token_id: 2 };

/** What is measured unless `--models` says otherwise. */
export const SUBJECTS: readonly Subject[] = [
  {
    name: "small-gpt2",
    seq: 256,
    config: { ...SMALL, model_type: "gpt2", n_embd: 256, n_layer: 6, n_head: 8, n_positions: 256 },
  },
  {
    name: "small-llama",
    seq: 256,
    config: {
      ...SMALL,
      model_type: "qwen2",
      hidden_size: 256,
      intermediate_size: 688,
      num_hidden_layers: 6,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      max_position_embeddings: 256,
    },
  },
  { name: "tiny-gpt2", fixture: "tiny-gpt2", seq: 32 },
  { name: "tiny-qwen2", fixture: "tiny-qwen2", seq: 32 },
  { name: "tiny-llama", fixture: "tiny-llama", seq: 32 },
];

/** One measurement row. */
export interface PerfRow {
  /** A TensorFlow.js backend, or `onnxruntime` for the model's ONNX export (no backward). */
  readonly backend: BackendName | "onnxruntime";
  readonly model: string;
  readonly parameters: number;
  readonly batch: number;
  readonly seq: number;
  /** Tokens per second through the full forward pass. */
  readonly forward: number;
  /** Tokens per second through forward and backward (gradients of all weights). */
  readonly forwardBackward: number;
  /** New tokens per second of cached greedy decoding, `batch` rows at a time. */
  readonly decode: number;
  /**
   * The same three per second of this process's CPU time: on a shared machine, what one
   * dedicated core would do (WASM and CPU backends run on one thread).
   */
  readonly perCpuSecond: {
    readonly forward: number;
    readonly forwardBackward: number;
    readonly decode: number;
  };
}

/** Seconds per call, wall-clock and CPU, after one warm-up call. */
interface Timing {
  readonly wall: number;
  readonly cpu: number;
}

async function build(subject: Subject): Promise<CausalLm> {
  if (subject.config) return CausalLm.random(parseConfig(subject.config), { seed: 0 });
  const dir = fileURLToPath(new URL(`../../tests/fixtures/rl/${subject.fixture}`, import.meta.url));
  const config: ModelConfig = await readConfig(dir);
  return CausalLm.fromTensors(config, await fixtureWeights(subject.fixture!, dir));
}

/** tiny-llama's weights are not committed: they are the shared ONNX model's (`../shared`). */
async function fixtureWeights(fixture: string, dir: string) {
  if (fixture !== "tiny-llama") return await loadCheckpointTensors(dir);
  const onnx = fileURLToPath(
    new URL("../../../shared/models/tiny-random-llama-fp16/model.onnx", import.meta.url),
  );
  if (!existsSync(onnx)) {
    throw new Deno.errors.NotFound(
      `Cannot measure tiny-llama as its weights come from "${onnx}", which is absent: run beside ../shared, or choose --models without it`,
    );
  }
  return llamaFromGenaiOnnx(await readOnnxInitializers(onnx), 2);
}

async function timed(iterations: number, fn: () => void | Promise<void>): Promise<Timing> {
  await fn();
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < iterations; i++) await fn();
  const used = process.cpuUsage(cpu);
  return {
    wall: (performance.now() - start) / 1000 / iterations,
    cpu: (used.user + used.system) / 1e6 / iterations,
  };
}

/** New tokens per decoding measurement. */
const NEW_TOKENS = 16;

/** Deterministic token rows `[batch, seq]` spread over the vocabulary. */
function inputRows(model: CausalLm, subject: Subject, batch: number): number[][] {
  const vocab = model.config.vocabSize;
  return Array.from(
    { length: batch },
    (_, b) => Array.from({ length: subject.seq }, (_, t) => (b * 7919 + t * 104729) % vocab),
  );
}

function int64(rows: number[][]): ort.Tensor {
  const data = BigInt64Array.from(rows.flat(), (x) => BigInt(x));
  return new ort.Tensor("int64", data, [rows.length, rows[0]!.length]);
}

/** Runs the export of a model on onnxruntime-node: the first step, or one step on a cache. */
async function onnxStep(
  session: ort.InferenceSession,
  model: CausalLm,
  ids: number[][],
  past: number,
  cache?: ort.InferenceSession.OnnxValueMapType,
) {
  const { numLayers, numKvHeads, headDim } = model.config;
  const t = ids[0]!.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: int64(ids),
    attention_mask: int64(ids.map(() => Array(past + t).fill(1))),
    position_ids: int64(ids.map(() => Array.from({ length: t }, (_, i) => past + i))),
  };
  for (let i = 0; i < numLayers; i++) {
    for (const part of ["key", "value"]) {
      feeds[`past_key_values.${i}.${part}`] = (cache?.[`present.${i}.${part}`] as ort.Tensor) ??
        new ort.Tensor("float32", new Float32Array(0), [ids.length, numKvHeads, 0, headDim]);
    }
  }
  return await session.run(feeds);
}

/** Forward and cached greedy decoding of the model's ONNX export on onnxruntime-node. */
async function measureOnnx(
  model: CausalLm,
  subject: Subject,
  options: { batch: number; iterations: number },
): Promise<PerfRow> {
  const dir = await Deno.makeTempDir({ prefix: "perf_policy_" });
  try {
    const session = await ort.InferenceSession.create(await exportOnnx(model, dir));
    const rows = inputRows(model, subject, options.batch);
    const forward = await timed(options.iterations, async () => {
      await onnxStep(session, model, rows, 0);
    });
    const prompts = rows.map((row) => row.slice(0, Math.min(64, subject.seq)));
    const v = model.config.vocabSize;
    const decode = await timed(1, async () => {
      let out = await onnxStep(session, model, prompts, 0);
      for (let step = 0; step < NEW_TOKENS; step++) {
        const logits = out.logits!.data as Float32Array;
        const t = out.logits!.dims[1]!;
        const next = prompts.map((
          _,
          b,
        ) => [argmax(logits.subarray(((b + 1) * t - 1) * v, (b + 1) * t * v))]);
        out = await onnxStep(session, model, next, prompts[0]!.length + step, out);
      }
    });
    await session.release();
    const tokens = options.batch * subject.seq;
    return {
      backend: "onnxruntime",
      model: subject.name,
      parameters: model.size,
      batch: options.batch,
      seq: subject.seq,
      forward: tokens / forward.wall,
      forwardBackward: NaN,
      decode: (options.batch * NEW_TOKENS) / decode.wall,
      perCpuSecond: {
        forward: tokens / forward.cpu,
        forwardBackward: NaN,
        decode: (options.batch * NEW_TOKENS) / decode.cpu,
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function measure(
  model: CausalLm,
  subject: Subject,
  options: { batch: number; iterations: number; backend: BackendName },
): Promise<PerfRow> {
  const { batch, iterations } = options;
  const rows = inputRows(model, subject, batch);
  const ids = tf.tensor2d(rows, undefined, "int32");
  const tokens = batch * subject.seq;
  const forward = await timed(iterations, () => {
    tf.tidy(() => model.score(ids).logprobs.sum().dataSync());
  });
  const forwardBackward = await timed(iterations, () => {
    tf.tidy(() => {
      const { value } = tf.variableGrads(() => model.score(ids).logprobs.mean().neg() as tf.Scalar);
      value.dataSync();
    });
  });
  ids.dispose();
  const prompts = rows.map((row) => row.slice(0, Math.min(64, subject.seq)));
  const decode = await timed(1, async () => {
    await generate(model, prompts, { maxNewTokens: NEW_TOKENS, eosTokenIds: [] });
  });
  return {
    backend: options.backend,
    model: subject.name,
    parameters: model.size,
    batch,
    seq: subject.seq,
    forward: tokens / forward.wall,
    forwardBackward: tokens / forwardBackward.wall,
    decode: (batch * NEW_TOKENS) / decode.wall,
    perCpuSecond: {
      forward: tokens / forward.cpu,
      forwardBackward: tokens / forwardBackward.cpu,
      decode: (batch * NEW_TOKENS) / decode.cpu,
    },
  };
}

const HEADER = `${"backend".padEnd(15)} ${"model".padEnd(12)} ${"params".padStart(8)} ${
  "batch".padStart(5)
} ${"seq".padStart(4)} ${"forward".padStart(9)} ${"fwd+bwd".padStart(9)} ${
  "decode".padStart(9)
} | per CPU-second: forward, fwd+bwd, decode`;

function format(row: PerfRow): string {
  const n = (x: number) => (Number.isNaN(x) ? "-" : x.toFixed(x < 100 ? 1 : 0)).padStart(9);
  return `${row.backend.padEnd(15)} ${row.model.padEnd(12)} ${
    (row.parameters / 1e6).toFixed(2).padStart(7)
  }M ${String(row.batch).padStart(5)} ${String(row.seq).padStart(4)} ${n(row.forward)} ${
    n(row.forwardBackward)
  } ${n(row.decode)} | ${n(row.perCpuSecond.forward)} ${n(row.perCpuSecond.forwardBackward)} ${
    n(row.perCpuSecond.decode)
  }`;
}

async function available(requested: readonly BackendName[]): Promise<BackendChoice[]> {
  const choices: BackendChoice[] = [];
  for (const name of requested) {
    try {
      choices.push(await selectBackend({ force: name, print: false }));
    } catch (error) {
      console.error(`skipping ${name}: ${(error as Error).message}`);
    }
  }
  return choices;
}

/** The `perf:policy` command line. */
export const PERF_POLICY = {
  name: "perf:policy",
  summary: "Throughput of the TensorFlow.js policy on each backend that loads here (forward, " +
    "forward+backward, cached decoding; tokens per second of wall-clock and of CPU time), and " +
    "of the same models' ONNX exports on onnxruntime-node.",
  options: {
    backend: {
      type: "string",
      multiple: true,
      value: "NAME",
      help: `TensorFlow.js backend to measure: ${BACKENDS.join(", ")} (default: every one)`,
    },
    batch: { type: "string", value: "N", help: "rows per pass (default 2)" },
    iterations: { type: "string", value: "N", help: "timed passes after a warm-up (default 2)" },
    models: {
      type: "string",
      value: "LIST",
      help: `models to measure (default all: ${SUBJECTS.map((s) => s.name).join(",")})`,
    },
    "skip-onnx": { type: "boolean", help: "skip the onnxruntime-node rows" },
    out: { type: "string", value: "FILE", help: "also write the rows as JSON to FILE" },
  },
} as const satisfies CommandSpec;

async function main({ values }: Parsed<typeof PERF_POLICY>): Promise<number> {
  const backends = values.backend?.map((b) => choice("backend", b, BACKENDS)!) ?? [...BACKENDS];
  const names = SUBJECTS.map((s) => s.name);
  const wanted = list(values.models)?.map((m) => choice("models", m, names)!) ?? names;
  const subjects = SUBJECTS.filter((s) => wanted.includes(s.name));
  const batch = integer("batch", values.batch, 1) ?? 2;
  const iterations = integer("iterations", values.iterations, 1) ?? 2;
  const host = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores`;
  console.log(`host: ${host}; tfjs ${tf.version.tfjs}; tokens/s after one warm-up pass`);
  const rows: PerfRow[] = [];
  const print = (row: PerfRow) => {
    rows.push(row);
    console.log(format(row));
  };
  const choices = await available(backends);
  for (const choice of choices) {
    await selectBackend({ force: choice.name, print: false });
    console.log(describeBackend(choice));
    console.log(HEADER);
    for (const subject of subjects) {
      const model = await build(subject);
      print(await measure(model, subject, { batch, iterations, backend: choice.name }));
      model.dispose();
    }
  }
  if (!values["skip-onnx"]) {
    console.log(`onnxruntime-node on each model's ONNX export (forward and decoding only)`);
    console.log(HEADER);
    for (const subject of subjects) {
      const model = await build(subject);
      print(await measureOnnx(model, subject, { batch, iterations }));
      model.dispose();
    }
  }
  if (values.out) {
    const record = { date: new Date().toISOString(), host, tfjs: tf.version.tfjs, choices, rows };
    await writeAtomic(values.out, JSON.stringify(record, null, 2) + "\n");
  }
  return 0;
}

if (import.meta.main) await runCommand(PERF_POLICY, main);
