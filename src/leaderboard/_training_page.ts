/**
 * The pages of training runs: a list, and a run's page with curves over iterations (reward and
 * each term, KL and beta, entropy, response length, rollout compile/syntax/pass rates, the eval
 * reports' metrics), its configuration and provenance, and links to its eval reports and the
 * comparison of the first with the last. Everything goes through hono's escaping `html` tag.
 *
 * @module
 */

import { html } from "hono/html";
import { formatDate, formatMetric, type Html, keyValues, page, query } from "./_layout.ts";
import type { TrainingRun } from "./training.ts";

const COLOURS = ["#2f5fd0", "#c0392b", "#2e8540", "#8e44ad", "#d35400", "#34495e"];

/** One named series of (iteration, value) points. */
interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** Lines over iterations, one per series, with a legend. */
export function iterationChart(title: string, series: readonly Series[]): Html {
  const [width, height, left, right, top, bottom] = [560, 200, 52, 12, 24, 30];
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  if (all.length === 0) return html``;
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(0, ...ys), Math.max(0, ...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number) =>
    left + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (width - left - right);
  const sy = (y: number) => top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom);
  const ticks = [y0, (y0 + y1) / 2, y1];
  return html`
    <svg class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}"
      height="${height}"
      xmlns="http://www.w3.org/2000/svg">
    <title>${title}</title>
    <text x="${left}" y="15" style="font-weight:600">${title}</text>
    ${ticks.map((t) =>
      html`
        <line x1="${left}" x2="${width - right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}"
          stroke="#e3e7ee" />
        <text x="${left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${formatTick(
          t,
        )}</text>
      `
    )}
    <text x="${left}" y="${height - 8}">iteration ${x0}</text>
    <text x="${width - right}" y="${height - 8}" text-anchor="end">${x1}</text>
    ${series.map((s, i) => {
      const points = s.points.filter(([, y]) => Number.isFinite(y))
        .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      const colour = COLOURS[i % COLOURS.length]!;
      return html`
        <polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}" />
        <text x="${left + 8 + i * 110}" y="${top + 10}" fill="${colour}">${s.name}</text>
      `;
    })}
    </svg>
  `;
}

function formatTick(y: number): string {
  return Math.abs(y) >= 100 ? y.toFixed(0) : Math.abs(y) >= 1 ? y.toFixed(2) : y.toFixed(3);
}

/** The list of training runs. */
export function trainingListPage(runs: readonly TrainingRun[]): Html {
  const rows = runs.map((run) => {
    const last = run.log.at(-1);
    return html`
      <tr>
        <td><a href="/training/${encodeURIComponent(run.name)}">${run.name}</a></td>
        <td>${run.record.benchmark}</td>
        <td>${run.record.model.path}</td>
        <td>${run.record.config.reward}</td>
        <td class="num">${run.record.iterations}/${run.record.config.iterations}</td>
        <td class="num">${last ? last.rewardMean.toFixed(3) : "-"}</td>
        <td>${run.record.status}</td>
        <td class="nowrap">${formatDate(run.record.provenance.startedAt)}</td>
      </tr>
    `;
  });
  return page(
    "Training runs",
    html`
      <h1>Training runs</h1>
      <div class="card"><table>
            <tr><th>run</th><th>benchmark</th><th>model</th><th>reward</th><th class="num">iterations</th>
            <th class="num">last reward</th><th>status</th><th>started</th></tr>
            ${rows}
          </table>${runs.length === 0 ? html`<p class="muted">No training runs yet.</p>` : ""}</div>
    `,
  );
}

/** A training run's page. */
export function trainingRunPage(run: TrainingRun): Html {
  const { record, log } = run;
  const at = (f: (e: (typeof log)[number]) => number) =>
    log.map((e) => [e.iteration, f(e)] as const);
  const terms = [...new Set(log.flatMap((e) => Object.keys(e.terms)))];
  const evalMetrics = [...new Set(record.evals.flatMap((e) => Object.keys(e.metrics)))]
    .filter((m) => !m.includes("/") && !["tasks", "samples"].includes(m))
    .filter((m) => record.evals.some((e) => typeof e.metrics[m] === "number"));
  const charts = [
    iterationChart("Reward (mean of the score)", [{
      name: "reward",
      points: at((e) => e.rewardMean),
    }]),
    iterationChart(
      "Reward terms (unweighted means; kl = -beta x KL)",
      terms.map((t) => ({
        name: t,
        points: at((e) => e.terms[t] ?? Number.NaN),
      })),
    ),
    iterationChart("KL to the reference per sequence, and beta", [
      { name: "kl", points: at((e) => e.kl) },
      { name: "beta", points: at((e) => e.beta) },
    ]),
    iterationChart("Entropy", [{ name: "entropy", points: at((e) => e.entropy) }]),
    iterationChart("Response length", [
      { name: "tokens", points: at((e) => e.responseTokens) },
      { name: "chars written", points: at((e) => e.writtenChars) },
    ]),
    iterationChart("Rollouts: compile, syntax and pass rate", [
      { name: "compile", points: at((e) => e.compileRate) },
      { name: "syntax", points: at((e) => e.syntaxRate) },
      { name: "pass", points: at((e) => e.passRate) },
    ]),
    iterationChart(
      "Eval reports",
      evalMetrics.slice(0, 6).map((m) => ({
        name: m,
        points: record.evals.map((e) => [e.iteration, e.metrics[m] ?? Number.NaN] as const),
      })),
    ),
  ];
  return page(
    `Training ${run.name}`,
    html`<h1>Training run ${run.name}</h1>
    <p class="muted">${record.benchmark} · ${record.status} · ${record.iterations}/${record.config.iterations}
      iterations · started ${
      formatDate(record.provenance.startedAt)
    } · <a href="/training">all runs</a></p>
    ${evalSection(run)}
    <h2>Curves</h2><div class="grid2">${charts.map((c) => html`<div class="card">${c}</div>`)}</div>
    <h2>Configuration</h2><div class="card">${keyValues(Object.entries(record.config))}</div>
    <h2>Provenance</h2><div class="card">${
      keyValues([
        ["model", record.model],
        ["train split", `${record.split} (${record.taskCount} tasks)`],
        ["eval split", record.evalSplit],
        ["dataset", record.dataset],
        ["tfjs", record.tfjs],
        ["onnxruntime", record.onnxruntime],
        ["harness", record.provenance.harness],
        ["host", record.provenance.host],
        ["isolation", record.provenance.isolation],
        [
          "toolchains",
          record.provenance.toolchains.map((t) => `${t.language} ${t.version}`).join(", "),
        ],
        ["checkpoints", record.checkpoints.join(", ") || "none"],
      ])
    }</div>`,
  );
}

function evalSection(run: TrainingRun): Html {
  const evals = run.record.evals;
  if (evals.length === 0) return html`<p class="muted">No evaluation reports.</p>`;
  const first = evals[0]!;
  const last = evals.at(-1)!;
  const compare = first === last
    ? ""
    : html`<p><a href="/compare${
      query({ a: first.ref, b: last.ref })
    }">Compare iteration ${first.iteration} with iteration ${last.iteration}</a></p>`;
  const metrics = Object.keys(first.metrics).filter((m) => !m.includes("/")).slice(0, 8);
  return html`
    <h2>Evaluation reports</h2>
    <div class="card"><table>
        <tr><th>iteration</th><th>report</th>${metrics.map((m) =>
          html`<th class="num">${m}</th>`
        )}</tr>
        ${evals.map((e) =>
          html`<tr><td>${e.iteration}</td><td><a href="/runs/${
            e.ref.split("/").map(encodeURIComponent).join("/")
          }">${e.ref}</a></td>${
            metrics.map((m) => html`<td class="num">${formatMetric(m, e.metrics[m] ?? null)}</td>`)
          }</tr>`
        )}</table>${compare}</div>
  `;
}
