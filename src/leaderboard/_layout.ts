/**
 * The page frame, the stylesheet and small formatting helpers of the leaderboard. Every value
 * reaches the page through hono's `html` tag, which escapes interpolated strings.
 *
 * @module
 */

import { html, raw } from "hono/html";
import type { RunRef } from "../report/store.ts";
import type { ExecutionStatus } from "../types.ts";

export { formatDelta, formatMetric, formatP, isCount, isRate } from "./format.ts";

/** What the `html` tag returns. */
export type Html = ReturnType<typeof html>;

// Trusted constant: inserted raw, since entities are not decoded inside <style>.
const CSS = `
:root { --fg:#1d2433; --muted:#5c667a; --line:#dde2ea; --bg:#f6f8fb; --accent:#2f5fd0; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color:var(--fg); background:var(--bg); }
header.top { background:#1d2433; color:#fff; padding:10px 24px; display:flex; gap:24px;
  align-items:baseline; }
header.top a { color:#fff; text-decoration:none; }
header.top .brand { font-weight:700; font-size:16px; }
main { padding:16px 24px 48px; max-width:1400px; }
h1 { font-size:22px; margin:8px 0 4px; } h2 { font-size:18px; margin:28px 0 8px; }
h3 { font-size:15px; margin:20px 0 6px; }
a { color:var(--accent); } .nowrap { white-space:nowrap; }
.muted { color:var(--muted); }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 16px;
  margin:12px 0; overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line);
  vertical-align:top; }
th { font-weight:600; color:var(--muted); font-size:12px; white-space:nowrap; }
td.num, th.num { text-align:right; white-space:nowrap; }
tr:hover td { background:#f2f5fa; }
.best td { background:#eef7ee; }
code, pre { font:12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background:#f3f5f9; border:1px solid var(--line); border-radius:6px; padding:8px 10px;
  overflow:auto; max-height:420px; white-space:pre-wrap; word-break:break-word; margin:4px 0; }
.chip { display:inline-block; padding:0 6px; border-radius:9px; font-size:11.5px; margin:1px;
  color:#fff; white-space:nowrap; }
.s-passed { background:#2e8540; } .s-failed { background:#c0392b; }
.s-compile_error { background:#8e44ad; } .s-runtime_error { background:#d35400; }
.s-timeout { background:#b7950b; } .s-memory_limit { background:#7f8c8d; }
.s-output_limit { background:#5d6d7e; } .s-sandbox_error { background:#34495e; }
.notice { border-left:4px solid #d9822b; background:#fff8ef; padding:8px 12px; margin:12px 0; }
.error { border-left:4px solid #c0392b; background:#fff3f2; padding:8px 12px; margin:12px 0; }
form.filters { display:flex; gap:12px; flex-wrap:wrap; align-items:end; margin:8px 0; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); }
select, input, button { font:inherit; padding:3px 6px; }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:2px 16px; margin:0; }
dl.kv dt { color:var(--muted); } dl.kv dd { margin:0; word-break:break-word; }
.grid2 { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:12px; }
.pager { margin:8px 0; display:flex; gap:12px; }
svg text { font:11px system-ui, sans-serif; fill:#3a4354; }
`;

/** A whole page. */
export function page(title: string, body: Html): Html {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>${title} · ppocoder leaderboard</title>
        <style>${raw(CSS)}</style>
      </head>
      <body>
        <header class="top"><a class="brand" href="/">ppocoder leaderboard</a>
    <a href="/">Benchmarks</a><a href="/training">Training</a><a href="/api/boards">JSON API</a></header>
        <main>
    ${body}
        </main>
      </body>
    </html>
  `;
}

/** Path of a run page (`suffix` appended, e.g. `/task`). */
export function runPath(ref: RunRef, suffix = ""): string {
  return `/runs/${encodeURIComponent(ref.folder)}/${encodeURIComponent(ref.run)}${suffix}`;
}

/** `a=...&b=...`-style query string from defined, non-empty values. */
export function query(params: Readonly<Record<string, string | number | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

/** `2026-11-21 21:55 UTC` from an ISO date. */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A coloured status label. */
export function statusChip(status: ExecutionStatus, count?: number): Html {
  const label = count === undefined ? status : `${status} ×${count}`;
  return html`<span class="chip s-${status}">${label}</span>`;
}

/** A key-value list. */
export function keyValues(entries: readonly (readonly [string, unknown])[]): Html {
  const shown = (value: unknown): string => {
    if (typeof value === "string") return value;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return JSON.stringify(value);
    }
    const entries = Object.entries(value);
    return entries.length === 0 ? "none" : entries.map(([k, v]) => `${k}: ${shown(v)}`).join(", ");
  };
  return html`<dl class="kv">${
    entries.map(([k, v]) =>
      html`
        <dt>${k}</dt>
        <dd>${shown(v)}</dd>
      `
    )
  }</dl>`;
}

/** Text cut to `max` characters, with what was cut said. */
export function truncate(text: string, max: number): { text: string; cut: number } {
  return text.length <= max
    ? { text, cut: 0 }
    : { text: text.slice(0, max), cut: text.length - max };
}
