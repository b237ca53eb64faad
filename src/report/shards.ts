/**
 * Shards of one run (`bench --shard I/N`): which reports belong together, and whether they make a
 * whole. Pure; `deno task merge` (`src/cli/merge.ts`) does the I/O and rebuilds the run.
 *
 * @module
 */

import { canonicalJson, sha256 } from "../util/hash.ts";
import type { Report } from "./schema.ts";

/** One shard's report and the folder holding its records. */
export interface ShardRun {
  readonly runDir: string;
  readonly report: Report;
}

/** The shards of one run, in shard order. */
export interface ShardGroup {
  /** What the shards share: everything that shapes the results, minus the shard itself. */
  readonly key: string;
  readonly count: number;
  readonly shards: readonly ShardRun[];
}

/** What makes two shards parts of the same run. */
export function shardGroupKey(report: Report): string {
  const { shard: _, taskCount: _count, ...config } = report.config;
  return sha256(canonicalJson({
    config,
    count: report.config.shard?.count ?? 1,
    limits: report.provenance.isolation.limits,
    headline: report.headline,
  }));
}

/**
 * Groups shard reports into runs and checks each is whole: every index from 0 to N-1 once, the
 * same toolchains and isolation. Reports of runs that were not sharded are refused.
 */
export function groupShards(runs: readonly ShardRun[]): ShardGroup[] {
  const byKey = new Map<string, ShardRun[]>();
  for (const run of runs) {
    if (!run.report.config.shard) {
      throw new TypeError(
        `Cannot merge "${run.runDir}" as it is not a shard (its config has no "shard"): ` +
          `pass the folders of runs made with --shard I/N`,
      );
    }
    const key = shardGroupKey(run.report);
    byKey.set(key, [...byKey.get(key) ?? [], run]);
  }
  return [...byKey.entries()].map(([key, members]) => checkGroup(key, members));
}

function checkGroup(key: string, members: readonly ShardRun[]): ShardGroup {
  const count = members[0]!.report.config.shard!.count;
  const shards = members.toSorted((a, b) =>
    a.report.config.shard!.index - b.report.config.shard!.index
  );
  const indexes = shards.map((s) => s.report.config.shard!.index);
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !indexes.includes(i));
  const repeated = indexes.filter((index, i) => indexes.indexOf(index) !== i);
  const { benchmark, model } = shards[0]!.report.config;
  const what = `${benchmark} of ${model.id} in ${count} shards`;
  if (missing.length > 0 || repeated.length > 0) {
    throw new RangeError(
      `Cannot merge ${what} as shards are missing or repeated: missing ${
        missing.join(", ") || "none"
      }, repeated ${[...new Set(repeated)].join(", ") || "none"}: run the missing shards first`,
    );
  }
  const executorOf = (run: ShardRun) =>
    canonicalJson({
      toolchains: run.report.provenance.toolchains.map((t) => [t.language, t.version]),
      isolation: run.report.provenance.isolation.mode,
    });
  const differing = shards.find((run) => executorOf(run) !== executorOf(shards[0]!));
  if (differing) {
    throw new TypeError(
      `Cannot merge ${what} as shard ${differing.report.config.shard!.index} ran with other ` +
        `toolchains or isolation than shard 0: current value is ${executorOf(differing)}, ` +
        `expected ${executorOf(shards[0]!)}: run every shard in the same image`,
    );
  }
  return { key, count, shards };
}
