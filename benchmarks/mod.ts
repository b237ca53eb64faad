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
import { xlcost } from "./xlcost.ts";

/** Every benchmark, by name. */
export const BENCHMARKS = {
  mbpp,
  apps,
  codesearchnet,
  "codexglue-translation": codexglueTranslation,
  humaneval,
  xlcost,
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

export type {
  Benchmark,
  BenchmarkSummary,
  DatasetSpec,
  JudgedTask,
  LoadedTasks,
  LoadOptions,
  MetricName,
  PromptOptions,
} from "./benchmark.ts";
