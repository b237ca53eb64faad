/**
 * `deno task perf:generate [MODEL...] [--tokens N] [--repeats N] [--batch LIST] [--json]`:
 * generation throughput (new tokens per second) of the `onnx:` backend's decoder, greedy and
 * sampled, at each batch size. Models default to the tiny ONNX models in `../shared/models/`.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { OnnxBackend } from "../models/onnx.ts";
import { argmax, chooseToken, seededRandom } from "../models/sampling.ts";
import { type CommandSpec, integer, list, type Parsed, runCommand, UsageError } from "./_args.ts";

const DEFAULT_MODELS = ["tiny-random-llama-fp16", "tiny-random-gpt2-fp32"].map((name) =>
  fileURLToPath(new URL(`../../../shared/models/${name}`, import.meta.url))
);

/** Ids that every tokenizer/vocabulary pair of the tiny models accepts (GPT-2's has 1000). */
const PROMPT = "a(b, c)\n";

/** One measured configuration. */
export interface Throughput {
  readonly model: string;
  readonly batch: number;
  readonly mode: "greedy" | "sampled";
  readonly newTokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
}

/** Times `repeats` generations of `tokens` new tokens for `batch` copies of the prompt. */
async function measure(
  backend: OnnxBackend,
  batch: number,
  mode: Throughput["mode"],
  tokens: number,
  repeats: number,
): Promise<Omit<Throughput, "model">> {
  const prompt = backend.encode(PROMPT);
  const randoms = Array.from({ length: batch }, (_, i) => seededRandom(0, i));
  const sampled = { temperature: 0.8, topP: 0.95, topK: 0 };
  const run = () =>
    backend.decoder.generate(Array.from({ length: batch }, () => prompt), {
      maxTokens: Array.from({ length: batch }, () => tokens),
      padTokenId: backend.config.padTokenId,
      choose: (row, logits) =>
        mode === "greedy" ? argmax(logits) : chooseToken(logits, sampled, randoms[row]!),
      done: () => false, // fixed length, so every run does the same work
    });
  await run(); // warm-up
  const started = performance.now();
  let newTokens = 0;
  for (let r = 0; r < repeats; r++) newTokens += (await run()).flat().length;
  const seconds = (performance.now() - started) / 1000;
  return { batch, mode, newTokens, seconds, tokensPerSecond: newTokens / seconds };
}

/** The `perf:generate` command line. */
export const PERF_GENERATE = {
  name: "perf:generate",
  usage: "[MODEL_FOLDER...] [options]",
  summary: "Generation throughput (new tokens per second) of the onnx: backend's decoder, greedy " +
    "and sampled, at each batch size. Models default to the tiny ONNX models in ../shared/models/.",
  positionals: { min: 0, max: 16, label: "model folder" },
  options: {
    tokens: { type: "string", value: "N", help: "new tokens per generation (default 64)" },
    repeats: { type: "string", value: "N", help: "timed generations per setting (default 3)" },
    batch: { type: "string", value: "LIST", help: "batch sizes (default 1,8)" },
    json: { type: "boolean", help: "print the results as JSON" },
  },
} as const satisfies CommandSpec;

async function main({ values, positionals }: Parsed<typeof PERF_GENERATE>): Promise<number> {
  const tokens = integer("tokens", values.tokens, 1) ?? 64;
  const repeats = integer("repeats", values.repeats, 1) ?? 3;
  const batches = (list(values.batch) ?? ["1", "8"]).map((b) => integer("batch", b, 1)!);
  for (const model of positionals) {
    if (!existsSync(model)) throw new UsageError(`model folder "${model}" does not exist`);
  }
  const models = positionals.length > 0
    ? [...positionals]
    : DEFAULT_MODELS.filter((m) => existsSync(m));
  if (models.length === 0) {
    throw new Error(
      `Cannot measure generation as no model was found: pass model folders, or put the tiny ` +
        `models in ${DEFAULT_MODELS.join(" and ")}`,
    );
  }
  const results: Throughput[] = [];
  for (const model of models) {
    const backend = await OnnxBackend.open(model, { batchSize: Math.max(...batches) });
    try {
      for (const batch of batches) {
        for (const mode of ["greedy", "sampled"] as const) {
          const result = await measure(backend, batch, mode, tokens, repeats);
          results.push({ model: model.split("/").at(-1) ?? model, ...result });
        }
      }
    } finally {
      await backend.close();
    }
  }
  console.log(values.json ? JSON.stringify(results, null, 2) : formatTable(results));
  return 0;
}

function formatTable(results: readonly Throughput[]): string {
  const cpu = cpus();
  const header = `onnx: generation throughput, onnxruntime-node CPU, ${cpu.length} cores ` +
    `(${cpu[0]?.model.trim() ?? "unknown CPU"}), prompt ${JSON.stringify(PROMPT)}`;
  const rows = results.map((r) =>
    [
      r.model.padEnd(26),
      String(r.batch).padStart(5),
      r.mode.padEnd(8),
      String(r.newTokens).padStart(7),
      r.tokensPerSecond.toFixed(0).padStart(9),
    ].join("  ")
  );
  const columns = [
    "model".padEnd(26),
    "batch",
    "mode    ",
    "tokens".padStart(7),
    "tokens/s".padStart(9),
  ].join("  ");
  return [header, columns, ...rows].join("\n");
}

if (import.meta.main) await runCommand(PERF_GENERATE, main);
