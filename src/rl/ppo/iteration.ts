/**
 * One PPO iteration, top to bottom: take the next tasks, roll the policy out, judge every
 * rollout through the per-sample path (on the executor pool, while the policy and reference
 * scoring passes run), turn scores and the KL penalty into advantages, update, and return the
 * iteration's statistics.
 *
 * @module
 */

import { forEachConcurrently } from "../../generate.ts";
import { seededRandom } from "../../models/sampling.ts";
import { cutAtStop } from "../../models/sanitize.ts";
import {
  judgeSample,
  sampleCode,
  sampleParses,
  samplePrompt,
  writtenPart,
} from "../../sample_path.ts";
import type { Benchmark } from "../../../benchmarks/benchmark.ts";
import type { Executor } from "../../../sandbox/types.ts";
import type { Execution, Task } from "../../types.ts";
import type { CausalLm } from "../model.ts";
import type { ActorCritic } from "../policy.ts";
import type { TextTokenizer } from "../tokenizer.ts";
import type { Adam } from "./adam.ts";
import {
  computeGae,
  explainedVariance,
  groupAdvantages,
  maskedWhiten,
  type Matrix,
  tokenRewards,
} from "./advantages.ts";
import type { PpoConfig } from "./config.ts";
import { klPerToken, type KlState, updateKl } from "./kl.ts";
import type { RolloutRecord, TrainLogEntry } from "./record.ts";
import { type RewardBreakdown, scoreRollout } from "./rewards.ts";
import { sampleResponses } from "./rollout.ts";
import { scoreRows, scoringBatch } from "./score.ts";
import { ppoUpdate, shuffled, type UpdateStats } from "./update.ts";

/** What an iteration works with. */
export interface IterationContext {
  readonly benchmark: Benchmark;
  readonly tasks: readonly Task[];
  readonly executor: Executor;
  readonly policy: ActorCritic;
  readonly reference: CausalLm;
  readonly tokenizer: TextTokenizer;
  readonly adam: Adam;
  readonly config: PpoConfig;
  readonly stop: readonly string[];
  readonly exportDir: string;
}

/** One rollout's reward outcome; `null` when dropped after infrastructure failures. */
interface Judged {
  readonly execution: Execution;
  readonly syntaxOk: boolean;
  readonly reward: RewardBreakdown | null;
}

/** What an iteration returns. */
export interface IterationResult {
  readonly entry: TrainLogEntry;
  readonly kl: KlState;
  readonly rollouts: RolloutRecord[];
}

/** The tasks of iteration `iteration` (1-based): the next `batchTasks` of a seeded order. */
export function iterationTasks(tasks: readonly Task[], config: PpoConfig, iteration: number) {
  const start = (iteration - 1) * config.batchTasks;
  return Array.from({ length: config.batchTasks }, (_, i) => {
    const at = start + i;
    const pass = Math.floor(at / tasks.length);
    const order = shuffled(tasks.length, seededRandom(config.seed + 1, pass));
    return tasks[order[at % tasks.length]!]!;
  });
}

/** Runs iteration `iteration` with the KL controller in `kl`. */
export async function runIteration(
  ctx: IterationContext,
  iteration: number,
  kl: KlState,
): Promise<IterationResult> {
  const { config } = ctx;
  const clock = phaseClock();
  const tasks = iterationTasks(ctx.tasks, config, iteration).flatMap((task) =>
    Array.from({ length: config.samplesPerTask }, () => task)
  );
  const prompts = tasks.map((task) => promptIds(ctx, task));
  const responses = await sampleResponses(ctx.policy.model, prompts, {
    engine: config.rollout,
    maxNewTokens: config.maxNewTokens,
    temperature: config.temperature,
    topK: config.topK,
    seed: config.seed,
    iteration,
    eosTokenIds: ctx.policy.model.config.eosTokenIds,
    padTokenId: padOf(ctx.policy.model),
    exportDir: ctx.exportDir,
    stopped: (generated) => hitsStop(ctx.tokenizer, generated, ctx.stop),
  });
  const rollout = clock.lap("rollout");
  const raws = tasks.map((_, i) =>
    completionText(ctx.tokenizer, prompts[i]!, responses.tokens[i]!, ctx.stop)
  );
  const codes = tasks.map((task, i) =>
    sampleCode(ctx.benchmark, task, raws[i]!, { style: "completion", stop: ctx.stop })
  );
  let rewardSeconds = 0;
  const judging = judgeAll(ctx, tasks, codes).then((judged) => {
    rewardSeconds = clock.since();
    return judged;
  });
  const batch = scoringBatch(
    tasks.map((_, i) => ({ prompt: prompts[i]!, response: responses.tokens[i]! })),
    padOf(ctx.policy.model),
  );
  const shape = {
    temperature: config.temperature,
    topK: config.topK,
    microBatch: config.microBatch,
  };
  const useCritic = config.advantage === "gae";
  const old = await scoreRows(ctx.policy.model, batch, {
    ...shape,
    ...(useCritic ? { valueHead: ctx.policy.valueHead } : {}),
  });
  const ref = await scoreRows(ctx.reference, batch, {
    ...shape,
    ...(old.allowed ? { allowed: old.allowed } : {}),
  });
  const judged = await judging;
  const scoring = clock.lap("scoring");
  const mask = batch.mask.map((row, i) => (judged[i]!.reward === null ? row.map(() => 0) : row));
  const kept = mask.some((row) => row.some((m) => m !== 0));
  const scores = shuffledScores(judged.map((j) => j.reward?.score ?? 0), mask, config, iteration);
  const klTokens = klPerToken(old.logprobs, ref.logprobs, mask);
  const advantageData = kept
    ? advantagesOf(ctx, tasks, scores, klTokens, mask, old.values, kl)
    : undefined;
  const stats = advantageData
    ? await ppoUpdate(
      ctx.policy,
      ctx.adam,
      {
        batch,
        mask: advantageData.mask,
        oldLogprobs: old.logprobs,
        advantages: advantageData.advantages,
        ...(advantageData.returns
          ? { returns: advantageData.returns, oldValues: old.values! }
          : {}),
        ...(old.allowed ? { allowed: old.allowed } : {}),
      },
      config,
      { iteration, criticOnly: iteration <= config.criticWarmup },
    )
    : undefined;
  const update = clock.lap("update");
  const seconds = { rollout, reward: rewardSeconds, scoring, update, total: clock.total() };
  const klPerSequence = mask.map((row, i) => row.reduce((s, m, t) => s + m * klTokens[i]![t]!, 0));
  const keptRows = mask.map((row) => row.some((m) => m !== 0));
  const meanKl = mean(klPerSequence.filter((_, i) => keptRows[i]));
  const nextKl = kept ? updateKl(kl, meanKl, keptRows.filter(Boolean).length) : kl;
  const entry = logEntry({
    iteration,
    config,
    tasks,
    judged,
    responses,
    codes,
    keptRows,
    kl,
    meanKl,
    stats,
    seconds,
    explained: advantageData?.explained ?? null,
    written: tasks.map((task, i) => writtenPart(ctx.benchmark, task, codes[i]!).hypothesis.length),
  });
  const rollouts = tasks.slice(0, 4).map((task, row) => ({
    iteration,
    row,
    taskId: task.id,
    raw: raws[row]!,
    code: codes[row]!,
    status: judged[row]!.execution.status,
    score: judged[row]!.reward?.score ?? null,
    terms: judged[row]!.reward?.terms ?? {},
    responseTokens: responses.tokens[row]!.length,
    finished: responses.finished[row]!,
  }));
  return { entry, kl: nextKl, rollouts };
}

function promptIds(ctx: IterationContext, task: Task): number[] {
  const ids = ctx.tokenizer.encode(samplePrompt(ctx.benchmark, task, ctx.config.shots));
  return ids.length > ctx.config.maxPromptTokens ? ids.slice(-ctx.config.maxPromptTokens) : ids;
}

function padOf(model: CausalLm): number {
  return model.config.padTokenId ?? model.config.eosTokenIds[0] ?? 0;
}

/** The text of `ids` as a continuation of `prompt`, cut before the first stop sequence. */
export function completionText(
  tokenizer: TextTokenizer,
  prompt: readonly number[],
  ids: readonly number[],
  stop: readonly string[],
): string {
  const before = tokenizer.decode(prompt);
  const whole = tokenizer.decode([...prompt, ...ids]);
  const text = whole.startsWith(before) ? whole.slice(before.length) : tokenizer.decode(ids);
  return cutAtStop(text, stop);
}

function hitsStop(tokenizer: TextTokenizer, generated: readonly number[], stop: readonly string[]) {
  if (stop.length === 0) return false;
  const window = 2 * Math.max(...stop.map((s) => s.length)) + 8;
  const tail = tokenizer.decode(generated.slice(-window));
  return stop.some((s) => s !== "" && tail.includes(s));
}

/** Judges every rollout on the executor pool; infrastructure failures are retried, then dropped. */
async function judgeAll(
  ctx: IterationContext,
  tasks: readonly Task[],
  codes: readonly string[],
): Promise<Judged[]> {
  const out: Judged[] = new Array(tasks.length);
  const rows = tasks.map((_, i) => i);
  await forEachConcurrently(rows, ctx.executor.workers * 2, async (i) => {
    const task = tasks[i]!;
    let execution = await judgeSample(ctx.benchmark, ctx.executor, task, codes[i]!);
    for (
      let retry = 0;
      retry < ctx.config.rewardRetries && execution.status === "sandbox_error";
      retry++
    ) {
      execution = await judgeSample(ctx.benchmark, ctx.executor, task, codes[i]!);
    }
    const syntaxOk = await sampleParses(ctx.benchmark, task, codes[i]!);
    const reward = execution.status === "sandbox_error" ? null : await scoreRollout({
      task,
      code: codes[i]!,
      execution,
      syntaxOk,
      written: writtenPart(ctx.benchmark, task, codes[i]!),
    }, ctx.config.rewardWeights);
    out[i] = { execution, syntaxOk, reward };
  });
  return out;
}

/** The scores, permuted among kept rows when the shuffled-reward control is on. */
function shuffledScores(scores: number[], mask: Matrix, config: PpoConfig, iteration: number) {
  if (!config.shuffleRewards) return scores;
  const kept = scores.map((_, i) => i).filter((i) => mask[i]!.some((m) => m !== 0));
  const order = shuffled(kept.length, seededRandom(config.seed + 13, iteration));
  const out = [...scores];
  kept.forEach((row, k) => (out[row] = scores[kept[order[k]!]!]!));
  return out;
}

interface AdvantageData {
  readonly advantages: number[][];
  readonly returns?: number[][];
  readonly mask: number[][];
  readonly explained: number | null;
}

function advantagesOf(
  ctx: IterationContext,
  tasks: readonly Task[],
  scores: readonly number[],
  kl: Matrix,
  mask: number[][],
  values: number[][] | undefined,
  state: KlState,
): AdvantageData | undefined {
  const { config } = ctx;
  if (config.advantage === "gae") {
    const rewards = tokenRewards(scores, kl, mask, state.value);
    const { advantages, returns } = computeGae(rewards, values!, mask, config);
    const tokens = mask.flat().reduce((a, b) => a + b, 0);
    const whitened = config.whitenAdvantages && tokens > 1
      ? maskedWhiten(advantages, mask)
      : advantages;
    const ev = explainedVariance(values!, returns, mask);
    return { advantages: whitened, returns, mask, explained: Number.isFinite(ev) ? ev : null };
  }
  // Group baselines: the sequence's return is its score minus beta times its KL (trl RLOO).
  const returns = scores.map((s, i) => s - state.value * kl[i]!.reduce((a, b) => a + b, 0));
  const keptRows = mask.map((row) => row.some((m) => m !== 0));
  const groups = tasks.map((task) => task.id);
  const counts = Map.groupBy(
    keptRows.map((k, i) => (k ? i : -1)).filter((i) => i >= 0),
    (i) => groups[i]!,
  );
  const usable = keptRows.map((k, i) => k && (counts.get(groups[i]!)?.length ?? 0) >= 2);
  const rows = usable.map((u, i) => (u ? i : -1)).filter((i) => i >= 0);
  if (rows.length === 0) return undefined;
  const perRow = groupAdvantages(
    rows.map((i) => returns[i]!),
    rows.map((i) => groups[i]!),
    config.advantage as "rloo" | "grpo",
  );
  const advantage = new Map(rows.map((row, k) => [row, perRow[k]!]));
  const groupMask = mask.map((row, i) => (usable[i] ? row : row.map(() => 0)));
  return {
    advantages: groupMask.map((row, i) => row.map((m) => m * (advantage.get(i) ?? 0))),
    mask: groupMask,
    explained: null,
  };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

function std(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(mean(values.map((v) => (v - m) ** 2)));
}

interface LogInput {
  readonly iteration: number;
  readonly config: PpoConfig;
  readonly tasks: readonly Task[];
  readonly judged: readonly Judged[];
  readonly responses: { tokens: number[][]; finished: boolean[] };
  readonly codes: readonly string[];
  readonly keptRows: readonly boolean[];
  readonly kl: KlState;
  readonly meanKl: number;
  readonly stats: UpdateStats | undefined;
  readonly seconds: TrainLogEntry["seconds"];
  readonly explained: number | null;
  readonly written: readonly number[];
}

function logEntry(input: LogInput): TrainLogEntry {
  const { judged, responses, config } = input;
  const scored = judged.filter((j) => j.reward !== null);
  const termNames = [...new Set(scored.flatMap((j) => Object.keys(j.reward!.terms)))];
  const terms: Record<string, number> = Object.fromEntries(
    termNames.map((name) => [name, mean(scored.map((j) => j.reward!.terms[name] ?? 0))]),
  );
  terms.kl = -input.kl.value * input.meanKl;
  const lengths = responses.tokens.map((t) => t.length);
  const generated = lengths.reduce((a, b) => a + b, 0);
  const share = (flags: readonly boolean[]) =>
    flags.filter(Boolean).length / Math.max(1, flags.length);
  const s = input.stats;
  return {
    iteration: input.iteration,
    rollouts: judged.length,
    dropped: judged.length - scored.length,
    rewardMean: mean(scored.map((j) => j.reward!.score)),
    rewardStd: std(scored.map((j) => j.reward!.score)),
    terms,
    compileRate: mean(scored.map((j) => (j.execution.compiled ? 1 : 0))),
    syntaxRate: mean(scored.map((j) => (j.syntaxOk ? 1 : 0))),
    passRate: mean(scored.map((j) => (j.execution.status === "passed" ? 1 : 0))),
    responseTokens: mean(lengths),
    writtenChars: mean(input.written),
    eosShare: share(responses.finished),
    truncatedShare: share(
      responses.finished.map((f, i) => !f && lengths[i]! >= config.maxNewTokens),
    ),
    kl: input.meanKl,
    beta: input.kl.value,
    entropy: s?.entropy ?? 0,
    policyLoss: s?.policyLoss ?? 0,
    valueLoss: s?.valueLoss ?? 0,
    policyClipFraction: s?.policyClipFraction ?? 0,
    valueClipFraction: s?.valueClipFraction ?? 0,
    approxKl: s?.approxKl ?? 0,
    policyKl: s?.policyKl ?? 0,
    explainedVariance: input.explained,
    gradNorm: s?.gradNorm ?? 0,
    learningRate: config.learningRate,
    epochs: s?.epochs ?? 0,
    earlyStopped: s?.earlyStopped ?? false,
    tokensPerSecond: input.seconds.rollout > 0 ? generated / input.seconds.rollout : 0,
    seconds: input.seconds,
    cursor: input.iteration * config.batchTasks,
  };
}

/** Wall-clock laps of an iteration's phases, in seconds. */
function phaseClock() {
  const start = performance.now();
  let last = start;
  return {
    lap(_phase: string): number {
      const now = performance.now();
      const seconds = (now - last) / 1000;
      last = now;
      return seconds;
    },
    since(): number {
      return (performance.now() - last) / 1000;
    },
    total(): number {
      return (performance.now() - start) / 1000;
    },
  };
}
