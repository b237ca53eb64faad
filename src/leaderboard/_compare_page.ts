/**
 * The comparison of two runs: paired tests per metric, the tasks that flipped, and a refusal
 * that names the differing fields when the runs are not comparable.
 *
 * @module
 */

import { html } from "hono/html";
import type { FieldDifference, PairedComparison, TaskFlip } from "../report/compare.ts";
import type { LoadedRun } from "../report/store.ts";
import type { ComparedRuns, RunComparison } from "./_data.ts";
import { formatDelta, formatMetric, formatP, type Html, page, query, runPath } from "./_layout.ts";

/** Flipped tasks listed per direction before cutting. */
const FLIPS_SHOWN = 200;

/** The comparison page, or the refusal. */
export function comparePage(comparison: RunComparison): Html {
  const { a, b } = comparison;
  const title = `${a.report.id} vs ${b.report.id}`;
  const head = html`<h1>Comparison</h1>
<p>A: ${runLink(a)} · B: ${runLink(b)}</p>`;
  if (!comparison.comparable) {
    return page(title, html`${head}${refusal(comparison.reason, comparison.differences)}`);
  }
  const chosen = comparison.metrics.find((m) => m.metric === comparison.metric);
  const body = html`${head}
<section class="card"><h3>Paired comparison per metric (B − A)</h3>${metricTable(comparison)}
<p class="muted">Paired over the tasks both runs judged. Interval: paired bootstrap over tasks (95%).
p: exact McNemar test when every task is a pass or a fail, exact sign test on per-task values otherwise (two-sided).</p></section>
${comparison.byLanguage.length > 0 ? languageTable(comparison) : ""}
${
    chosen
      ? flips(comparison, chosen)
      : html`<p class="notice">Metric "${comparison.metric}" has no per-task values in these runs.</p>`
  }`;
  return page(title, body);
}

function runLink(run: LoadedRun): Html {
  return html`<a href="${
    runPath(run.ref)
  }">${run.report.id}</a> <span class="muted">(${run.report.config.model.id})</span>`;
}

function refusal(reason: string, differences: readonly FieldDifference[]): Html {
  return html`<div class="error"><strong>These runs cannot be compared.</strong> ${reason}.</div>
${
    differences.length > 0
      ? html`
        <section class="card">
          <table>
            <thead>
              <tr>
                <th>Field</th>
                <th>A</th>
                <th>B</th>
              </tr>
            </thead>
            <tbody>${differences.map((d) =>
              html`
                <tr>
                  <td>${d.field}</td>
                  <td><code>${d.a}</code></td>
                  <td><code>${d.b}</code></td>
                </tr>
              `
            )}</tbody>
          </table>
        </section>
      `
      : ""
  }`;
}

function metricTable(comparison: ComparedRuns): Html {
  const { a, b } = comparison;
  return html`
    <table>
      <thead>
        <tr>
          <th>Metric</th>
          <th class="num">A</th>
          <th class="num">B</th>
          <th class="num">B − A</th>
          <th class="num">95% interval</th>
          <th class="num">Better in B</th>
          <th class="num">Worse in B</th>
          <th class="num">Tasks</th>
          <th>Test</th>
          <th class="num">p</th>
        </tr>
      </thead>
      <tbody>
    ${comparison.metrics.map((m) => {
      const link = `/compare${
        query({
          a: `${a.ref.folder}/${a.ref.run}`,
          b: `${b.ref.folder}/${b.ref.run}`,
          metric: m.metric,
        })
      }`;
      return html`
        <tr${m.metric === comparison.metric
          ? html`
            class="best"
          `
          : ""}>
          <td><a href="${link}">${m.metric}</a></td>
          <td class="num">${formatMetric(m.metric, m.meanA)}</td>
          <td class="num">${formatMetric(m.metric, m.meanB)}</td>
          <td class="num">${formatDelta(m.metric, m.difference.value)}</td>
          <td class="num">${formatDelta(m.metric, m.difference.low)} … ${formatDelta(
            m.metric,
            m.difference.high,
          )}</td>
          <td class="num">${m.improved.length}</td>
          <td class="num">${m.regressed.length}</td>
          <td class="num">${m.paired}</td>
          <td class="muted">${m.test}</td>
          <td class="num">${formatP(m.pValue)}</td>
          </tr>
      `;
    })}</tbody>
    </table>
  `;
}

function languageTable(comparison: ComparedRuns): Html {
  const metric = comparison.metric;
  return html`
    <section class="card">
      <h3>${metric} per language</h3>
      <table>
        <thead>
          <tr>
            <th>Language</th>
            <th class="num">A</th>
            <th class="num">B</th>
            <th class="num">B − A</th>
            <th class="num">Better</th>
            <th class="num">Worse</th>
            <th class="num">p</th>
          </tr>
        </thead>
        <tbody>
    ${comparison.byLanguage.map(({ language, paired: m }) =>
      html`
        <tr>
          <td>${language}</td>
          <td class="num">${formatMetric(metric, m.meanA)}</td>
          <td class="num">${formatMetric(metric, m.meanB)}</td>
          <td class="num">${formatDelta(metric, m.difference.value)}</td>
          <td class="num">${m.improved.length}</td>
          <td class="num">${m.regressed.length}</td>
          <td class="num">${formatP(m.pValue)}</td>
        </tr>
      `
    )}</tbody>
      </table>
    </section>
  `;
}

function flips(runs: ComparedRuns, m: PairedComparison): Html {
  return html`
    <div class="grid2">
      <section class="card"><h3>Worse in B on ${m.metric} (${m.regressed.length})</h3>${flipTable(
        runs,
        m.metric,
        m.regressed,
      )}</section>
      <section class="card"><h3>Better in B on ${m.metric} (${m.improved.length})</h3>${flipTable(
        runs,
        m.metric,
        m.improved,
      )}</section>
    </div>
    ${m.onlyA + m.onlyB > 0
      ? html`
        <p
          class="notice">${m.onlyA} tasks only in A and ${m
            .onlyB} only in B are left out of the pairing.</p>
      `
      : ""}
  `;
}

function flipTable(runs: ComparedRuns, metric: string, list: readonly TaskFlip[]): Html {
  const task = (run: LoadedRun, id: string, text: string) =>
    html`<a href="${runPath(run.ref, "/task")}${query({ id })}">${text}</a>`;
  if (list.length === 0) return html`<p class="muted">None.</p>`;
  const shown = list.slice(0, FLIPS_SHOWN);
  return html`
    <table>
      <thead>
        <tr>
          <th>Task</th>
          <th>Language</th>
          <th class="num">A</th>
          <th class="num">B</th>
        </tr>
      </thead>
      <tbody>
    ${shown.map((f) =>
      html`
        <tr>
          <td>${f.taskId}</td>
          <td>${f.language}</td>
          <td class="num">${task(runs.a, f.taskId, formatMetric(metric, f.a))}</td>
          <td class="num">${task(runs.b, f.taskId, formatMetric(metric, f.b))}</td>
        </tr>
      `
    )}
      </tbody>
    </table>${list.length > shown.length
      ? html`<p class="muted">… and ${list.length - shown.length} more (see the JSON API).</p>`
      : ""}
  `;
}
