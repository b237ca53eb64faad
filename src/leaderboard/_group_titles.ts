/**
 * Comparability groups described in words rather than by their hash: each group of a benchmark is
 * titled by the key fields that tell it apart from the benchmark's other groups (with the split,
 * the task count and n always there), and the fields all groups share go in a second line.
 *
 * @module
 */

import { canonicalJson } from "../util/hash.ts";

/** A group's title and what it shares with the benchmark's other groups. */
export interface GroupWords {
  /** The fields that define the group, e.g. `split test · 500 tasks · 3-shot · n=1`. */
  readonly title: string;
  /** The fields every group of the benchmark has alike. */
  readonly shared: string;
}

/** What a field's words may depend on besides its value. */
interface Context {
  /** Limits that differ among the groups. */
  readonly limits: Set<string>;
  /** Task counts that several different task sets have. */
  readonly sharedCounts: Set<string>;
}

/** Key fields in the order they are read, each with how it is said. */
const FIELDS: readonly (readonly [string, (value: unknown, context: Context) => string])[] = [
  ["split", (v) => `split ${String(v)}`],
  ["filter", (v) => filterWords(v)],
  ["tasks", (v, context) => taskWords(v, context)],
  ["shots", (v) => `${String(v)}-shot`],
  ["n", (v) => `n=${String(v)}`],
  ["k", (v) => Array.isArray(v) ? v.map((k) => `pass@${k}`).join(", ") : `k ${String(v)}`],
  ["promptTemplate", (v) => `prompt ${String(v)}`],
  ["limits", (v, context) => limitWords(v, context.limits)],
  ["datasetSha256", (v) => datasetWords(v)],
];

/** Fields always in a title, so that a lone group still says what it measured. */
const CORE = new Set(["split", "filter", "tasks", "n"]);
const NOT_SAID = new Set(["benchmark"]);

/**
 * Words for each of a benchmark's groups, given each group's key fields (same order). A field is
 * in a group's title when it is a core field or differs among the groups.
 */
export function groupWords(keyFields: readonly Readonly<Record<string, unknown>>[]): GroupWords[] {
  const varying = varyingFields(keyFields);
  const context = { limits: varyingLimits(keyFields), sharedCounts: sharedCounts(keyFields) };
  const known = new Set(FIELDS.map(([name]) => name));
  return keyFields.map((fields) => {
    const title: string[] = [];
    const shared: string[] = [];
    const say = (name: string, words: string) => {
      if (words === "") return;
      (CORE.has(name) || varying.has(name) ? title : shared).push(words);
    };
    for (const [name, words] of FIELDS) {
      if (name in fields) say(name, words(fields[name], context));
    }
    for (const [name, value] of Object.entries(fields)) {
      if (!known.has(name) && !NOT_SAID.has(name)) say(name, `${name} ${canonicalJson(value)}`);
    }
    return { title: title.join(" · "), shared: shared.join(" · ") };
  });
}

function varyingFields(keyFields: readonly Readonly<Record<string, unknown>>[]): Set<string> {
  const names = new Set(keyFields.flatMap((f) => Object.keys(f)));
  return new Set(
    [...names].filter((name) => new Set(keyFields.map((f) => canonicalJson(f[name]))).size > 1),
  );
}

/** The limits that differ among the groups (all of them are said where none differ). */
function varyingLimits(keyFields: readonly Readonly<Record<string, unknown>>[]): Set<string> {
  const all = keyFields.map((f) => (f.limits ?? {}) as Record<string, unknown>);
  const names = new Set(all.flatMap((l) => Object.keys(l)));
  return new Set([...names].filter((name) => new Set(all.map((l) => l[name])).size > 1));
}

/** `500 tasks`, with the task set's hash where another group has as many different tasks. */
function taskWords(value: unknown, context: Context): string {
  const text = String(value);
  const [count, hash] = [/^\d+ tasks?/.exec(text)?.[0], /sha256 ([0-9a-f]{8})/.exec(text)?.[1]];
  if (count === undefined) return text;
  return context.sharedCounts.has(count) && hash ? `${count} (task set ${hash})` : count;
}

function sharedCounts(keyFields: readonly Readonly<Record<string, unknown>>[]): Set<string> {
  const sets = new Map<string, Set<string>>();
  for (const fields of keyFields) {
    const text = String(fields.tasks ?? "");
    const count = /^\d+ tasks?/.exec(text)?.[0];
    if (count !== undefined) sets.set(count, (sets.get(count) ?? new Set()).add(text));
  }
  return new Set([...sets].filter(([, texts]) => texts.size > 1).map(([count]) => count));
}

function filterWords(value: unknown): string {
  const entries = Object.entries((value ?? {}) as Record<string, unknown>);
  return entries.map(([k, v]) => `${k}=${String(v)}`).join(", ");
}

function datasetWords(value: unknown): string {
  const hashes = Object.values((value ?? {}) as Record<string, unknown>).map(String);
  return hashes.length === 0 ? "" : `dataset ${hashes.map((h) => h.slice(0, 8)).join(",")}`;
}

const LIMIT_WORDS: Readonly<Record<string, (v: number) => string>> = {
  wallMs: (v) => `${v / 1000} s wall`,
  cpuMs: (v) => `${v / 1000} s CPU`,
  memoryMb: (v) => `${v} MB memory`,
  processes: (v) => `${v} processes`,
  fileSizeMb: (v) => `${v} MB files`,
  openFiles: (v) => `${v} open files`,
  outputBytes: (v) => `${bytes(v)} output`,
};

function bytes(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}

/** `limits 4 s wall` for the limits that differ; every limit when none does. */
function limitWords(value: unknown, varying: Set<string>): string {
  const limits = (value ?? {}) as Record<string, number>;
  const names = Object.keys(limits).filter((name) => varying.size === 0 || varying.has(name));
  const words = names.map((name) =>
    LIMIT_WORDS[name]?.(limits[name]!) ?? `${name} ${limits[name]}`
  );
  return words.length === 0 ? "" : `limits ${words.join(", ")}`;
}

/**
 * A model as a person tells models apart: `openai:qwen2.5-coder (chat)`; the settings that shape
 * generations but are not the API (endpoint, file hash, dtype) come back as `details`.
 */
export function modelWords(
  model: {
    readonly backend: string;
    readonly id: string;
    readonly settings: Readonly<Record<string, unknown>>;
  },
): { readonly name: string; readonly details: string } {
  const { api, systemPrompt, ...rest } = model.settings;
  const tags = [
    ...(api === undefined ? [] : [String(api)]),
    ...(systemPrompt === undefined ? [] : ["system prompt"]),
  ];
  const details = Object.entries(rest).map(([k, v]) =>
    `${k} ${typeof v === "string" && /^[0-9a-f]{64}$/.test(v) ? v.slice(0, 12) : String(v)}`
  ).join(", ");
  return {
    name: `${model.backend}:${model.id}${tags.length ? ` (${tags.join(", ")})` : ""}`,
    details,
  };
}
