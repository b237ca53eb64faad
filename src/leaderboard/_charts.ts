/**
 * Small server-side SVG charts: ranked bars with confidence intervals (models compared on one
 * metric), grouped bars (models compared per language), plain horizontal bars, and a metric over
 * time (one series, e.g. a training run). Labels go through the `html` tag, so they are escaped
 * like any other text.
 *
 * @module
 */

import { html } from "hono/html";
import type { Html } from "./_layout.ts";

/** One point of {@linkcode lineChart}. */
export interface ChartPoint {
  /** Milliseconds since the epoch. */
  readonly x: number;
  readonly y: number;
  /** Tooltip. */
  readonly label: string;
  readonly href?: string;
}

/** Options of {@linkcode lineChart}. */
export interface LineChartOptions {
  readonly title: string;
  /** Formats a y value for the axis. */
  readonly format: (y: number) => string;
  /** Top of the y axis; the largest value when absent. */
  readonly yMax?: number;
  readonly width?: number;
  readonly height?: number;
}

const PAD = { left: 52, right: 16, top: 26, bottom: 34 };

/** A metric per run over time: points joined in date order, each linking to its run. */
export function lineChart(points: readonly ChartPoint[], options: LineChartOptions): Html {
  const { title, format, width = 640, height = 220 } = options;
  const sorted = [...points].sort((a, b) => a.x - b.x);
  const yMax = options.yMax ?? niceMax(Math.max(0, ...sorted.map((p) => p.y)));
  const xMin = sorted[0]?.x ?? 0;
  const xMax = sorted.at(-1)?.x ?? 1;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const sx = (x: number) =>
    PAD.left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const sy = (y: number) => PAD.top + plotH - (yMax === 0 ? 0 : (y / yMax) * plotH);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  const line = sorted.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
  return html`
    <svg class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}"
      height="${height}" xmlns="http://www.w3.org/2000/svg">
    <title>${title}</title>
    <text x="${PAD.left}" y="16" style="font-weight:600">${title}</text>
    ${ticks.map((t) =>
      html`
        <line x1="${PAD.left}" x2="${width - PAD.right}" y1="${sy(t)}" y2="${sy(
          t,
        )}" stroke="#e3e7ee" />
        <text x="${PAD.left - 6}" y="${sy(t) + 4}" text-anchor="end">${format(t)}</text>
      `
    )}
    <text x="${PAD.left}" y="${height - 10}">${shortDate(xMin)}</text>
    <text x="${width - PAD.right}" y="${height - 10}" text-anchor="end">${shortDate(xMax)}</text>
    <polyline fill="none" stroke="#2f5fd0" stroke-width="1.5" points="${line}"/>
    ${sorted.map((p) => point(p, sx(p.x), sy(p.y)))}
    </svg>
  `;
}

function point(p: ChartPoint, cx: number, cy: number): Html {
  const dot = html`
    <circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4" fill="#2f5fd0">
      <title>${p.label}</title>
    </circle>
  `;
  return p.href === undefined ? dot : html`<a href="${p.href}">${dot}</a>`;
}

/** One bar of {@linkcode barChart}. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Text after the bar. */
  readonly text: string;
  readonly color?: string;
}

/** Options of {@linkcode barChart}. */
export interface BarChartOptions {
  readonly title: string;
  /** Value of a full bar; the largest value when absent. */
  readonly max?: number;
  readonly width?: number;
}

/** Horizontal bars with a label on the left and a value on the right. */
export function barChart(bars: readonly Bar[], options: BarChartOptions): Html {
  const { title, width = 480 } = options;
  const max = options.max ?? Math.max(1e-9, ...bars.map((b) => b.value));
  const labelW = 120;
  const textW = 90;
  const rowH = 22;
  const height = 28 + bars.length * rowH + 6;
  const barW = width - labelW - textW;
  return html`
    <svg class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}"
      height="${height}" xmlns="http://www.w3.org/2000/svg">
    <title>${title}</title>
    <text x="0" y="16" style="font-weight:600">${title}</text>
    ${bars.map((b, i) => {
      const y = 28 + i * rowH;
      const w = Math.max(0, Math.min(1, b.value / max)) * barW;
      return html`
        <text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${b.label}</text>
        <rect x="${labelW}" y="${y + 3}" width="${barW}" height="${rowH - 8}" fill="#eef1f6" />
        <rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH -
          8}" fill="${b.color ?? "#2f5fd0"}">
          <title>${b.label}: ${b.text}</title>
        </rect>
        <text x="${labelW + barW + 6}" y="${y + 14}">${b.text}</text>
      `;
    })}
    </svg>
  `;
}

/** One row of {@linkcode rankedBarChart}. */
export interface RankedBar {
  /** Rank shown before the label (`null`: no rank). */
  readonly rank: number | null;
  readonly label: string;
  readonly value: number;
  /** 95% interval, drawn as a whisker over the bar. */
  readonly low?: number;
  readonly high?: number;
  /** Text after the bar. */
  readonly text: string;
  readonly href?: string;
}

/** Options of {@linkcode rankedBarChart}. */
export interface RankedBarChartOptions {
  readonly title: string;
  /** Value of a full bar (1 for rates). */
  readonly max: number;
  readonly width?: number;
}

/**
 * Runs ranked on one metric: a bar per run, best first, each with its 95% interval as a whisker,
 * so that overlapping intervals show which differences the data cannot tell apart.
 */
export function rankedBarChart(bars: readonly RankedBar[], options: RankedBarChartOptions): Html {
  const { title, max, width = 780 } = options;
  const labelW = 300;
  const textW = 150;
  const rowH = 22;
  const top = 28;
  const height = top + bars.length * rowH + 8;
  const barW = width - labelW - textW;
  const x = (v: number) => labelW + Math.max(0, Math.min(1, v / max)) * barW;
  return html`
    <svg class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}"
      height="${height}" xmlns="http://www.w3.org/2000/svg">
    <title>${title}</title>
    <text x="0" y="16" style="font-weight:600">${title}</text>
    ${bars.map((b, i) => rankedRow(b, top + i * rowH, rowH, x, labelW, barW))}
    </svg>
  `;
}

function rankedRow(
  b: RankedBar,
  y: number,
  rowH: number,
  x: (v: number) => number,
  labelW: number,
  barW: number,
): Html {
  const label = `${b.rank === null ? "–" : `${b.rank}.`} ${shorten(b.label, 46)}`;
  const mid = y + rowH / 2;
  const whisker = b.low === undefined || b.high === undefined ? "" : html`
    <line x1="${x(b.low).toFixed(1)}" x2="${x(b.high).toFixed(1)}" y1="${mid}" y2="${mid}"
      stroke="#1d2433" stroke-width="1.5" />
    <line x1="${x(b.low).toFixed(1)}" x2="${x(b.low).toFixed(1)}" y1="${mid - 5}" y2="${mid +
      5}" stroke="#1d2433"
      stroke-width="1.5" />
    <line x1="${x(b.high).toFixed(1)}" x2="${x(b.high).toFixed(1)}" y1="${mid - 5}" y2="${mid +
      5}" stroke="#1d2433"
      stroke-width="1.5" />
  `;
  const row = html`
    <g>
      <title>${b.label}: ${b.text}</title>
      <text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${label}</text>
      <rect x="${labelW}" y="${y + 4}" width="${barW}" height="${rowH - 8}" fill="#eef1f6" />
      <rect x="${labelW}" y="${y + 4}" width="${(x(b.value) - labelW).toFixed(1)}" height="${rowH -
        8}" fill="#7d9be0" />
      ${whisker}
      <text x="${labelW + barW + 8}" y="${y + 15}">${b.text}</text>
    </g>
  `;
  return b.href === undefined ? row : html`<a href="${b.href}">${row}</a>`;
}

/** One cluster of {@linkcode groupedBarChart}: a category (a language) and a value per series. */
export interface BarCluster {
  readonly label: string;
  /** One value per series, in series order; `null` where a series has none. */
  readonly values: readonly (number | null)[];
}

/** Options of {@linkcode groupedBarChart}. */
export interface GroupedBarChartOptions {
  readonly title: string;
  /** The series (runs), with their colours, in order. */
  readonly series: readonly { readonly name: string; readonly color: string }[];
  readonly max: number;
  readonly format: (value: number) => string;
  readonly width?: number;
}

/** Series colours of grouped bars, distinguishable in print. */
export const SERIES_COLORS = ["#2f5fd0", "#d9822b", "#2e8540", "#8e44ad", "#7f8c8d"] as const;

/** Clusters of horizontal bars: a cluster per category, a bar per series, and a legend. */
export function groupedBarChart(
  clusters: readonly BarCluster[],
  options: GroupedBarChartOptions,
): Html {
  const { title, series, max, format, width = 720 } = options;
  const labelW = 110;
  const textW = 70;
  const barH = 12;
  const gap = 10;
  const legendH = 18 * series.length;
  const top = 28 + legendH;
  const clusterH = series.length * barH + gap;
  const height = top + clusters.length * clusterH + 4;
  const barW = width - labelW - textW;
  return html`
    <svg class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}"
      height="${height}" xmlns="http://www.w3.org/2000/svg">
    <title>${title}</title>
    <text x="0" y="16" style="font-weight:600">${title}</text>
    ${series.map((s, i) =>
      html`
        <rect x="${labelW}" y="${26 + i * 18}" width="10" height="10" fill="${s.color}" />
        <text x="${labelW + 16}" y="${35 + i * 18}">${shorten(s.name, 80)}</text>
      `
    )}
    ${clusters.map((c, ci) => {
      const y0 = top + ci * clusterH;
      return html`
        <text x="${labelW - 8}" y="${y0 + (series.length * barH) / 2 + 4}" text-anchor="end">${c
          .label}</text>
        ${c.values.map((v, si) => {
          if (v === null) return "";
          const w = Math.max(0, Math.min(1, v / max)) * barW;
          const y = y0 + si * barH;
          return html`
            <rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH -
              2}" fill="${series[
                si
              ]!.color}">
              <title>${series[si]!.name}, ${c.label}: ${format(v)}</title>
            </rect>
            <text x="${labelW + w + 4}" y="${y + barH - 3}" style="font-size:10px">${format(
              v,
            )}</text>
          `;
        })}
      `;
    })}
    </svg>
  `;
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Colours of the status chips, for bars. */
export const STATUS_COLORS: Readonly<Record<string, string>> = {
  passed: "#2e8540",
  failed: "#c0392b",
  compile_error: "#8e44ad",
  runtime_error: "#d35400",
  timeout: "#b7950b",
  memory_limit: "#7f8c8d",
  output_limit: "#5d6d7e",
  sandbox_error: "#34495e",
};

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

function shortDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
