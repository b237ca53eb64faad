/**
 * The run page (configuration, provenance, metrics with intervals, per-task outcomes) and the
 * task view (samples, sanitized code, the sandbox's verdict and output).
 *
 * @module
 */

import { html } from "hono/html";
import type { Interval } from "../report/compare.ts";
import type { TaskOutcome } from "../report/schema.ts";
import type { LoadedRun, RunEntry, TaskRecords } from "../report/store.ts";
import type { SampleResult } from "../types.ts";
import type { GenerationRecord } from "../models/backend.ts";
import { barChart, STATUS_COLORS } from "./_charts.ts";
import { filterChoices, orderMetrics, type Paged, type TaskFilter } from "./_data.ts";
import {
  formatDate,
  formatMetric,
  type Html,
  isCount,
  keyValues,
  page,
  query,
  runPath,
  statusChip,
  truncate,
} from "./_layout.ts";

/** What the run page shows. */
export interface RunPageData {
  readonly run: LoadedRun;
  readonly intervals: Readonly<Record<string, Interval>>;
  /** Other runs with the same comparability key. */
  readonly comparable: readonly RunEntry[];
  readonly filter: TaskFilter;
  readonly tasks: Paged<TaskOutcome>;
}

/** The run page. */
export function runPage(data: RunPageData): Html {
  const { report } = data.run;
  const body = html`
    <p class="muted"><a href="/benchmarks/${encodeURIComponent(report.config.benchmark)}">${report
      .config.benchmark}</a> · run</p>
    <h1>${report.id}</h1>
    <p
      class="muted">${report.config.model.backend} · <code>${report.config.model
        .id}</code> · ${formatDate(report.provenance.startedAt)} · key <code>${report
        .comparabilityKey.slice(0, 16)}</code></p>
    ${compareForm(data)}
    <div class="grid2">
      <section class="card"><h3>Metrics</h3>${metricsTable(data)}</section>
      <section class="card">${statusChart(data.run)}${languageChart(data.run)}</section>
    </div>
    ${breakdowns(data.run)}
    <div class="grid2">
      <section class="card"><h3>Configuration</h3>${configList(data.run)}</section>
      <section class="card"><h3>Provenance</h3>${provenanceList(data.run)}</section>
    </div>
    <h2 id="tasks">Per-task outcomes</h2>
    <section class="card">${filterForm(data)}${taskTable(data)}</section>
  `;
  return page(report.id, body);
}

function compareForm(data: RunPageData): Html | string {
  if (data.comparable.length === 0) {
    return html`<p class="muted">No other run shares this comparability key.</p>`;
  }
  return html`<form class="filters" method="get" action="/compare">
<input type="hidden" name="a" value="${data.run.ref.folder}/${data.run.ref.run}">
<label>Compare with<select name="b">${
    data.comparable.map((r) =>
      html`<option value="${r.ref.folder}/${r.ref.run}">${r.summary.id} (${r.summary.config.model.id}, ${
        formatDate(r.summary.provenance.startedAt)
      })</option>`
    )
  }</select></label><button type="submit">Compare</button></form>`;
}

function metricsTable(data: RunPageData): Html {
  const { report, headline } = data.run;
  return html`
    <table>
      <thead>
        <tr>
          <th>Metric</th>
          <th class="num">Value</th>
          <th class="num">95% interval</th>
          <th>Method</th>
        </tr>
      </thead>
      <tbody>
    ${orderMetrics(Object.keys(report.metrics)).map((m) => {
      const ci = data.intervals[m];
      return html`
        <tr>
          <td>${m === headline ? html`<strong>★ ${m}</strong>` : m}</td>
          <td class="num">${formatMetric(m, report.metrics[m])}</td>
          <td class="num">${ci
            ? `${formatMetric(m, ci.low)} – ${formatMetric(m, ci.high)}`
            : "–"}</td>
          <td class="muted">${methodText(m, ci)}</td>
        </tr>
      `;
    })}</tbody>
    </table>
  `;
}

function methodText(metric: string, ci: Interval | undefined): string {
  if (ci) return `${ci.method} over ${ci.tasks} tasks`;
  return isCount(metric) ? "count" : "no per-task values";
}

function statusChart(run: LoadedRun): Html {
  const counts = Object.entries(run.report.statusCounts).filter(([, n]) => n > 0);
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  const bars = counts.map(([status, n]) => ({
    label: status,
    value: n,
    text: `${n} (${((n / Math.max(1, total)) * 100).toFixed(1)}%)`,
    color: STATUS_COLORS[status] ?? "#2f5fd0",
  }));
  return barChart(bars, { title: `Statuses of ${total} samples`, max: Math.max(1, total) });
}

function languageChart(run: LoadedRun): Html | string {
  const bars = Object.entries(run.report.metricsByLanguage).flatMap(([language, metrics]) => {
    const value = metrics.compile_rate;
    return typeof value === "number"
      ? [{ label: language, value, text: formatMetric("compile_rate", value) }]
      : [];
  });
  if (bars.length === 0) return "";
  return barChart(bars, { title: "Compile rate per language", max: 1 });
}

function breakdowns(run: LoadedRun): Html {
  const { metricsByLanguage, metricsByGroup } = run.report;
  const tables: [string, Readonly<Record<string, Readonly<Record<string, number | null>>>>][] = [
    ["language", metricsByLanguage],
    ...Object.entries(metricsByGroup),
  ];
  return html`${
    tables.filter(([, rows]) => Object.keys(rows).length > 0).map(([field, rows]) => {
      const metrics = orderMetrics(Object.values(rows).flatMap((r) => Object.keys(r)));
      return html`
        <section class="card">
          <h3>Metrics by ${field}</h3>
          <table>
            <thead>
              <tr><th>${field}</th>${metrics.map((m) => html`<th class="num">${m}</th>`)}</tr>
            </thead>
            <tbody>${Object.entries(rows).map(([value, row]) =>
              html`<tr><td>${value}</td>${
                metrics.map((m) => html`<td class="num">${formatMetric(m, row[m])}</td>`)
              }</tr>`
            )}</tbody>
          </table>
        </section>
      `;
    })
  }`;
}

function configList(run: LoadedRun): Html {
  const { config } = run.report;
  return keyValues([
    ["benchmark", config.benchmark],
    ["dataset", `${config.dataset.name} ${config.dataset.version}`],
    ["dataset sha256", config.dataset.sha256],
    ["dataset source", config.dataset.source],
    ["split", config.split],
    ["filter", config.filter],
    ["limit", config.limit],
    ["tasks", config.taskCount],
    ["prompt template", config.promptTemplate],
    ["shots", config.shots],
    ["model", config.model],
    ["sampling", config.sampling],
    ["k", config.k],
  ]);
}

function provenanceList(run: LoadedRun): Html {
  const { provenance: p, throughput } = run.report;
  const h = p.harness;
  return keyValues([
    ["harness", `${h.version} (${h.commit}${h.dirty ? ", uncommitted changes" : ""})`],
    ["started", formatDate(p.startedAt)],
    ["finished", formatDate(p.finishedAt)],
    ["host", `${p.host.cpu}, ${p.host.cores} cores, ${p.host.memoryGb} GB, ${p.host.os}`],
    ["deno", p.host.deno],
    ["toolchains", p.toolchains.map((t) => `${t.language}: ${t.version}`).join("; ")],
    ["isolation", p.isolation.mode],
    ["limits", p.isolation.limits],
    ["workers", p.workers],
    ["throughput", `${throughput.executions} executions in ${throughput.seconds.toFixed(1)} s`],
  ]);
}

function filterForm(data: RunPageData): Html {
  const choices = filterChoices(data.run.report);
  const select = (name: keyof TaskFilter, label: string, values: readonly string[]) =>
    html`<label>${label}<select name="${name}"><option value="">any</option>${
      values.map((v) =>
        html`
          <option value="${v}" ${data.filter[name] === v ? "selected" : ""}>${v}</option>
        `
      )
    }</select></label>`;
  return html`<form class="filters" method="get" action="${runPath(data.run.ref)}#tasks">
${select("status", "Status", choices.statuses)}
${select("language", "Language", choices.languages)}
${choices.difficulties.length > 0 ? select("difficulty", "Difficulty", choices.difficulties) : ""}
<button type="submit">Filter</button> <a href="${runPath(data.run.ref)}#tasks">clear</a></form>`;
}

function taskTable(data: RunPageData): Html {
  const { tasks, filter, run } = data;
  const pager = (p: number, label: string) =>
    html`<a href="${runPath(run.ref)}${query({ ...filter, page: p })}#tasks">${label}</a>`;
  return html`
    <p class="muted">${tasks.total} task${tasks.total === 1 ? "" : "s"} match · page ${tasks
      .page} of ${tasks.pages}</p>
    <table>
      <thead>
        <tr>
          <th>Task</th>
          <th>Language</th>
          <th>Difficulty</th>
          <th class="num">Passed</th>
          <th class="num">Compiled</th>
          <th class="num">Cases</th>
          <th>Statuses</th>
        </tr>
      </thead>
      <tbody>
    ${tasks.items.map((t) =>
      html`
        <tr>
          <td><a href="${runPath(run.ref, "/task")}${query({ id: t.taskId })}">${t.taskId}</a></td>
          <td>${t.language}</td>
          <td>${t.meta.difficulty ?? ""}</td>
          <td class="num">${t.passed}/${t.n}</td>
          <td class="num">${t.compiled}/${t.n}</td>
          <td class="num">${t.casesTotal > 0 ? `${t.casesPassed}/${t.casesTotal}` : "–"}</td>
          <td>${statusChips(t)}</td>
        </tr>
      `
    )}</tbody>
    </table>
    <div class="pager">${tasks.page > 1
      ? pager(tasks.page - 1, "← previous")
      : ""}${tasks.page < tasks.pages ? pager(tasks.page + 1, "next →") : ""}</div>
  `;
}

function statusChips(task: TaskOutcome): Html {
  const counts = new Map<TaskOutcome["statuses"][number], number>();
  for (const s of task.statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return html`${[...counts].map(([s, n]) => statusChip(s, task.n > 1 ? n : undefined))}`;
}

// ---------------------------------------------------------------------------------------------
// Task view

/** Characters of stdout, stderr, sample and code shown before cutting. */
export const SHOWN_CHARS = 4000;

/** The task view. */
export function taskPage(run: LoadedRun, task: TaskOutcome, records: TaskRecords): Html {
  const indices = [
    ...new Set([
      ...records.generations.map((g) => g.index),
      ...records.executions.map((e) => e.index),
      ...task.statuses.map((_, i) => i),
    ]),
  ].sort((a, b) => a - b);
  const body = html`<p class="muted"><a href="${runPath(run.ref)}">${run.report.id}</a> · task</p>
<h1>${task.taskId}</h1>
<section class="card">${
    keyValues([
      ["language", task.language],
      ["passed", `${task.passed} of ${task.n} samples`],
      ["compiled", `${task.compiled} of ${task.n} samples`],
      ["test cases", `${task.casesPassed} of ${task.casesTotal}`],
      ...Object.entries(task.meta),
      ...Object.entries(task.scores ?? {}).map(([k, v]) => [k, v.toFixed(4)] as const),
    ])
  }</section>
${
    records.problems.length > 0
      ? html`<div class="notice">${records.problems.map((p) => html`<div>${p}</div>`)}</div>`
      : ""
  }
${promptSection(records.generations[0])}
${indices.map((i) => sampleCard(task, i, records))}`;
  return page(`${task.taskId} · ${run.report.id}`, body);
}

function promptSection(first: GenerationRecord | undefined): Html {
  const prompt = (first as { prompt?: unknown } | undefined)?.prompt;
  if (typeof prompt === "string") return html`<h2>Prompt</h2>${pre(prompt)}`;
  return html`
    <p
      class="muted">The run's records do not hold the rendered prompt; it can be rebuilt from the dataset with the run's prompt template.</p>
  `;
}

function sampleCard(task: TaskOutcome, index: number, records: TaskRecords): Html {
  const generation = records.generations.find((g) => g.index === index);
  const execution = records.executions.find((e) => e.index === index);
  const status = execution?.execution.status ?? task.statuses[index];
  return html`<section class="card" id="sample-${index}">
<h3>Sample ${index} ${status ? statusChip(status) : ""}</h3>
${
    generation
      ? generationPart(generation)
      : html`<p class="muted">No generation record for this sample.</p>`
  }
${
    execution
      ? executionPart(execution)
      : html`<p class="muted">No execution record for this sample.</p>`
  }
</section>`;
}

function generationPart(g: GenerationRecord): Html {
  const tokens = g.completionTokens === undefined
    ? ""
    : ` · ${g.completionTokens} completion tokens`;
  return html`<h4>Raw sample${tokens}</h4>${pre(g.raw)}
${
    g.code === g.raw
      ? html`<p class="muted">Sanitized code is the same as the raw sample.</p>`
      : html`<h4>Sanitized code</h4>${pre(g.code)}`
  }`;
}

function executionPart(result: SampleResult): Html {
  const e = result.execution;
  return html`<h4>Sandbox</h4>${
    keyValues([
      ["status", e.status],
      ["compiled", e.compiled ? "yes" : "no"],
      ["cases", `${e.casesPassed} of ${e.casesTotal}`],
      ["exit code", e.exitCode ?? "none"],
      ["time", `${e.wallMs} ms wall, ${e.cpuMs} ms CPU`],
      ["peak memory", `${Math.round(e.peakMemoryKb / 1024)} MiB`],
    ])
  }
<h4>stdout</h4>${pre(e.stdout)}<h4>stderr</h4>${pre(e.stderr)}`;
}

function pre(text: string): Html {
  if (text === "") return html`<p class="muted">(empty)</p>`;
  const shown = truncate(text, SHOWN_CHARS);
  return html`<pre>${shown.text}</pre>${
    shown.cut > 0 ? html`<p class="muted">… ${shown.cut} more characters not shown</p>` : ""
  }`;
}
