/**
 * The readable summary printed at the end of a run: the headline metric first with its 95%
 * interval, then rates (all as percentages) and scores (0 to 1) in tables of their own, counts on
 * their own line, and a sentence for the pass@k that n cannot estimate.
 *
 * @module
 */

import { formatMetric, metricKind } from "../leaderboard/format.ts";
import { orderMetrics } from "../leaderboard/_data.ts";
import { type Interval, metricInterval } from "../report/compare.ts";
import type { Metrics, Report } from "../report/schema.ts";

/** Formats a report as a few aligned tables for the terminal. */
export function formatSummary(report: Report, reportPath: string): string {
  const { config, provenance } = report;
  const lines = [
    "",
    `${config.benchmark} · split ${config.split} · ${config.taskCount} tasks · model ` +
    `${config.model.backend}:${config.model.id} · n=${config.sampling.n}`,
    `isolation ${provenance.isolation.mode} · ${provenance.workers} workers · dataset ${
      Object.values(config.dataset.sha256).map((s) => s.slice(0, 12)).join(",")
    }`,
    "",
    headlineLine(report),
    ...metricTables(report),
    "",
    countsLine(report),
    ...notEstimated(report),
  ];
  for (const [field, groups] of Object.entries(report.metricsByGroup)) {
    lines.push("", groupTable(field, groups, report.headline));
  }
  if (Object.keys(report.metricsByLanguage).length > 1) {
    lines.push("", groupTable("language", report.metricsByLanguage, report.headline));
  }
  lines.push("", throughputLine(report), `report: ${reportPath}`);
  return lines.join("\n");
}

/** `pass@1 40.0% (95% interval 21.9% to 61.3%, Wilson over 20 tasks)`. */
function headlineLine(report: Report): string {
  const { headline, metrics } = report;
  const value = metrics[headline];
  if (typeof value !== "number") return `${headline}: no value (see the statuses below)`;
  const ci = metricInterval(report, headline);
  return `${headline} ${formatMetric(headline, value)}` +
    (ci ? ` (95% interval ${intervalText(headline, ci, " to ")}, ${method(ci)})` : "");
}

function metricTables(report: Report): string[] {
  const names = orderMetrics(Object.keys(report.metrics))
    .filter((m) => typeof report.metrics[m] === "number");
  const rows = (kind: "rate" | "score") =>
    names.filter((m) => metricKind(m) === kind).map((m) => {
      const ci = metricInterval(report, m);
      return [m, formatMetric(m, report.metrics[m]), ci ? intervalText(m, ci, " – ") : "–"];
    });
  const rates = rows("rate");
  const scores = rows("score");
  return [
    ...(rates.length ? ["", table(["rate", "value", "95% interval"], rates)] : []),
    ...(scores.length ? ["", table(["score (0 to 1)", "value", "95% interval"], scores)] : []),
  ];
}

function intervalText(metric: string, ci: Interval, between: string): string {
  return `${formatMetric(metric, ci.low)}${between}${formatMetric(metric, ci.high)}`;
}

function method(ci: Interval): string {
  return `${ci.method === "wilson" ? "Wilson" : "bootstrap"} over ${ci.tasks} tasks`;
}

/** Task and sample counts, samples by status, and other counts, on one line. */
function countsLine(report: Report): string {
  const { metrics, statusCounts } = report;
  const statuses = Object.entries(statusCounts).filter(([, n]) => n > 0)
    .map(([status, n]) => `${status} ${n}`).join(", ");
  const others = Object.keys(metrics)
    .filter((m) => metricKind(m) === "count" && m !== "tasks" && m !== "samples")
    .filter((m) => typeof metrics[m] === "number" && metrics[m] !== 0)
    .map((m) => `${m} ${metrics[m]}`);
  return [
    `counts: ${metrics.tasks ?? report.tasks.length} tasks · ${metrics.samples ?? "?"} samples` +
    ` · samples by status: ${statuses || "none"}`,
    ...(others.length ? [`        ${others.join(" · ")}`] : []),
  ].join("\n");
}

/** Why pass@k for k > n is not shown. */
function notEstimated(report: Report): string[] {
  const n = report.config.sampling.n;
  const hidden = report.config.k.filter((k) => k > n).map((k) => `pass@${k}`);
  if (hidden.length === 0) return [];
  const largest = Math.max(...report.config.k);
  return [
    `not shown: ${hidden.join(" and ")}, as k > n (${n} sample${n === 1 ? "" : "s"} per task ` +
    `cannot estimate them): pass --n ${largest} or more, or --k with smaller values`,
  ];
}

function throughputLine(report: Report): string {
  const { executions, seconds } = report.throughput;
  return executions === 0
    ? "throughput: every execution was taken from an earlier attempt of this run (resumed)"
    : `throughput: ${executions} executions in ${seconds.toFixed(2)} s = ${
      (executions / seconds).toFixed(1)
    } executions/s`;
}

function groupTable(
  field: string,
  groups: Readonly<Record<string, Metrics>>,
  headline: string,
): string {
  const rows = Object.entries(groups).map(([group, metrics]) => [
    group,
    String(metrics.tasks ?? ""),
    formatMetric(headline, metrics[headline]),
  ]);
  return table([field, "tasks", headline], rows);
}

/** Left-aligned text table with a rule under the header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
