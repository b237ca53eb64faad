/**
 * How metric values, differences and p-values are written, on pages and in the check's output.
 *
 * @module
 */

/** What a metric is, for display: a share shown as a percentage, a 0-1 score, or a count. */
export type MetricKind = "rate" | "score" | "count";

/**
 * Metrics that are shares of tasks or samples (or means of per-task shares), by name pattern:
 * pass@k, `*_rate`, exact match, APPS strict accuracy and test-case average (per difficulty too).
 */
const RATE_PATTERNS: readonly RegExp[] = [
  /^pass@\d+$/,
  /_rate$/,
  /^exact_match$/,
  /^strict_accuracy(_best_of_n)?(\/.+)?$/,
  /^test_case_average(_best_of_n)?(\/.+)?$/,
];

/** The kind of a metric (see {@linkcode MetricKind}). */
export function metricKind(metric: string): MetricKind {
  if (isCount(metric)) return "count";
  return RATE_PATTERNS.some((p) => p.test(metric)) ? "rate" : "score";
}

/** Whether a metric is a rate shown as a percentage. */
export function isRate(metric: string): boolean {
  return metricKind(metric) === "rate";
}

/** Whether a "metric" is a count (`tasks`, `samples`, `compile_errors/<cause>`), not a score. */
export function isCount(metric: string): boolean {
  return metric === "tasks" || metric === "samples" || metric.includes("_errors/");
}

/** A metric value for a table cell: rates as percentages, counts whole, others with four decimals. */
export function formatMetric(metric: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (isCount(metric)) return String(value);
  return isRate(metric) ? `${(value * 100).toFixed(1)}%` : value.toFixed(4);
}

/** A signed difference of a metric. */
export function formatDelta(metric: string, value: number): string {
  const sign = value > 0 ? "+" : value < 0 ? "−" : "±";
  const abs = Math.abs(value);
  return sign + (isRate(metric) ? `${(abs * 100).toFixed(1)} pt` : abs.toFixed(4));
}

/** A p-value, short. */
export function formatP(p: number): string {
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}
