/**
 * What the pages and the JSON API show, computed once from the store: leaderboards grouped by
 * comparability key, filtered task lists, comparisons.
 *
 * @module
 */

import {
  comparability,
  type FieldDifference,
  type Interval,
  metricInterval,
  type PairedComparison,
  pairedComparison,
  pairTasks,
} from "../report/compare.ts";
import type { Report, TaskOutcome } from "../report/schema.ts";
import type { Listing, LoadedRun, RunEntry } from "../report/store.ts";
import { EXECUTION_STATUSES, type ExecutionStatus } from "../types.ts";
import { isCount } from "./_layout.ts";
import { groupWords } from "./_group_titles.ts";

/** Runs of one benchmark that share a comparability key, best first. */
export interface BoardGroup {
  readonly key: string;
  /** What defines the group, in words (see `groupWords`). */
  readonly title: string;
  /** What the group shares with the benchmark's other groups, in words. */
  readonly shared: string;
  readonly headline: string;
  readonly keyFields: Readonly<Record<string, unknown>>;
  readonly runs: readonly RunEntry[];
  /** Rank of each run (runs with equal headline values share one; `null` without a value). */
  readonly ranks: readonly (number | null)[];
  /** Overall metric columns, in display order. */
  readonly metrics: readonly string[];
  /** Per-language columns, where the group has several languages. */
  readonly languageColumns: readonly { readonly language: string; readonly metric: string }[];
}

/** The leaderboard of one benchmark. */
export interface Board {
  readonly benchmark: string;
  readonly groups: readonly BoardGroup[];
}

/** Leaderboards by benchmark name, from a listing. */
export function buildBoards(listing: Listing): Board[] {
  const byBenchmark = groupBy(listing.runs, (r) => r.summary.config.benchmark);
  return [...byBenchmark.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([benchmark, runs]) => ({ benchmark, groups: buildGroups(runs) }));
}

/** The groups of one benchmark: the largest first (then the most recent), titled in words. */
function buildGroups(runs: readonly RunEntry[]): BoardGroup[] {
  const groups = [...groupBy(runs, (r) => r.summary.comparabilityKey).entries()].map(
    ([key, members]) => {
      const headline = mostCommon(members.map((r) => r.headline));
      const sorted = [...members].sort((a, b) => compareRuns(a, b, headline));
      return {
        key,
        headline,
        keyFields: sorted[0]!.summary.keyFields,
        runs: sorted,
        ranks: competitionRanks(sorted.map((r) => r.summary.metrics[headline] ?? null)),
        metrics: orderMetrics(members.flatMap((r) => Object.keys(r.summary.metrics)))
          .filter((m) => !isCount(m)),
        languageColumns: languageColumns(members, headline),
      };
    },
  );
  groups.sort((a, b) => b.runs.length - a.runs.length || latest(b.runs) - latest(a.runs));
  const words = groupWords(groups.map((g) => g.keyFields));
  return groups.map((group, i) => ({ ...group, ...words[i]! }));
}

/**
 * Standard competition ranks ("1224") of values sorted best first: equal values share a rank,
 * and `null` (no value) has none.
 */
export function competitionRanks(sorted: readonly (number | null)[]): (number | null)[] {
  return sorted.map((value) => value === null ? null : sorted.indexOf(value) + 1);
}

function compareRuns(a: RunEntry, b: RunEntry, headline: string): number {
  const va = a.summary.metrics[headline] ?? -Infinity;
  const vb = b.summary.metrics[headline] ?? -Infinity;
  if (va !== vb) return vb - va;
  return startedAt(b) - startedAt(a);
}

function languageColumns(runs: readonly RunEntry[], headline: string) {
  const languages = [...new Set(runs.flatMap((r) => Object.keys(r.summary.metricsByLanguage)))]
    .sort();
  if (languages.length < 2) return [];
  const metrics = headline === "compile_rate" ? [headline] : [headline, "compile_rate"];
  return metrics.flatMap((metric) =>
    languages
      .filter((language) =>
        runs.some((r) => r.summary.metricsByLanguage[language]?.[metric] != null)
      )
      .map((language) => ({ language, metric }))
  );
}

/** Metric names in display order: pass@k by k, rates, BLEU, CodeBLEU, then the rest. */
export function orderMetrics(names: Iterable<string>): string[] {
  const known = ["compile_rate", "syntax_rate", "bleu", "codebleu", "exact_match"];
  const rank = (name: string): [number, number] => {
    const k = /^pass@(\d+)$/.exec(name)?.[1];
    if (k !== undefined) return [0, Number(k)];
    const i = known.indexOf(name);
    return i >= 0 ? [1, i] : [2, 0];
  };
  return [...new Set(names)].sort((a, b) => {
    const [ga, ia] = rank(a);
    const [gb, ib] = rank(b);
    return ga - gb || ia - ib || a.localeCompare(b);
  });
}

/** Start of a run in milliseconds. */
export function startedAt(run: RunEntry): number {
  return Date.parse(run.summary.provenance.startedAt);
}

function latest(runs: readonly RunEntry[]): number {
  return Math.max(...runs.map(startedAt));
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function mostCommon(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

// ---------------------------------------------------------------------------------------------
// Run page

/** Filters of the per-task outcomes, from the query string. */
export interface TaskFilter {
  readonly status?: ExecutionStatus;
  readonly language?: string;
  readonly difficulty?: string;
}

/** Reads a {@linkcode TaskFilter} from query parameters; unknown statuses are a `RangeError`. */
export function parseTaskFilter(params: Readonly<Record<string, string | undefined>>): TaskFilter {
  const { status, language, difficulty } = params;
  if (status && !(EXECUTION_STATUSES as readonly string[]).includes(status)) {
    throw new RangeError(
      `Cannot filter by status "${status}": it must be one of ${EXECUTION_STATUSES.join(", ")}`,
    );
  }
  return {
    ...(status ? { status: status as ExecutionStatus } : {}),
    ...(language ? { language } : {}),
    ...(difficulty ? { difficulty } : {}),
  };
}

/** Tasks that match every given filter; `status` matches a task with any sample of it. */
export function filterTasks(tasks: readonly TaskOutcome[], filter: TaskFilter): TaskOutcome[] {
  return tasks.filter((t) =>
    (filter.status === undefined || t.statuses.includes(filter.status)) &&
    (filter.language === undefined || t.language === filter.language) &&
    (filter.difficulty === undefined || String(t.meta.difficulty) === filter.difficulty)
  );
}

/** The values each filter can take in a report, for the filter form. */
export function filterChoices(report: Report) {
  const difficulties = new Set<string>();
  const languages = new Set<string>();
  for (const t of report.tasks) {
    languages.add(t.language);
    if (t.meta.difficulty !== undefined) difficulties.add(String(t.meta.difficulty));
  }
  const statuses = EXECUTION_STATUSES.filter((s) => (report.statusCounts[s] ?? 0) > 0);
  return { statuses, languages: [...languages].sort(), difficulties: [...difficulties].sort() };
}

/** One page of a list. */
export interface Paged<T> {
  readonly items: readonly T[];
  readonly page: number;
  readonly pages: number;
  readonly total: number;
}

/** Page `page` (1-based, clamped) of `items`. */
export function paginate<T>(items: readonly T[], page: number, size: number): Paged<T> {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(Math.max(1, Math.floor(page) || 1), pages);
  return {
    items: items.slice((current - 1) * size, current * size),
    page: current,
    pages,
    total: items.length,
  };
}

/** Confidence intervals of every metric that has per-task values. */
export function intervals(report: Report): Record<string, Interval> {
  const result: Record<string, Interval> = {};
  for (const metric of Object.keys(report.metrics)) {
    const interval = metricInterval(report, metric);
    if (interval) result[metric] = interval;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Comparison

/** Two runs that cannot be compared, and why. */
export interface RefusedComparison {
  readonly comparable: false;
  readonly a: LoadedRun;
  readonly b: LoadedRun;
  readonly reason: string;
  readonly differences: readonly FieldDifference[];
}

/** Two comparable runs side by side. */
export interface ComparedRuns {
  readonly comparable: true;
  readonly a: LoadedRun;
  readonly b: LoadedRun;
  /** Paired comparison of every metric with per-task values. */
  readonly metrics: readonly PairedComparison[];
  /** The selected metric, per language (where the runs have several languages). */
  readonly byLanguage: readonly { readonly language: string; readonly paired: PairedComparison }[];
  readonly metric: string;
}

/** Two runs side by side. */
export type RunComparison = RefusedComparison | ComparedRuns;

/** Compares run `b` with run `a` on every metric, and on `metric` per language. */
export function compareTwoRuns(a: LoadedRun, b: LoadedRun, metric?: string): RunComparison {
  const verdict = comparability(a.report, b.report);
  if (!verdict.comparable) return { ...verdict, a, b };
  const names = orderMetrics([...Object.keys(a.report.metrics), ...Object.keys(b.report.metrics)]);
  const metrics = names.flatMap((m) => pairedComparison(a.report, b.report, m) ?? []);
  const chosen = metric ?? a.headline;
  const languages = [...new Set(a.report.tasks.map((t) => t.language as string))].sort();
  const byLanguage = languages.length < 2 ? [] : languages.flatMap((language) => {
    const only = (tasks: readonly TaskOutcome[]) => tasks.filter((t) => t.language === language);
    const paired = pairTasks(only(a.report.tasks), only(b.report.tasks), chosen);
    return paired ? [{ language, paired }] : [];
  });
  return { comparable: true, a, b, metrics, byLanguage, metric: chosen };
}
