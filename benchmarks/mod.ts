/**
 * The benchmark registry: to add a benchmark, add one adapter file and one entry here.
 *
 * @module
 */

import type { Benchmark } from "./benchmark.ts";
import { mbpp } from "./mbpp.ts";
import { apps } from "./apps.ts";
import { codesearchnet } from "./codesearchnet.ts";
import { codexglueTranslation } from "./codexglue_translation.ts";
import { humaneval } from "./humaneval.ts";
import { humanevalplus } from "./humanevalplus.ts";
import { mbppplus } from "./mbppplus.ts";
import { multiplE } from "./multipl_e.ts";
import { xlcost } from "./xlcost.ts";

/** Every benchmark, by name. */
export const BENCHMARKS = {
  mbpp,
  apps,
  codesearchnet,
  "codexglue-translation": codexglueTranslation,
  humaneval,
  xlcost,
  humanevalplus,
  mbppplus,
  "multipl-e": multiplE,
} as const satisfies Record<string, Benchmark>;

/** Looks a benchmark up by name, with the known names in the error. */
export function getBenchmark(name: string): Benchmark {
  if (Object.hasOwn(BENCHMARKS, name)) return BENCHMARKS[name as keyof typeof BENCHMARKS];
  throw new RangeError(
    `Cannot run benchmark "${name}" as it is not registered: use one of ${
      Object.keys(BENCHMARKS).join(", ")
    }`,
  );
}

/**
 * Refuses a benchmark whose data may not be used for training (see `Benchmark.trainable`): a
 * trainer calls this before it fits a model on a benchmark's tasks.
 */
export function assertTrainable(benchmark: Benchmark): void {
  const use = benchmark.trainable ?? { allowed: true };
  if (use.allowed) return;
  throw new TypeError(
    `Cannot train on benchmark "${benchmark.name}" as its data may not be used as training data: ${use.reason}: train on another benchmark and evaluate on this one`,
  );
}

export type {
  Benchmark,
  BenchmarkSummary,
  DatasetSpec,
  Execute,
  JudgedTask,
  LoadedTasks,
  LoadOptions,
  MetricName,
  PromptOptions,
  TrainingUse,
} from "./benchmark.ts";
