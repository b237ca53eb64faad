/**
 * `deno task demo:ppocoder`: PPOCoder reproduced at small scale, as one resumable command.
 *
 * 1. SFT: a Llama of about 5.8M parameters trained from scratch (byte-level BPE of 4096 tokens
 *    trained first) on Java: the CodeSearchNet Java shard, CodeXGLUE's Java functions and the
 *    installed JDK's sources; the first 300 CodeSearchNet tasks (what
 *    `deno task bench codesearchnet --limit 300` scores) and every function of their
 *    repositories are kept out.
 * 2. The starting checkpoint evaluated on those 300 held-out tasks (greedy, 128 new tokens).
 * 3. PPO on CodeSearchNet-Java completion (the shard's other repositories) from that checkpoint,
 *    three runs: the PPOCoder reward, and its two controls, the same reward shuffled across the
 *    batch and the plain syntax reward. On CSN-Java the gold functions compile about 5% of the
 *    time (they use their projects' own classes, which are not there), so the PPOCoder recipe's
 *    compiler term is replaced by the syntax term (+1 when the function parses, -1 when not),
 *    as PPOCoder's own 97.7% on CodeSearchNet was a Python syntax check; the AST and data-flow
 *    match terms are kept.
 * 4. Each trained checkpoint evaluated on the same 300 tasks; every report compared with the
 *    starting model's task by task (paired tests, as `deno task check` does), with the mean
 *    length of what the model wrote; "reward hacking" is printed when that length falls below
 *    half the starting model's or BLEU drops significantly. `summary.md` and `summary.json`
 *    are written beside the runs; the reports and training runs appear on the leaderboard
 *    (`deno task serve --reports DIR`).
 *
 * Each phase resumes where it stopped; rerun the same command after an interruption.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { getBenchmark } from "../../benchmarks/mod.ts";
import type { LoadedTasks } from "../../benchmarks/benchmark.ts";
import { codeBleu } from "../metrics/codebleu.ts";
import { type PairedComparison, pairedComparison } from "../report/compare.ts";
import type { Report } from "../report/schema.ts";
import { runBenchmark, selectTasks } from "../run.ts";
import { exportOnnx } from "../rl/onnx_export.ts";
import { loadTrainablePolicy } from "../rl/load_model.ts";
import { ppoConfig } from "../rl/ppo/config.ts";
import { latestCheckpoint } from "../rl/ppo/checkpoint.ts";
import { parseRewardSpec } from "../rl/ppo/rewards.ts";
import { train } from "../rl/ppo/trainer.ts";
import type { TrainLogEntry } from "../rl/ppo/record.ts";
import { sftConfig } from "../rl/sft/config.ts";
import { heldOutFromTasks, parseCorpusSpec, squash } from "../rl/sft/corpus.ts";
import { trainSft } from "../rl/sft/trainer.ts";
import { readJsonl } from "../util/jsonl.ts";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { runCheck } from "./check.ts";
import { choice, type CommandSpec, integer, type Parsed, runCommand, UsageError } from "./_args.ts";

const BENCHMARK = "codesearchnet";
const SPLIT = "java_train_15";

/** The demonstration's settings. */
export interface DemoSettings {
  readonly evalTasks: number;
  readonly maxNewTokens: number;
  /** Bytes of the JDK's sources in the SFT corpus. */
  readonly jdkBytes: number;
  readonly sft: Omit<Parameters<typeof sftConfig>[0], "corpora" | "heldOut">;
  readonly ppo: Parameters<typeof ppoConfig>[0] & { readonly iterations: number };
  readonly runs: readonly { name: string; reward: string; shuffleRewards: boolean }[];
}

/** The demonstration's fixed settings (what `summary.md` reports). */
export const DEMO: DemoSettings = {
  evalTasks: 300,
  maxNewTokens: 128,
  jdkBytes: 8_000_000,
  sft: {
    init: "random",
    model: "llama-5m",
    steps: 1500,
    batchSize: 8,
    microBatch: 4,
    seqLen: 512,
    learningRate: 2e-3,
    warmupSteps: 50,
    evalEvery: 100,
    checkpointEvery: 100,
  },
  ppo: {
    iterations: 40,
    batchTasks: 8,
    samplesPerTask: 2,
    epochs: 2,
    minibatches: 2,
    microBatch: 4,
    // The first run's 1e-4 shrank completions even with shuffled rewards: too fast to tell apart.
    learningRate: 2e-5,
    temperature: 0.8,
    maxNewTokens: 128,
    maxPromptTokens: 256,
    // Adaptive KL on a horizon of 10 iterations of 16 rollouts, so that beta actually moves
    // (trl's 10000 rollouts left it at 0.05 through the first run while KL reached 18 nats).
    klControl: "adaptive",
    klCoef: 0.05,
    klTarget: 3,
    klHorizon: 160,
    checkpointEvery: 5,
    seed: 0,
  },
  runs: [
    { name: "ppocoder", reward: "ppocoder,compile=0,syntax=1", shuffleRewards: false },
    { name: "shuffled", reward: "ppocoder,compile=0,syntax=1", shuffleRewards: true },
    { name: "syntax", reward: "syntax", shuffleRewards: false },
  ],
};

/** `--smoke`: the same pipeline in minutes, to check it end to end (results mean nothing). */
export const SMOKE: DemoSettings = {
  evalTasks: 10,
  maxNewTokens: 32,
  jdkBytes: 100_000,
  sft: {
    init: "random",
    model: "llama-1m",
    steps: 6,
    batchSize: 4,
    microBatch: 4,
    seqLen: 256,
    learningRate: 2e-3,
    warmupSteps: 2,
    evalEvery: 3,
    checkpointEvery: 3,
    vocabSize: 1024,
    tokenizerBytes: 500_000,
  },
  ppo: { ...DEMO.ppo, iterations: 2, batchTasks: 2, maxNewTokens: 32, checkpointEvery: 1 },
  runs: DEMO.runs,
};

const RUN_NAMES = DEMO.runs.map((r) => r.name);

/** The `demo:ppocoder` command line. */
export const DEMO_PPOCODER = {
  name: "demo:ppocoder",
  usage: "[--datasets DIR] [--reports DIR] [--runs LIST] [--iterations N] [--smoke]",
  summary:
    "SFT a ~5.8M-parameter Llama on Java, PPO it on CodeSearchNet-Java completion with the " +
    "PPOCoder reward and two controls, evaluate start and trained checkpoints on the same " +
    "held-out tasks, and compare them. Resumable: rerun the same command. Takes hours on two " +
    "shared cores (niced runs recommended: nice -n 10 deno task demo:ppocoder).",
  options: {
    datasets: {
      type: "string",
      value: "DIR",
      help: "folder with codesearchnet/ and codexglue-code-to-code-trans/ (default: " +
        "$PPOCODER_DATA, else ../shared/datasets beside the checkout)",
    },
    reports: {
      type: "string",
      value: "DIR",
      help: "where everything goes (default reports/demo-ppocoder)",
    },
    runs: {
      type: "string",
      value: "LIST",
      help: `PPO runs to do, of ${RUN_NAMES.join(", ")} (default all three)`,
    },
    iterations: {
      type: "string",
      value: "N",
      help: `PPO iterations per run (default ${DEMO.ppo.iterations}; ${SMOKE.ppo.iterations} ` +
        "with --smoke)",
    },
    "eval-tasks": {
      type: "string",
      value: "N",
      help: `held-out tasks evaluated (default ${DEMO.evalTasks}, ${SMOKE.evalTasks} with ` +
        "--smoke; the SFT holds out this many)",
    },
    smoke: {
      type: "boolean",
      help: "the same pipeline at toy size in minutes (checks it; the numbers mean nothing)",
    },
  },
} as const satisfies CommandSpec;

interface DemoOptions {
  readonly settings: DemoSettings;
  readonly datasets: string;
  readonly reports: string;
  readonly runs: readonly string[];
  readonly iterations: number;
  readonly evalTasks: number;
}

function log(line: string): void {
  const [one] = loadavg();
  console.error(`[demo ${new Date().toISOString().slice(11, 19)} load ${one!.toFixed(1)}] ${line}`);
}

function csnPath(options: DemoOptions): string {
  return join(options.datasets, "codesearchnet", `${SPLIT}.jsonl.gz`);
}

/** The held-out tasks and the PPO training tasks (the shard's other repositories). */
async function splitTasks(options: DemoOptions) {
  const loaded = await getBenchmark(BENCHMARK).load({ split: SPLIT, data: csnPath(options) });
  const evalTasks = (await selectTasks(loaded, { limit: options.evalTasks })).tasks;
  const heldOut = heldOutFromTasks(
    `${BENCHMARK} ${SPLIT}, first ${evalTasks.length} tasks and their repositories`,
    evalTasks,
    true,
  );
  const repos = new Set(heldOut.repos);
  const texts = new Set(heldOut.texts);
  const trainTasks = loaded.tasks.filter((task) =>
    !repos.has(String(task.meta.repo)) && !texts.has(squash(task.reference))
  );
  const ppoTasks: LoadedTasks = { ...loaded, tasks: trainTasks };
  return { heldOut, ppoTasks };
}

/** Phase 1: the SFT run (resumed when it exists). */
async function sft(
  options: DemoOptions,
  heldOut: Awaited<ReturnType<typeof splitTasks>>["heldOut"],
) {
  const d = options.datasets;
  const corpora = [
    `jsonl:${csnPath(options)}`,
    `lines:${join(d, "codexglue-code-to-code-trans", "train.java-cs.txt.java")}`,
    `stdlib:java?max-bytes=${options.settings.jdkBytes}`,
  ];
  const config = sftConfig({
    ...options.settings.sft,
    corpora,
    heldOut: `${BENCHMARK}:${SPLIT}:${options.evalTasks} and their repositories`,
  });
  const runDir = join(options.reports, "sft");
  log(`phase 1: SFT in ${runDir}`);
  const result = await trainSft({
    config,
    corpora: corpora.map(parseCorpusSpec),
    read: { benchmark: getBenchmark, data: csnPath(options) },
    heldOut,
    runDir,
    log,
  });
  if (result.record.onnx === null) {
    throw new Error(`Cannot go on as the SFT run "${runDir}" did not finish: rerun the demo`);
  }
  return { runDir, checkpoint: result.checkpoint, onnx: join(runDir, result.record.onnx) };
}

/** An evaluation on the held-out tasks: an ordinary report of `runBenchmark`. */
async function evaluate(options: DemoOptions, onnxDir: string, label: string): Promise<string> {
  log(`evaluating ${label} (${onnxDir}) on ${options.evalTasks} held-out tasks`);
  const result = await runBenchmark(getBenchmark(BENCHMARK), {
    model: `onnx:${onnxDir}`,
    split: SPLIT,
    limit: options.evalTasks,
    data: csnPath(options),
    sampling: { n: 1, temperature: 0, maxTokens: options.settings.maxNewTokens },
    reportsDir: options.reports,
    log,
  });
  return result.reportPath;
}

/** Phase 3: one PPO run from the SFT checkpoint, and the evaluation of its last checkpoint. */
async function ppo(
  options: DemoOptions,
  run: DemoSettings["runs"][number],
  start: string,
  tasks: LoadedTasks,
): Promise<{ runDir: string; report: string; log: TrainLogEntry[] }> {
  const reward = parseRewardSpec(run.reward);
  log(
    `phase 3: PPO run "${run.name}" (reward ${run.reward}${
      run.shuffleRewards ? ", shuffled" : ""
    })`,
  );
  const result = await train({
    benchmark: getBenchmark(BENCHMARK),
    model: start,
    config: ppoConfig({
      ...options.settings.ppo,
      iterations: options.iterations,
      reward: reward.name,
      rewardWeights: reward.weights,
      shuffleRewards: run.shuffleRewards,
    }),
    tasks,
    evaluate: false,
    reportsDir: options.reports,
    runName: `demo-${run.name}`,
    log,
    onIteration: (entry) =>
      log(
        `${run.name} iter ${entry.iteration}: reward ${entry.rewardMean.toFixed(3)} syntax ${
          entry.syntaxRate.toFixed(2)
        } len ${entry.responseTokens.toFixed(1)} kl ${entry.kl.toFixed(2)}`,
      ),
  });
  const last = await latestCheckpoint(result.runDir);
  if (last === undefined) {
    throw new Error(`Cannot evaluate PPO run "${result.runDir}" as it has no checkpoint`);
  }
  const onnx = join(last, "onnx");
  if (!existsSync(join(onnx, "genai_config.json"))) {
    const { policy } = await loadTrainablePolicy(last);
    await exportOnnx(policy.model, onnx, { tokenizerFrom: last });
    policy.dispose();
  }
  return {
    runDir: result.runDir,
    report: await evaluate(options, onnx, `PPO ${run.name}`),
    log: [...result.log],
  };
}

/** What a report's model wrote: the mean characters of the written part, and CodeBLEU. */
async function written(reportPath: string) {
  const dir = reportPath.replace(/\/report\.json$/, "");
  const rows = await readJsonl<{ taskId: string; prompt: string; code: string }>(
    join(dir, "generations.jsonl"),
  );
  const report = JSON.parse(await Deno.readTextFile(reportPath)) as Report;
  const loaded = await getBenchmark(BENCHMARK).load({
    split: SPLIT,
    data: report.config.dataset.source,
  });
  const references = new Map(loaded.tasks.map((t) => [t.id, t.reference.slice(t.prompt.length)]));
  const parts = rows.map((r) => ({
    taskId: r.taskId,
    text: r.code.startsWith(r.prompt) ? r.code.slice(r.prompt.length) : r.code,
  }));
  const score = await codeBleu(
    parts.map((p) => [references.get(p.taskId) ?? ""]),
    parts.map((p) => p.text),
    "java",
  );
  const chars = parts.reduce((s, p) => s + p.text.length, 0) / Math.max(1, parts.length);
  return {
    report,
    chars,
    codebleu: score.codebleu,
    parts: new Map(parts.map((p) => [p.taskId, p.text])),
  };
}

/** One trained model against the start. */
interface Comparison {
  readonly name: string;
  readonly report: string;
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly chars: number;
  readonly codebleu: number;
  readonly paired: Readonly<Record<string, PairedComparison | undefined>>;
  readonly check: string;
  readonly hacking: readonly string[];
  readonly curve: ReturnType<typeof curve>;
}

const PAIRED_METRICS = ["syntax_ok", "compile_rate", "bleu", "exact_match"] as const;

/** Reward, syntax rate, length and KL over the first and last five iterations. */
function curve(entries: readonly TrainLogEntry[]) {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const span = (part: readonly TrainLogEntry[]) => ({
    reward: mean(part.map((e) => e.rewardMean)),
    syntaxRate: mean(part.map((e) => e.syntaxRate)),
    responseTokens: mean(part.map((e) => e.responseTokens)),
    kl: mean(part.map((e) => e.kl)),
  });
  return {
    first: span(entries.slice(0, 5)),
    last: span(entries.slice(-5)),
    iterations: entries.length,
  };
}

async function compare(
  name: string,
  start: Awaited<ReturnType<typeof written>>,
  reportPath: string,
  entries: readonly TrainLogEntry[],
  startPath: string,
): Promise<Comparison> {
  const trained = await written(reportPath);
  const paired = Object.fromEntries(
    PAIRED_METRICS.map((m) => [m, pairedComparison(start.report, trained.report, m)]),
  );
  const check = await runCheck({
    baseline: startPath,
    current: reportPath,
    metrics: ["syntax_rate", "bleu", "compile_rate"],
  }).then(
    (r) => r.rows.map((row) => `${row.metric}: ${row.verdict}`).join("; "),
    (error) => `check refused: ${error instanceof Error ? error.message : error}`,
  );
  const hacking: string[] = [];
  if (trained.chars < start.chars / 2) {
    hacking.push(
      `mean completion ${trained.chars.toFixed(0)} characters, below half the starting model's ${
        start.chars.toFixed(0)
      }`,
    );
  }
  const bleu = paired.bleu;
  if (bleu !== undefined && bleu.meanB < bleu.meanA && bleu.pWorse < 0.05) {
    hacking.push(
      `BLEU ${bleu.meanA.toFixed(4)} -> ${bleu.meanB.toFixed(4)}, a significant drop (one-sided p ${
        bleu.pWorse.toExponential(1)
      })`,
    );
  }
  return {
    name,
    report: reportPath,
    metrics: trained.report.metrics,
    chars: trained.chars,
    codebleu: trained.codebleu,
    paired,
    check,
    hacking,
    curve: curve(entries),
  };
}

function formatSummary(
  settings: DemoSettings,
  startPath: string,
  start: Awaited<ReturnType<typeof written>>,
  rows: readonly Comparison[],
  samples: string,
): string {
  const m = (
    x: number | null | undefined,
    digits = 3,
  ) => (typeof x === "number" ? x.toFixed(digits) : "-");
  const lines = [
    `# PPOCoder at small scale (deno task demo:ppocoder)`,
    ``,
    `Held-out: the first ${start.report.tasks.length} CodeSearchNet ${SPLIT} tasks, greedy, ${settings.maxNewTokens} new tokens.`,
    `Start: ${startPath}`,
    ``,
    `| model | syntax rate | compile rate | BLEU | exact match | CodeBLEU | chars written | verdict |`,
    `|---|---|---|---|---|---|---|---|`,
    `| start (SFT) | ${m(start.report.metrics.syntax_rate)} | ${
      m(start.report.metrics.compile_rate)
    } | ${m(start.report.metrics.bleu, 4)} | ${m(start.report.metrics.exact_match)} | ${
      m(start.codebleu, 4)
    } | ${start.chars.toFixed(0)} | |`,
    ...rows.map((r) =>
      `| PPO ${r.name} | ${m(r.metrics.syntax_rate)} | ${m(r.metrics.compile_rate)} | ${
        m(r.metrics.bleu, 4)
      } | ${m(r.metrics.exact_match)} | ${m(r.codebleu, 4)} | ${r.chars.toFixed(0)} | ${
        r.hacking.length ? "reward hacking" : "ok"
      } |`
    ),
    ``,
    `Paired against the start (task by task; exact McNemar for pass/fail values, sign test otherwise):`,
    ``,
  ];
  for (const r of rows) {
    lines.push(`- PPO ${r.name}: ${r.report}`);
    for (const [metric, p] of Object.entries(r.paired)) {
      if (p === undefined) continue;
      lines.push(
        `  - ${metric}: ${p.meanA.toFixed(4)} -> ${
          p.meanB.toFixed(4)
        } (${p.improved.length} better, ${p.regressed.length} worse, p ${
          p.pValue.toExponential(2)
        })`,
      );
    }
    lines.push(`  - deno task check: ${r.check}`);
    const c = r.curve;
    lines.push(
      `  - training (first 5 -> last 5 of ${c.iterations} iterations): reward ${
        m(c.first.reward)
      } -> ${m(c.last.reward)}, rollout syntax rate ${m(c.first.syntaxRate, 2)} -> ${
        m(c.last.syntaxRate, 2)
      }, length ${m(c.first.responseTokens, 1)} -> ${m(c.last.responseTokens, 1)} tokens, KL ${
        m(c.first.kl, 2)
      } -> ${m(c.last.kl, 2)}`,
    );
    for (const h of r.hacking) lines.push(`  - reward hacking: ${h}`);
  }
  lines.push("", "## Sampled completions (held-out tasks)", "", samples);
  return lines.join("\n") + "\n";
}

function sampleCompletions(
  start: Awaited<ReturnType<typeof written>>,
  trained: readonly { name: string; parts: Map<string, string> }[],
  count = 3,
): string {
  const ids = [...start.parts.keys()].filter((id) =>
    trained.some((t) => (t.parts.get(id) ?? "") !== start.parts.get(id))
  ).slice(0, count);
  const clip = (s: string) => (s.length > 400 ? `${s.slice(0, 400)}...` : s);
  return ids.map((id) => {
    const task = start.report.tasks.find((t) => t.taskId === id);
    const blocks = [
      `### ${id} (${task?.meta.funcName ?? ""})`,
      "",
      "start (SFT):",
      "```java",
      clip(start.parts.get(id) ?? ""),
      "```",
    ];
    for (const t of trained) {
      blocks.push(`PPO ${t.name}:`, "```java", clip(t.parts.get(id) ?? ""), "```");
    }
    return blocks.join("\n");
  }).join("\n\n");
}

async function demo(options: DemoOptions): Promise<void> {
  const started = performance.now();
  await Deno.mkdir(options.reports, { recursive: true });
  const { heldOut, ppoTasks } = await splitTasks(options);
  log(
    `held out ${heldOut.taskIds.length} tasks from ${heldOut.repos.length} repositories; PPO trains on ${ppoTasks.tasks.length} tasks`,
  );
  const sftRun = await sft(options, heldOut);
  log("phase 2: evaluating the starting checkpoint");
  const startPath = await evaluate(options, sftRun.onnx, "the SFT checkpoint");
  const start = await written(startPath);
  const comparisons: Comparison[] = [];
  const trainedParts: { name: string; parts: Map<string, string> }[] = [];
  for (const run of options.settings.runs.filter((r) => options.runs.includes(r.name))) {
    const result = await ppo(options, run, sftRun.checkpoint, ppoTasks);
    const comparison = await compare(run.name, start, result.report, result.log, startPath);
    comparisons.push(comparison);
    trainedParts.push({ name: run.name, parts: (await written(result.report)).parts });
    for (const h of comparison.hacking) log(`reward hacking in PPO run "${run.name}": ${h}`);
  }
  const summary = formatSummary(
    options.settings,
    startPath,
    start,
    comparisons,
    sampleCompletions(start, trainedParts),
  );
  await writeFileAtomic(join(options.reports, "summary.md"), summary);
  await writeFileAtomic(
    join(options.reports, "summary.json"),
    JSON.stringify(
      {
        demo: DEMO,
        options,
        start: {
          report: startPath,
          chars: start.chars,
          codebleu: start.codebleu,
          metrics: start.report.metrics,
        },
        comparisons,
      },
      null,
      1,
    ) + "\n",
  );
  console.log(summary);
  log(
    `done in ${((performance.now() - started) / 60000).toFixed(1)} min; ${
      join(options.reports, "summary.md")
    }`,
  );
}

function defaultDatasets(): string {
  return Deno.env.get("PPOCODER_DATA") ??
    fileURLToPath(new URL("../../../shared/datasets", import.meta.url));
}

async function demoCommand({ values }: Parsed<typeof DEMO_PPOCODER>): Promise<number> {
  const settings = values.smoke ? SMOKE : DEMO;
  const options: DemoOptions = {
    settings,
    datasets: resolve(values.datasets ?? defaultDatasets()),
    reports: values.reports ?? join("reports", "demo-ppocoder"),
    runs: (values.runs ?? RUN_NAMES.join(",")).split(",").map((r) => choice("runs", r, RUN_NAMES)!),
    iterations: integer("iterations", values.iterations, 1) ?? settings.ppo.iterations,
    evalTasks: integer("eval-tasks", values["eval-tasks"], 1) ?? settings.evalTasks,
  };
  if (!existsSync(csnPath(options))) {
    throw new UsageError(
      `Cannot run the demonstration as "${
        csnPath(options)
      }" is missing: pass --datasets with the folder that holds codesearchnet/ and codexglue-code-to-code-trans/`,
    );
  }
  await demo(options);
  return 0;
}

if (import.meta.main) await runCommand(DEMO_PPOCODER, demoCommand);
