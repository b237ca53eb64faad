/**
 * The leaderboard pages: every benchmark, and one benchmark in full. Each benchmark's runs are
 * grouped by comparability key, the largest group first, each group titled in words by what
 * defines it; runs are ranked on the headline metric (ties share a rank) with 95% intervals, and
 * charts compare models: ranked bars with intervals, and bars per language.
 *
 * @module
 */

import { html } from "hono/html";
import type { RunEntry, StoreProblem } from "../report/store.ts";
import { groupedBarChart, rankedBarChart, SERIES_COLORS } from "./_charts.ts";
import type { Board, BoardGroup } from "./_data.ts";
import { modelWords } from "./_group_titles.ts";
import {
  formatDate,
  formatMetric,
  type Html,
  isRate,
  keyValues,
  page,
  runPath,
} from "./_layout.ts";

/** Options of {@linkcode boardsPage}. */
export interface BoardsPageOptions {
  /** Rows shown per group before a link to the full board. */
  readonly rowsPerGroup: number;
  readonly title: string;
}

/** Runs drawn in a group's ranked chart, and in its per-language chart. */
const CHART_RUNS = 15;
const LANGUAGE_CHART_RUNS = 4;

/** Leaderboards, with the files the store could not read listed on top. */
export function boardsPage(
  boards: readonly Board[],
  problems: readonly StoreProblem[],
  options: BoardsPageOptions,
): Html {
  const body = html`<h1>${options.title}</h1>
${problemList(problems)}
${
    boards.length === 0
      ? html`
        <p
          class="notice">No reports found. Run <code>deno task bench</code>, or serve another folder with <code>deno task serve --reports DIR</code>.</p>
      `
      : ""
  }
${boards.map((b) => boardSection(b, options.rowsPerGroup))}`;
  return page(options.title, body);
}

function problemList(problems: readonly StoreProblem[]): Html | string {
  if (problems.length === 0) return "";
  return html`<div class="error"><strong>${problems.length} report${
    problems.length === 1 ? "" : "s"
  } could not be read</strong>
<ul>${problems.map((p) => html`<li><code>${p.path}</code>: ${p.message}</li>`)}</ul></div>`;
}

function boardSection(board: Board, rowsPerGroup: number): Html {
  const href = `/benchmarks/${encodeURIComponent(board.benchmark)}`;
  const runs = board.groups.reduce((n, g) => n + g.runs.length, 0);
  return html`<h2><a href="${href}">${board.benchmark}</a>
<span class="muted small">${runs} run${runs === 1 ? "" : "s"} in ${board.groups.length} group${
    board.groups.length === 1 ? "" : "s"
  } of comparable runs</span></h2>
${board.groups.map((g) => groupCard(board.benchmark, g, rowsPerGroup))}`;
}

function groupCard(benchmark: string, group: BoardGroup, rowsPerGroup: number): Html {
  const shown = group.runs.slice(0, rowsPerGroup);
  const hidden = group.runs.length - shown.length;
  const more = `/benchmarks/${encodeURIComponent(benchmark)}`;
  return html`<section class="card">
<h3 class="group">${group.title}</h3>
<div class="muted">ranked by <strong>${group.headline}</strong> · ${group.runs.length} run${
    group.runs.length === 1 ? "" : "s"
  }</div>
${group.shared ? html`<div class="muted small">Also fixed: ${group.shared}</div>` : ""}
<details><summary class="muted">Comparability key <code>${
    group.key.slice(0, 16)
  }</code>: every field</summary>${keyValues(Object.entries(group.keyFields))}</details>
${group.runs.length >= 2 ? charts(group) : ""}
${runTable(group, shown)}
${hidden > 0 ? html`<p><a href="${more}">Show all ${group.runs.length} runs</a></p>` : ""}
</section>`;
}

function charts(group: BoardGroup): Html {
  return html`<div class="charts">${rankedChart(group)}${languageChart(group)}</div>`;
}

/** The group's runs ranked on the headline metric, with 95% intervals as whiskers. */
function rankedChart(group: BoardGroup): Html | string {
  const metric = group.headline;
  const bars = group.runs.slice(0, CHART_RUNS).flatMap((run, i) => {
    const value = run.summary.metrics[metric];
    if (typeof value !== "number") return [];
    const ci = run.summary.headlineInterval;
    return [{
      rank: group.ranks[i] ?? null,
      label: modelWords(run.summary.config.model).name,
      value,
      ...(ci ? { low: ci.low, high: ci.high } : {}),
      text: formatMetric(metric, value) + (ci ? ` (${intervalText(metric, ci)})` : ""),
      href: runPath(run.ref),
    }];
  });
  if (bars.length < 2) return "";
  const more = group.runs.length > CHART_RUNS ? `, top ${CHART_RUNS} of ${group.runs.length}` : "";
  return rankedBarChart(bars, {
    title: `${metric} with 95% intervals${more}`,
    max: isRate(metric) ? 1 : Math.max(...bars.map((b) => b.high ?? b.value), 1e-9),
  });
}

/** The best runs' headline metric per language, where the group has several languages. */
function languageChart(group: BoardGroup): Html | string {
  const columns = group.languageColumns.filter((c) => c.metric === group.headline);
  if (columns.length < 2) return "";
  const runs = group.runs.slice(0, LANGUAGE_CHART_RUNS);
  const series = runs.map((run, i) => ({
    name: `${group.ranks[i] ?? "–"}. ${modelWords(run.summary.config.model).name}`,
    color: SERIES_COLORS[i % SERIES_COLORS.length]!,
  }));
  const clusters = columns.map(({ language, metric }) => ({
    label: language,
    values: runs.map((r) => r.summary.metricsByLanguage[language]?.[metric] ?? null),
  }));
  return groupedBarChart(clusters, {
    title: `${group.headline} by language, top ${runs.length} run${runs.length === 1 ? "" : "s"}`,
    series,
    max: isRate(group.headline)
      ? 1
      : Math.max(1e-9, ...clusters.flatMap((c) => c.values.map((v) => v ?? 0))),
    format: (v) => formatMetric(group.headline, v),
  });
}

function intervalText(metric: string, ci: { low: number; high: number }): string {
  return `${formatMetric(metric, ci.low)} – ${formatMetric(metric, ci.high)}`;
}

function runTable(group: BoardGroup, runs: readonly RunEntry[]): Html {
  return html`
    <table>
      <thead>
        <tr><th class="num">#</th><th>Model</th><th>Settings</th><th>Run</th>
    <th class="num">★ ${group.headline}</th><th class="num">95% interval</th>
    ${group.metrics.filter((m) => m !== group.headline).map((m) => html`<th class="num">${m}</th>`)}
    ${group.languageColumns.map((c) =>
      html`<th class="num">${c.language}<div class="small">${c.metric}</div></th>`
    )}
    <th class="num">Tasks</th></tr>
      </thead>
      <tbody>${runs.map((r, i) => runRow(group, r, group.ranks[i] ?? null))}</tbody>
    </table>
  `;
}

function runRow(group: BoardGroup, run: RunEntry, rank: number | null): Html {
  const { config, provenance, metrics, metricsByLanguage, headlineInterval: ci } = run.summary;
  const model = modelWords(config.model);
  return html`<tr class="${rank === 1 ? "best" : ""}">
<td class="num">${rank ?? "–"}</td>
<td>${
    config.imported === undefined ? "" : html`
      <strong>imported</strong> ·
    `
  }<strong>${config.name ?? model.name}</strong>${
    config.name === undefined ? "" : html`<div class="muted small">${model.name}</div>`
  }${model.details ? html`<div class="muted small">${model.details}</div>` : ""}</td>
<td class="muted small">${settingsText(run)}</td>
<td class="small"><a href="${runPath(run.ref)}">${run.summary.id}</a>${
    where(run)
  }<div class="muted">${formatDate(provenance.startedAt)}</div></td>
<td class="num"><strong>${formatMetric(group.headline, metrics[group.headline])}</strong></td>
<td class="num muted">${ci ? intervalText(group.headline, ci) : "–"}</td>
${
    group.metrics.filter((m) => m !== group.headline).map((m) =>
      html`<td class="num">${formatMetric(m, metrics[m])}</td>`
    )
  }
${
    group.languageColumns.map((c) =>
      html`<td class="num">${
        formatMetric(c.metric, metricsByLanguage[c.language]?.[c.metric])
      }</td>`
    )
  }
<td class="num">${config.taskCount}</td>
</tr>`;
}

/** The run's folder, where it is not `<benchmark>/<id>` (a baseline, a copied run). */
function where(run: RunEntry): Html | string {
  const { folder, run: name } = run.ref;
  if (folder === run.summary.config.benchmark && name === run.summary.id) return "";
  return html`<div class="muted">${folder}/${name}</div>`;
}

/** Sampling and prompt settings in one short line. */
export function settingsText(run: RunEntry): string {
  const { sampling, shots } = run.summary.config;
  if ("unknown" in sampling) {
    return `n=${sampling.n} sampling unknown (${sampling.unknown}) shots=${shots}`;
  }
  return `n=${sampling.n} T=${sampling.temperature} top-p=${sampling.topP} top-k=${sampling.topK} ` +
    `max=${sampling.maxTokens} shots=${shots} seed=${sampling.seed}`;
}
