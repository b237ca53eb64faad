/**
 * `deno task perf:sft`: SFT training throughput per TensorFlow.js backend, side by side in one
 * process: the same model (a preset of `deno task sft`, same initial weights) trains the same
 * batches on each backend that loads, and the tokens per second of wall-clock and of CPU time
 * (all threads of the process) are printed with the load average, since our machines are shared.
 *
 * Usage: deno task perf:sft [--config llama-5m] [--backend tensorflow --backend wasm]
 *        [--steps 4] [--batch 8] [--micro-batch 8] [--seq-len 256] [--vocab 4096] [--json]
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { loadavg } from "node:os";
import process from "node:process";
import { parseConfig } from "../rl/config.ts";
import { CausalLm } from "../rl/model.ts";
import { Adam } from "../rl/ppo/adam.ts";
import { randomModelConfig } from "../rl/sft/config.ts";
import type { Rows } from "../rl/sft/dataset.ts";
import { trainStep } from "../rl/sft/step.ts";
import { type BackendName, BACKENDS, describeBackend, selectBackend } from "../rl/tf_backend.ts";
import { choice, type CommandSpec, integer, type Parsed, runCommand } from "./_args.ts";

/** One backend's figures. */
export interface SftPerf {
  readonly backend: string;
  readonly detail: string;
  readonly steps: number;
  readonly tokens: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly tokensPerSecond: number;
  readonly tokensPerCpuSecond: number;
  /** Loss of the last step (the same weights and batches on every backend). */
  readonly lastLoss: number;
  readonly loadAverage: readonly number[];
}

/** Options of {@linkcode measureSft}. */
export interface MeasureSftOptions {
  readonly config: string;
  readonly steps: number;
  readonly batch: number;
  readonly microBatch: number;
  readonly seqLen: number;
  readonly vocab: number;
}

function syntheticRows(rows: number, seqLen: number, vocab: number): Rows {
  // A fixed, text-like stream: a repeating pattern with noise, so the loss moves.
  let state = 12345;
  const tokens = new Int32Array(rows * seqLen);
  for (let i = 0; i < tokens.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    tokens[i] = ((i % 17) * 7 + (state % 5 === 0 ? state : 0)) % vocab;
  }
  const offsets = Int32Array.from({ length: rows + 1 }, (_, r) => r * seqLen);
  return { tokens, offsets, lossStart: new Int32Array(rows).fill(1) };
}

/** Trains `steps` steps (after one warm-up step) on `backend`; returns its figures. */
export async function measureSft(
  backend: BackendName,
  options: MeasureSftOptions,
): Promise<SftPerf> {
  const choice = await selectBackend({ force: backend, print: false });
  const raw = await randomModelConfig(options.config, {
    vocabSize: options.vocab,
    eosTokenId: 0,
    seqLen: options.seqLen,
  });
  const model = CausalLm.random(parseConfig(raw), { seed: 0 });
  const adam = new Adam({
    learningRate: 1e-3,
    beta1: 0.9,
    beta2: 0.95,
    epsilon: 1e-8,
    maxGradNorm: 1,
  });
  const rows = syntheticRows(options.batch, options.seqLen, options.vocab);
  const picked = [...Array(options.batch).keys()];
  const step = () =>
    trainStep(model, adam, rows, picked, {
      microBatch: options.microBatch,
      learningRate: 1e-3,
      weightDecay: 0.1,
      pad: 0,
    });
  step();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let tokens = 0;
  let lastLoss = NaN;
  for (let i = 0; i < options.steps; i++) {
    const stats = step();
    tokens += stats.tokens;
    lastLoss = stats.loss;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  model.dispose();
  adam.dispose();
  return {
    backend: choice.name,
    detail: describeBackend(choice),
    steps: options.steps,
    tokens,
    wallSeconds,
    cpuSeconds,
    tokensPerSecond: tokens / wallSeconds,
    tokensPerCpuSecond: tokens / cpuSeconds,
    lastLoss,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** The `perf:sft` command line. */
export const PERF_SFT = {
  name: "perf:sft",
  usage: "[options]",
  summary: "SFT training throughput per TensorFlow.js backend, side by side in one process: the " +
    "same model (a preset of `deno task sft`, same initial weights) trains the same batches on " +
    "each backend that loads, and the tokens per second of wall-clock and of CPU time (all " +
    "threads of the process) are printed with the load average, since our machines are shared.",
  options: {
    config: {
      type: "string",
      value: "PRESET",
      help: "model preset of deno task sft (default llama-5m)",
    },
    backend: {
      type: "string",
      multiple: true,
      value: "NAME",
      help: `TensorFlow.js backend to measure: ${
        BACKENDS.join(", ")
      } (default tensorflow, then wasm)`,
    },
    steps: { type: "string", value: "N", help: "steps measured after one warm-up (default 4)" },
    batch: { type: "string", value: "ROWS", help: "rows per step (default 8)" },
    "micro-batch": { type: "string", value: "ROWS", help: "rows per micro-batch (default 8)" },
    "seq-len": { type: "string", value: "N", help: "tokens per row (default 256)" },
    vocab: { type: "string", value: "N", help: "vocabulary size (default 4096)" },
    json: { type: "boolean", help: "also print the figures as JSON on stdout" },
  },
} as const satisfies CommandSpec;

async function perfSft({ values }: Parsed<typeof PERF_SFT>): Promise<number> {
  const options: MeasureSftOptions = {
    config: values.config ?? "llama-5m",
    steps: integer("steps", values.steps, 1) ?? 4,
    batch: integer("batch", values.batch, 1) ?? 8,
    microBatch: integer("micro-batch", values["micro-batch"], 1) ?? 8,
    seqLen: integer("seq-len", values["seq-len"], 1) ?? 256,
    vocab: integer("vocab", values.vocab, 1) ?? 4096,
  };
  const backends: BackendName[] = values.backend?.map((b) => choice("backend", b, BACKENDS)!) ??
    ["tensorflow", "wasm"];
  const results: SftPerf[] = [];
  console.error(
    `perf:sft ${options.config}, batch ${options.batch} x ${options.seqLen} tokens, ${options.steps} steps after 1 warm-up, tfjs ${tf.version.tfjs}`,
  );
  for (const backend of backends) {
    try {
      const r = await measureSft(backend, options);
      results.push(r);
      console.error(
        `${r.backend.padEnd(10)} ${
          Math.round(r.tokensPerSecond).toString().padStart(7)
        } tok/s wall  ${Math.round(r.tokensPerCpuSecond).toString().padStart(7)} tok/CPU-s  (${
          r.wallSeconds.toFixed(1)
        } s wall, ${r.cpuSeconds.toFixed(1)} s CPU, last loss ${
          r.lastLoss.toFixed(4)
        }, load average ${r.loadAverage.join(" ")})`,
      );
    } catch (error) {
      console.error(`${backend}: not measured: ${error instanceof Error ? error.message : error}`);
    }
  }
  const base = results.find((r) => r.backend === "wasm");
  for (const r of results.filter((r) => r !== base && base !== undefined)) {
    console.error(
      `${r.backend} vs wasm: ${(r.tokensPerSecond / base!.tokensPerSecond).toFixed(2)}x wall, ${
        (r.tokensPerCpuSecond / base!.tokensPerCpuSecond).toFixed(2)
      }x per CPU-second`,
    );
  }
  if (values.json) console.log(JSON.stringify({ options, results }));
  return 0;
}

if (import.meta.main) await runCommand(PERF_SFT, perfSft);
