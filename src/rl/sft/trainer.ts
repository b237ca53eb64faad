/**
 * Supervised next-token training (SFT, or continued pretraining) of the TF.js policy. The loop
 * reads top to bottom: set up (backend, run folder, corpora with the held-out tasks kept out, a
 * tokenizer trained for the corpus when starting from scratch, the packed dataset, the model from
 * scratch, from a model folder, or from the run's newest checkpoint), then per step take the
 * step's rows, set the scheduled learning rate, train, log; held-out loss and checkpoints every N
 * steps and at the end, then the final checkpoint's ONNX export for `deno task bench`.
 *
 * Rerunning the same command resumes from the newest whole checkpoint (a `kill -9` leaves only
 * whole ones) with the same data order; a changed configuration is refused, naming the fields.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { harnessVersion, hostInfo } from "../../report/provenance.ts";
import { JsonlAppender } from "../../util/jsonl.ts";
import { sha256File } from "../../util/hash.ts";
import { parseConfig } from "../config.ts";
import { loadTrainablePolicy } from "../load_model.ts";
import { CausalLm } from "../model.ts";
import { exportOnnx } from "../onnx_export.ts";
import { ActorCritic } from "../policy.ts";
import { Adam } from "../ppo/adam.ts";
import { latestCheckpoint, loadTrainerState, saveCheckpoint } from "../ppo/checkpoint.ts";
import { type BackendName, describeBackend, selectBackend } from "../tf_backend.ts";
import { loadTokenizer } from "../tokenizer.ts";
import { ValueHead } from "../value_head.ts";
import { ByteLevelBpeEncoder, countWords, END_OF_TEXT, saveTokenizer, trainBpe } from "./bpe.ts";
import {
  learningRateAt,
  randomModelConfig,
  type SftConfig,
  sftConfigDifferences,
} from "./config.ts";
import {
  applyHeldOut,
  type Corpus,
  type CorpusItem,
  type CorpusSpec,
  type HeldOut,
  readCorpus,
  type ReadCorpusOptions,
} from "./corpus.ts";
import {
  batchRows,
  buildDataset,
  type Encoding,
  epochsAt,
  rowCount,
  type SftDataset,
} from "./dataset.ts";
import {
  type CorpusRecord,
  readSftLog,
  SFT_LOG_FILE,
  SFT_RECORD_FILE,
  type SftLogEntry,
  type SftRecord,
  type SftTrainerState,
  truncateSftLog,
  writeSftRecord,
} from "./record.ts";
import { heldOutLoss, trainStep } from "./step.ts";

/** Options of {@linkcode trainSft}. */
export interface SftOptions {
  readonly config: SftConfig;
  /** The corpora, parsed (`config.corpora` holds their text for the record). */
  readonly corpora: readonly CorpusSpec[];
  readonly read?: ReadCorpusOptions;
  /** Evaluation tasks kept out of every corpus. */
  readonly heldOut?: HeldOut;
  /** The run folder: checkpoints, logs, tokenizer, dataset cache. */
  readonly runDir: string;
  /** Delete the run folder first instead of resuming it. */
  readonly fresh?: boolean;
  readonly backend?: BackendName;
  /** Export the final checkpoint to ONNX for `bench --model onnx:DIR`. @default true */
  readonly exportOnnx?: boolean;
  /** Stop after this step as if killed (tests of resumption). */
  readonly stopAfter?: number;
  readonly log?: (line: string) => void;
  readonly onStep?: (entry: SftLogEntry) => void;
}

/** What {@linkcode trainSft} returns. */
export interface SftResult {
  readonly runDir: string;
  readonly record: SftRecord;
  readonly log: readonly SftLogEntry[];
  /** The step the run resumed after (0 for a fresh run). */
  readonly resumedFrom: number;
  /** The newest checkpoint folder (a Hugging Face folder `deno task train --model` takes). */
  readonly checkpoint: string;
}

/** A changed configuration on rerun, refused. */
export class SftConfigMismatchError extends Error {
  override name = "SftConfigMismatchError";
}

/** Trains; see {@linkcode SftOptions}. */
export async function trainSft(options: SftOptions): Promise<SftResult> {
  const { config, runDir } = options;
  const log = options.log ?? (() => {});
  const backend = await selectBackend({
    ...(options.backend ? { force: options.backend } : {}),
    print: false,
  });
  log(describeBackend(backend));
  await prepareRunDir(runDir, config, options.fresh ?? false);
  const { corpora, items } = await readCorpora(options, log);
  const tokenizer = await prepareTokenizer(config, runDir, items, log);
  const dataset = prepareDataset(config, items, tokenizer.encoding, log);
  const latest = await latestCheckpoint(runDir);
  const adam = new Adam({
    learningRate: config.learningRate,
    beta1: config.adamBeta1,
    beta2: config.adamBeta2,
    epsilon: config.adamEpsilon,
    maxGradNorm: config.maxGradNorm,
  });
  const { policy, state } = await startPolicy(config, tokenizer, latest, adam, log);
  await truncateSftLog(runDir, state.iteration);
  const startedAt = await previousStart(runDir);
  let record: SftRecord = {
    schema: 1,
    kind: "sft",
    id: basename(runDir),
    config,
    model: {
      init: config.init,
      source: config.model,
      parameters: policy.model.size,
      config: policy.model.config.raw,
    },
    tokenizer: {
      dir: relative(runDir, tokenizer.dir) || ".",
      trained: tokenizer.trained,
      sha256: tokenizer.sha256,
      vocabSize: policy.model.config.vocabSize,
    },
    corpora,
    heldOut: options.heldOut
      ? {
        description: options.heldOut.description,
        tasks: options.heldOut.taskIds.length,
        repos: options.heldOut.repos.length,
        dropRepos: options.heldOut.dropRepos,
      }
      : null,
    dataset: {
      ...dataset.stats,
      trainRows: rowCount(dataset.train),
      valRows: rowCount(dataset.val),
    },
    tfjs: { backend: backend.name, version: tf.version.tfjs, detail: describeBackend(backend) },
    provenance: {
      harness: await harnessVersion(),
      startedAt,
      finishedAt: new Date().toISOString(),
      host: hostInfo(),
    },
    status: "running",
    step: state.iteration,
    checkpoints: await listCheckpoints(runDir),
    onnx: null,
    last: { loss: null, valLoss: null },
  };
  await writeSftRecord(runDir, record);
  try {
    record = await loop({ options, policy, adam, dataset, tokenizer, state, log }, record);
    const checkpoint = await latestCheckpoint(runDir) ?? "";
    if (record.step === config.steps && (options.exportOnnx ?? true)) {
      const onnx = join(runDir, "onnx");
      await exportOnnx(policy.model, onnx, { tokenizerFrom: tokenizer.dir });
      record = { ...record, onnx: relative(runDir, onnx), status: "finished" };
      log(`onnx export ${onnx}`);
    } else if (record.step === config.steps) {
      record = { ...record, status: "finished" };
    }
    record = {
      ...record,
      provenance: { ...record.provenance, finishedAt: new Date().toISOString() },
    };
    await writeSftRecord(runDir, record);
    return {
      runDir,
      record,
      log: await readSftLog(runDir),
      resumedFrom: latest === undefined ? 0 : state.iteration,
      checkpoint,
    };
  } finally {
    policy.dispose();
    adam.dispose();
  }
}

interface LoopContext {
  readonly options: SftOptions;
  readonly policy: ActorCritic;
  readonly adam: Adam;
  readonly dataset: SftDataset;
  readonly tokenizer: PreparedTokenizer;
  readonly state: SftTrainerState;
  readonly log: (line: string) => void;
}

async function loop(ctx: LoopContext, record: SftRecord): Promise<SftRecord> {
  const { config, runDir } = ctx.options;
  const model = ctx.policy.model;
  const pad = ctx.tokenizer.encoding.eos;
  const file = await JsonlAppender.open(join(runDir, SFT_LOG_FILE));
  let elapsed = ctx.state.elapsed;
  const stopAt = Math.min(config.steps, ctx.options.stopAfter ?? Infinity);
  try {
    for (let step = ctx.state.iteration + 1; step <= stopAt; step++) {
      const started = performance.now();
      const picked = batchRows(ctx.dataset.train, step, config.batchSize, config.seed);
      const lr = learningRateAt(step, config);
      const stats = trainStep(model, ctx.adam, ctx.dataset.train, picked, {
        microBatch: config.microBatch,
        learningRate: lr,
        weightDecay: config.weightDecay,
        pad,
      });
      const seconds = (performance.now() - started) / 1000;
      elapsed += seconds;
      const last = step === config.steps;
      const val = last || step % config.evalEvery === 0
        ? heldOutLoss(model, ctx.dataset.val, {
          limit: config.evalRows,
          microBatch: config.microBatch,
          pad,
        }).loss
        : undefined;
      const entry: SftLogEntry = {
        step,
        lr,
        loss: stats.loss,
        gradNorm: stats.gradNorm,
        tokens: stats.tokens,
        lossTokens: stats.lossTokens,
        seconds,
        tokensPerSecond: stats.tokens / seconds,
        epoch: epochsAt(ctx.dataset.train, step, config.batchSize),
        elapsed,
        ...(val === undefined || Number.isNaN(val) ? {} : { valLoss: val }),
      };
      await file.append(entry);
      ctx.options.onStep?.(entry);
      if (step % config.logEvery === 0 || val !== undefined || step === 1) {
        ctx.log(progressLine(entry, config));
      }
      record = {
        ...record,
        step,
        last: { loss: stats.loss, valLoss: val ?? record.last.valLoss },
      };
      if (last || step % config.checkpointEvery === 0) {
        const state: SftTrainerState = {
          ...ctx.state,
          iteration: step,
          cursor: step * config.batchSize,
          elapsed,
        };
        const dir = await saveCheckpoint(runDir, ctx.policy, ctx.adam, state, ctx.tokenizer.dir);
        record = { ...record, checkpoints: await listCheckpoints(runDir) };
        ctx.log(`checkpoint ${dir}`);
        await writeSftRecord(runDir, record);
      }
    }
  } finally {
    file.close();
  }
  return record;
}

/** `sft step 120/1000  loss 3.214  val 3.300  lr 9.8e-4  |g| 0.83  2,341 tok/s  epoch 0.42  12m05s (eta 36m)` */
export function progressLine(entry: SftLogEntry, config: SftConfig): string {
  const eta = (entry.elapsed / entry.step) * (config.steps - entry.step);
  return [
    `sft step ${entry.step}/${config.steps}`,
    `loss ${entry.loss.toFixed(3)}`,
    ...(entry.valLoss === undefined ? [] : [`val ${entry.valLoss.toFixed(3)}`]),
    `lr ${entry.lr.toExponential(1)}`,
    `|g| ${entry.gradNorm.toFixed(2)}`,
    `${Math.round(entry.tokensPerSecond).toLocaleString("en-US")} tok/s`,
    `epoch ${entry.epoch.toFixed(2)}`,
    `${clock(entry.elapsed)} (eta ${clock(eta)})`,
  ].join("  ");
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${rest}s`;
}

/** Refuses to resume a run whose stored configuration differs (naming the fields). */
async function prepareRunDir(runDir: string, config: SftConfig, fresh: boolean): Promise<void> {
  if (fresh) await Deno.remove(runDir, { recursive: true }).catch(() => {});
  const path = join(runDir, SFT_RECORD_FILE);
  if (existsSync(path)) {
    const stored = JSON.parse(await Deno.readTextFile(path)) as SftRecord;
    const differences = sftConfigDifferences(stored.config, config);
    if (differences.length > 0) {
      throw new SftConfigMismatchError(
        `Cannot resume SFT run "${runDir}" as its configuration differs: ${
          differences.join("; ")
        }: rerun with the same options, or pass --fresh to start over or --run NAME for a new run`,
      );
    }
  }
  await Deno.mkdir(runDir, { recursive: true });
}

async function previousStart(runDir: string): Promise<string> {
  const path = join(runDir, SFT_RECORD_FILE);
  if (!existsSync(path)) return new Date().toISOString();
  return (JSON.parse(await Deno.readTextFile(path)) as SftRecord).provenance.startedAt;
}

async function listCheckpoints(runDir: string): Promise<string[]> {
  const root = join(runDir, "checkpoints");
  if (!existsSync(root)) return [];
  const names: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.isDirectory && /^iter-\d{6}$/.test(entry.name)) {
      names.push(`checkpoints/${entry.name}`);
    }
  }
  return names.sort();
}

async function readCorpora(options: SftOptions, log: (line: string) => void) {
  const corpora: CorpusRecord[] = [];
  const items: CorpusItem[] = [];
  for (const spec of options.corpora) {
    let corpus: Corpus = await readCorpus(spec, options.read ?? {});
    const read = corpus.items.length;
    let heldOut: CorpusRecord["heldOut"];
    if (options.heldOut) {
      const applied = applyHeldOut(corpus, options.heldOut);
      corpus = applied.corpus;
      heldOut = applied.count;
    }
    const chars = corpus.items.reduce((s, i) => s + i.text.length + (i.prompt?.length ?? 0), 0);
    corpora.push({
      spec: spec.spec,
      source: corpus.source,
      read,
      chars,
      ...(heldOut ? { heldOut } : {}),
    });
    items.push(...corpus.items);
    const dropped = heldOut ? ` (held out: ${read - heldOut.kept} dropped)` : "";
    log(
      `corpus ${spec.spec}: ${corpus.items.length} items, ${
        chars.toLocaleString("en-US")
      } chars${dropped}`,
    );
  }
  if (items.length === 0) {
    throw new RangeError(
      `Cannot train as the corpora hold no text after the held-out filter: check --corpus`,
    );
  }
  return { corpora, items };
}

interface PreparedTokenizer {
  readonly dir: string;
  readonly trained: boolean;
  readonly encoding: Encoding;
  readonly sha256: string;
}

/** The model folder's tokenizer, or one trained for the corpus (kept in the run folder). */
async function prepareTokenizer(
  config: SftConfig,
  runDir: string,
  items: readonly CorpusItem[],
  log: (line: string) => void,
): Promise<PreparedTokenizer> {
  const trained = config.init === "random";
  const dir = trained ? join(runDir, "tokenizer") : config.model;
  if (trained && !existsSync(join(dir, "tokenizer.json"))) {
    const started = performance.now();
    const texts = tokenizerSample(items, config.tokenizerBytes);
    const model = trainBpe(countWords(texts), { vocabSize: config.vocabSize });
    await saveTokenizer(dir, model, config.seqLen);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    log(
      `tokenizer: byte-level BPE of ${model.vocab.length} tokens trained in ${seconds} s on ${texts.length} texts -> ${dir}`,
    );
  }
  const path = join(dir, "tokenizer.json");
  const json = JSON.parse(await Deno.readTextFile(path)) as Record<string, unknown>;
  const fast = ByteLevelBpeEncoder.from(json);
  const library = await loadTokenizer(dir);
  const prefix = library.encode("", { addSpecialTokens: true });
  const eos = library.tokenId(END_OF_TEXT) ?? await configEos(config);
  return {
    dir,
    trained,
    sha256: await sha256File(path),
    encoding: {
      encode: fast
        ? (text) => fast.encode(text)
        : (text) => library.encode(text, { addSpecialTokens: false }),
      prefix,
      eos,
    },
  };
}

async function configEos(config: SftConfig): Promise<number> {
  const parsed = parseConfig(
    JSON.parse(await Deno.readTextFile(join(config.model, "config.json"))),
  );
  const eos = parsed.eosTokenIds[0];
  if (eos === undefined) {
    throw new RangeError(
      `Cannot train on "${config.model}" as its config.json has no "eos_token_id": add the end-of-text token's id`,
    );
  }
  return eos;
}

/** Texts for tokenizer training: every item in order until `bytes` characters. */
function tokenizerSample(items: readonly CorpusItem[], bytes: number): string[] {
  const texts: string[] = [];
  let total = 0;
  for (const item of items) {
    if (total >= bytes) break;
    for (const text of [item.prompt, item.text]) {
      if (text === undefined) continue;
      texts.push(text);
      total += text.length;
    }
  }
  return texts;
}

/** The packed dataset (tokenization is deterministic, so a resumed run rebuilds the same rows). */
function prepareDataset(
  config: SftConfig,
  items: readonly CorpusItem[],
  encoding: Encoding,
  log: (line: string) => void,
): SftDataset {
  const started = performance.now();
  const dataset = buildDataset(items, encoding, {
    seqLen: config.seqLen,
    valFraction: config.valFraction,
    progress: (done, total) => {
      if (done % 20000 === 0) log(`tokenizing: ${done}/${total} items`);
    },
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const s = dataset.stats;
  log(
    `dataset: ${rowCount(dataset.train)} training rows (${
      s.trainTokens.toLocaleString("en-US")
    } tokens from ${s.trainItems} items), ${rowCount(dataset.val)} held-out rows (${
      s.valTokens.toLocaleString("en-US")
    } tokens from ${s.valItems} items), built in ${seconds} s`,
  );
  return dataset;
}

/** The policy and trainer state: the newest checkpoint's, else a new start. */
async function startPolicy(
  config: SftConfig,
  tokenizer: PreparedTokenizer,
  latest: string | undefined,
  adam: Adam,
  log: (line: string) => void,
): Promise<{ policy: ActorCritic; state: SftTrainerState }> {
  const fresh: SftTrainerState = {
    kind: "sft",
    iteration: 0,
    optimizerSteps: 0,
    cursor: 0,
    seed: config.seed,
    elapsed: 0,
    config,
  };
  if (latest !== undefined) {
    const policy = (await loadTrainablePolicy(latest)).policy;
    const state = await loadTrainerState<SftTrainerState>(latest, adam);
    log(`resuming after step ${state.iteration} (${latest})`);
    return { policy, state: { ...state, config } };
  }
  if (config.init === "pretrained") {
    const policy = (await loadTrainablePolicy(config.model, { valueHeadSeed: config.seed })).policy;
    log(`model: ${config.model} (${policy.model.size.toLocaleString("en-US")} parameters)`);
    return { policy, state: fresh };
  }
  const raw = await randomModelConfig(config.model, {
    vocabSize: tokenizerVocabSize(await Deno.readTextFile(join(tokenizer.dir, "tokenizer.json"))),
    eosTokenId: tokenizer.encoding.eos,
    seqLen: config.seqLen,
  });
  const model = CausalLm.random(parseConfig(raw), { seed: config.seed });
  const policy = new ActorCritic(
    model,
    ValueHead.random(model.config.hiddenSize, { seed: config.seed }),
  );
  log(`model: ${config.model} from scratch (${model.size.toLocaleString("en-US")} parameters)`);
  return { policy, state: fresh };
}

/** Vocabulary size of a `tokenizer.json`: the largest id plus one. */
function tokenizerVocabSize(text: string): number {
  const json = JSON.parse(text) as {
    model: { vocab: Record<string, number> };
    added_tokens?: { id: number }[];
  };
  const ids = [...Object.values(json.model.vocab), ...(json.added_tokens ?? []).map((t) => t.id)];
  return Math.max(...ids) + 1;
}
