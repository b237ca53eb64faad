/**
 * The leaderboard pages: every benchmark, and one benchmark in full.
 *
 * @module
 */

import { html } from "hono/html";
import type { RunEntry, StoreProblem } from "../report/store.ts";
import { lineChart } from "./_charts.ts";
import type { Board, BoardGroup } from "./_data.ts";
import { startedAt } from "./_data.ts";
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
  return html`<h2><a href="${href}">${board.benchmark}</a></h2>
${board.groups.map((g) => groupCard(board.benchmark, g, rowsPerGroup))}`;
}

function groupCard(benchmark: string, group: BoardGroup, rowsPerGroup: number): Html {
  const shown = group.runs.slice(0, rowsPerGroup);
  const hidden = group.runs.length - shown.length;
  const more = `/benchmarks/${encodeURIComponent(benchmark)}`;
  return html`<section class="card">
<div><strong>Comparability key</strong> <code>${group.key.slice(0, 16)}</code>
<span class="muted">· ranked by <strong>${group.headline}</strong> · ${group.runs.length} run${
    group.runs.length === 1 ? "" : "s"
  }</span></div>
<details><summary class="muted">What this key stands for</summary>${
    keyValues(Object.entries(group.keyFields))
  }</details>
${group.runs.length >= 2 ? headlineChart(group) : ""}
${runTable(group, shown)}
${hidden > 0 ? html`<p><a href="${more}">Show all ${group.runs.length} runs</a></p>` : ""}
</section>`;
}

function headlineChart(group: BoardGroup): Html {
  const metric = group.headline;
  const points = group.runs.flatMap((r) => {
    const y = r.summary.metrics[metric];
    if (typeof y !== "number") return [];
    const label = `${r.summary.id}: ${formatMetric(metric, y)} (${r.summary.config.model.id})`;
    return [{ x: startedAt(r), y, label, href: runPath(r.ref) }];
  });
  return lineChart(points, {
    title: `${metric} per run over time`,
    format: (y) => formatMetric(metric, y),
    ...(isRate(metric) ? { yMax: 1 } : {}),
    width: 720,
    height: 200,
  });
}

function runTable(group: BoardGroup, runs: readonly RunEntry[]): Html {
  return html`
    <table>
      <thead>
        <tr><th class="num">#</th><th>Run</th><th>Model</th><th>Settings</th><th>Date</th>
    ${group.metrics.map((m) => html`<th class="num">${m === group.headline ? `★ ${m}` : m}</th>`)}
    ${group.languageColumns.map((c) => html`<th class="num">${c.language} ${c.metric}</th>`)}
    <th class="num">Tasks</th></tr>
      </thead>
      <tbody>${runs.map((r, i) => runRow(group, r, i))}</tbody>
    </table>
  `;
}

function runRow(group: BoardGroup, run: RunEntry, index: number): Html {
  const { config, provenance, metrics, metricsByLanguage } = run.summary;
  return html`<tr class="${index === 0 ? "best" : ""}">
<td class="num">${index + 1}</td>
<td><a href="${runPath(run.ref)}">${run.summary.id}</a>${where(run)}</td>
<td>${
    config.imported === undefined ? "" : html`
      <strong>imported</strong> ·
    `
  }${
    config.name === undefined ? "" : html`
      ${config.name} ·
    `
  }${config.model.backend} · <code>${config.model.id}</code></td>
<td class="muted">${settingsText(run)}</td>
<td class="nowrap">${formatDate(provenance.startedAt)}</td>
${group.metrics.map((m) => html`<td class="num">${formatMetric(m, metrics[m])}</td>`)}
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
