/**
 * The readable summary printed at the end of a run.
 *
 * @module
 */

import { formatMetric } from "../leaderboard/format.ts";
import type { Metrics, Report } from "../report/schema.ts";

/** Formats a report as a few aligned tables for the terminal. */
export function formatSummary(report: Report, reportPath: string): string {
  const { config, provenance } = report;
  const lines = [
    "",
    `${config.benchmark} · split ${config.split} · ${config.taskCount} tasks · model ${config.model.backend}:${config.model.id} · n=${config.sampling.n}`,
    `isolation ${provenance.isolation.mode} · ${provenance.workers} workers · dataset ${
      Object.values(config.dataset.sha256).map((s) => s.slice(0, 12)).join(",")
    }`,
    "",
    table(["metric", "value"], metricRows(report.metrics)),
    "",
    table(
      ["status", "samples"],
      Object.entries(report.statusCounts).filter(([, count]) => count > 0).map((
        [s, c],
      ) => [s, String(c)]),
    ),
  ];
  for (const [field, groups] of Object.entries(report.metricsByGroup)) {
    lines.push("", groupTable(field, groups, report.headline));
  }
  if (Object.keys(report.metricsByLanguage).length > 1) {
    lines.push("", groupTable("language", report.metricsByLanguage, report.headline));
  }
  const { executions, seconds } = report.throughput;
  lines.push(
    "",
    executions === 0
      ? "throughput: every execution was taken from an earlier attempt of this run (resumed)"
      : `throughput: ${executions} executions in ${seconds.toFixed(2)} s = ${
        (executions / seconds).toFixed(1)
      } executions/s`,
    `report: ${reportPath}`,
  );
  return lines.join("\n");
}

function metricRows(metrics: Metrics): string[][] {
  return Object.entries(metrics).filter(([, value]) => value !== null).map(([name, value]) => [
    name,
    formatMetric(name, value!),
  ]);
}

function groupTable(
  field: string,
  groups: Readonly<Record<string, Metrics>>,
  headline: string,
): string {
  const rows = Object.entries(groups).map(([group, metrics]) => [
    group,
    String(metrics.tasks ?? ""),
    metrics[headline] == null ? "-" : formatMetric(headline, metrics[headline]!),
  ]);
  return table([field, "tasks", headline], rows);
}

/** Left-aligned text table with a rule under the header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
