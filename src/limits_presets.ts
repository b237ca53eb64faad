/**
 * Limits presets that match the official harnesses (`--limits`), recorded in the report and in
 * the comparability key:
 *
 * - `ppocoder`: the executor's defaults (10 s wall and CPU per execution);
 * - `human-eval`: 3 s of wall time per program, as openai/human-eval's
 *   `evaluate_functional_correctness` (`timeout=3.0`, a real-time timer around the program and its
 *   `check`);
 * - `evalplus`: per task max(4 s, 4 x the gold solution's time), EvalPlus's per-test rule
 *   (`DEFAULT_MIN_TIME_LIMIT = 4.0`, `DEFAULT_GT_TIME_LIMIT_FACTOR = 4.0`) applied to one
 *   execution of the task's tests (ppocoder runs them in one program). The gold solution is timed
 *   in this machine's sandbox once and cached (`~/.cache/ppocoder/gold-times/`, by host and task
 *   content), so a rerun or a resumed run uses the same limits.
 *
 * Limits given on the command line (`--timeout`, `--cpu-time`, ...) override the preset's.
 *
 * @module
 */

import { join } from "node:path";
import { cpus, homedir, hostname } from "node:os";
import { canonicalJson, sha256 } from "./util/hash.ts";
import { writeFileAtomic } from "./util/atomic_write.ts";
import { forEachConcurrently } from "./generate.ts";
import type { Benchmark, LimitsPresetName } from "../benchmarks/benchmark.ts";
import type { Executor, Limits } from "../sandbox/types.ts";
import type { Task } from "./types.ts";

export type { LimitsPresetName };

/** Every preset, the default first. */
export const LIMITS_PRESETS: readonly LimitsPresetName[] = ["ppocoder", "human-eval", "evalplus"];

/** EvalPlus's per-test rule: max(`minMs`, `factor` x the gold time). */
export const EVALPLUS_RULE = { minMs: 4000, factor: 4 } as const;

/** The executor-wide limits of a preset (before the command line's). */
export function presetExecutorLimits(preset: LimitsPresetName): Partial<Limits> {
  return preset === "human-eval" ? { wallMs: 3000 } : {};
}

/** Checks a `--limits` value. */
export function parseLimitsPreset(text: string): LimitsPresetName {
  if ((LIMITS_PRESETS as readonly string[]).includes(text)) return text as LimitsPresetName;
  throw new RangeError(
    `Cannot use --limits "${text}" as it is not a preset: use one of ${LIMITS_PRESETS.join(", ")}`,
  );
}

/** What {@linkcode judgingBenchmark} needs. */
export interface PresetOptions {
  /** Limits the command line set: they win over the preset's. */
  readonly explicit?: Partial<Limits>;
  /** Cache folder of gold times. @default `~/.cache/ppocoder/gold-times` */
  readonly cacheDir?: string;
  readonly log?: (message: string) => void;
}

/** The preset's per-task limits, where it has some, and the benchmark that applies them. */
export interface PresetJudging {
  readonly benchmark: Benchmark;
  /** `evalplus`: the wall limit of each task, in ms, and the gold times it came from. */
  readonly perTaskWallMs?: Readonly<Record<string, number>>;
  readonly goldMs?: Readonly<Record<string, number>>;
}

/**
 * The benchmark to judge with: `benchmark` itself, or (`evalplus`) one whose requests carry each
 * task's wall limit.
 */
export async function judgingBenchmark(
  preset: LimitsPresetName,
  benchmark: Benchmark,
  tasks: readonly Task[],
  executor: Executor,
  options: PresetOptions = {},
): Promise<PresetJudging> {
  if (preset !== "evalplus" || options.explicit?.wallMs !== undefined) return { benchmark };
  const goldMs = await goldTimes(benchmark, tasks, executor, options);
  const perTaskWallMs = Object.fromEntries(
    Object.entries(goldMs).map((
      [id, ms],
    ) => [id, Math.max(EVALPLUS_RULE.minMs, Math.ceil(EVALPLUS_RULE.factor * ms))]),
  );
  const request = benchmark.request.bind(benchmark);
  return {
    benchmark: {
      ...benchmark,
      request(task, code) {
        const wallMs = perTaskWallMs[task.id] ?? EVALPLUS_RULE.minMs;
        const base = request(task, code);
        return { ...base, limits: { ...base.limits, wallMs, cpuMs: wallMs } };
      },
    },
    perTaskWallMs,
    goldMs,
  };
}

/** Wall time of each task's gold program in the sandbox, from the cache or measured now. */
async function goldTimes(
  benchmark: Benchmark,
  tasks: readonly Task[],
  executor: Executor,
  options: PresetOptions,
): Promise<Record<string, number>> {
  const missingGold = tasks.filter((t) => t.reference.trim() === "");
  if (missingGold.length > 0) {
    throw new RangeError(
      `Cannot use --limits evalplus as ${missingGold.length} tasks have no gold solution to time (${
        missingGold.slice(0, 3).map((t) => t.id).join(", ")
      }): use --limits human-eval or ppocoder, or --timeout MS`,
    );
  }
  const cachePath = join(
    options.cacheDir ?? join(homedir(), ".cache", "ppocoder", "gold-times"),
    `${hostKey(executor)}.json`,
  );
  const cache = await readCache(cachePath);
  const keyOf = (task: Task) =>
    `${benchmark.name}:${sha256(canonicalJson({ ...task, meta: undefined }))}`;
  const missing = tasks.filter((task) => cache[keyOf(task)] === undefined);
  if (missing.length > 0) {
    options.log?.(`limits evalplus: timing ${missing.length} gold solutions once for this machine`);
    await forEachConcurrently(missing, executor.workers, async (task) => {
      const request = benchmark.request(task, task.reference);
      const execution = await executor.execute({
        ...request,
        limits: { ...request.limits, wallMs: 60_000, cpuMs: 60_000 },
      });
      cache[keyOf(task)] = execution.wallMs;
    });
    await Deno.mkdir(join(cachePath, ".."), { recursive: true });
    await writeFileAtomic(cachePath, JSON.stringify(cache, null, 1) + "\n");
  }
  return Object.fromEntries(tasks.map((task) => [task.id, cache[keyOf(task)]!]));
}

/** This machine and its isolation: gold times are only reused where they were measured. */
function hostKey(executor: Executor): string {
  const cpu = cpus()[0]?.model ?? "unknown";
  return sha256(canonicalJson({ host: hostname(), cpu, isolation: executor.isolation }))
    .slice(0, 16);
}

async function readCache(path: string): Promise<Record<string, number>> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw new SyntaxError(
      `Cannot read the gold-time cache "${path}": ${
        (error as Error).message
      }: delete it to time the gold solutions again`,
    );
  }
}
