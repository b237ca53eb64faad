/**
 * Reads run reports from a folder laid out as `<root>/<folder>/<run>/report.json`, with
 * `generations.jsonl` and `executions.jsonl` beside each report. Listing is tolerant: a malformed
 * report becomes one clear problem in the listing and never hides the other runs. Nothing a run
 * folder holds can stall a reader: only regular files are opened (a FIFO would block forever),
 * JSONL is read as a stream in linear time with lines over a limit skipped, and a report nested
 * deeper than {@linkcode MAX_REPORT_DEPTH} is refused (deep values overflow the stack of every
 * JSON writer).
 *
 * @module
 */

import { join, resolve, sep } from "node:path";
import { readLines } from "../util/jsonl.ts";
import { EXECUTION_STATUSES, type SampleResult } from "../types.ts";
import type { GenerationRecord } from "../models/backend.ts";
import { type Report, REPORT_SCHEMA_VERSION } from "./schema.ts";
import { type Interval, metricInterval } from "./compare.ts";

/** Where one run lives: `<root>/<folder>/<run>/`. `folder` is usually the benchmark name. */
export interface RunRef {
  readonly folder: string;
  readonly run: string;
}

/** A report without its per-task outcomes: what a leaderboard row needs. */
export type ReportSummary = Omit<Report, "tasks"> & {
  readonly taskOutcomes: number;
  /** 95% interval of the headline metric over the run's tasks, where it has per-task values. */
  readonly headlineInterval?: Interval;
};

/** One listed run. */
export interface RunEntry {
  readonly ref: RunRef;
  readonly summary: ReportSummary;
  /** Metric the run is ranked by (see {@linkcode headlineMetric}). */
  readonly headline: string;
}

/** A file the store could not read, and why. */
export interface StoreProblem {
  /** Path relative to the store's root, with `/` separators. */
  readonly path: string;
  readonly message: string;
}

/** Every run the store holds, and the files it could not read. */
export interface Listing {
  readonly runs: readonly RunEntry[];
  readonly problems: readonly StoreProblem[];
}

/** A run loaded whole. */
export interface LoadedRun {
  readonly ref: RunRef;
  readonly report: Report;
  readonly headline: string;
}

/** What the run's JSONL records hold for one task. */
export interface TaskRecords {
  readonly generations: readonly GenerationRecord[];
  readonly executions: readonly SampleResult[];
  /** Missing files and unreadable lines, one message each. */
  readonly problems: readonly string[];
}

/** Read access to reports; the leaderboard and the check depend on this interface only. */
export interface ReportStore {
  list(): Promise<Listing>;
  /** Throws {@linkcode RunNotFoundError}, {@linkcode InvalidRunRefError} or {@linkcode MalformedReportError}. */
  load(ref: RunRef): Promise<LoadedRun>;
  /** Generation and execution records of one task, sorted by sample index. */
  taskRecords(ref: RunRef, taskId: string): Promise<TaskRecords>;
}

/** A run reference that cannot name a folder of the store (path traversal, odd characters). */
export class InvalidRunRefError extends Error {
  override name = "InvalidRunRefError";
}

/** No report at the given place. */
export class RunNotFoundError extends Error {
  override name = "RunNotFoundError";
}

/** A report that is not JSON, not an object of the known schema, or too large. */
export class MalformedReportError extends Error {
  override name = "MalformedReportError";
  /** Each problem found, with its JSON path. */
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = []) {
    super(message);
    this.problems = problems;
  }
}

/** Options of {@linkcode createFolderStore}. */
export interface FolderStoreOptions {
  /** Reports larger than this are refused as malformed. @default 256 MiB */
  readonly maxReportBytes?: number;
  /** Samples per task read from the JSONL records at most. @default 1000 */
  readonly maxSamplesPerTask?: number;
  /** JSONL lines longer than this are skipped (and listed as a problem). @default 16 MiB */
  readonly maxLineBytes?: number;
}

/** Deepest nesting of objects and arrays a report may have. */
export const MAX_REPORT_DEPTH = 32;

/** Metrics tried in order when a report names no headline metric. */
export const HEADLINE_FALLBACKS = ["pass@1", "compile_rate", "codebleu"] as const;

/**
 * The metric a run is ranked by: the report's `headline` when the report has a value for it, else
 * the first of {@linkcode HEADLINE_FALLBACKS} it has a value for, else its first metric.
 */
export function headlineMetric(report: Pick<Report, "metrics" | "headline">): string {
  const present = (m: string) => typeof report.metrics[m] === "number";
  if (present(report.headline)) return report.headline;
  return HEADLINE_FALLBACKS.find(present) ?? Object.keys(report.metrics).find(present) ??
    report.headline;
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._:@+=,-]{0,199}$/;

/** Parses `folder/run`; throws {@linkcode InvalidRunRefError} for anything else. */
export function parseRunRef(text: string): RunRef {
  const parts = text.split("/");
  if (parts.length !== 2) {
    throw new InvalidRunRefError(
      `Cannot parse run reference "${text}": it must be "<folder>/<run>"`,
    );
  }
  return checkRunRef({ folder: parts[0]!, run: parts[1]! });
}

/** Returns `ref` when both parts are plain folder names; throws {@linkcode InvalidRunRefError}. */
export function checkRunRef(ref: RunRef): RunRef {
  for (const part of [ref.folder, ref.run]) {
    if (!SEGMENT.test(part)) {
      throw new InvalidRunRefError(
        `Cannot use "${part}" as a run folder name: names are letters, digits and . _ : @ + = , - ` +
          `and do not start with a dot`,
      );
    }
  }
  return ref;
}

/** `folder/run`. */
export function formatRunRef(ref: RunRef): string {
  return `${ref.folder}/${ref.run}`;
}

/** A {@linkcode ReportStore} over `<root>/<folder>/<run>/report.json`. */
export function createFolderStore(root: string, options: FolderStoreOptions = {}): ReportStore {
  return new FolderStore(resolve(root), options);
}

interface CacheEntry<T> {
  readonly mtime: number;
  readonly size: number;
  readonly value: T | MalformedReportError;
}

const LOADED_CACHE_SIZE = 8;
const LIST_BATCH = 64;

class FolderStore implements ReportStore {
  readonly #root: string;
  readonly #maxBytes: number;
  readonly #maxSamples: number;
  readonly #maxLineBytes: number;
  readonly #summaries = new Map<string, CacheEntry<ReportSummary>>();
  readonly #loaded = new Map<string, CacheEntry<Report>>();

  constructor(root: string, options: FolderStoreOptions) {
    this.#root = root;
    this.#maxBytes = options.maxReportBytes ?? 256 * 1024 * 1024;
    this.#maxSamples = options.maxSamplesPerTask ?? 1000;
    this.#maxLineBytes = options.maxLineBytes ?? 16 * 1024 * 1024;
  }

  async list(): Promise<Listing> {
    const problems: StoreProblem[] = [];
    const refs = await this.#runFolders(problems);
    const entries: (RunEntry | undefined)[] = [];
    // Stat and read in batches: one run at a time leaves the disk idle between system calls.
    for (let i = 0; i < refs.length; i += LIST_BATCH) {
      const batch = refs.slice(i, i + LIST_BATCH);
      entries.push(...await Promise.all(batch.map((ref) => this.#listed(ref, problems))));
    }
    this.#forgetOthers(refs);
    return { runs: entries.filter((e) => e !== undefined), problems };
  }

  async load(ref: RunRef): Promise<LoadedRun> {
    await this.#refuseLinks(checkRunRef(ref));
    const report = await this.#cached(this.#loaded, ref, (r) => r);
    if (report === undefined) {
      throw new RunNotFoundError(`Cannot find run "${formatRunRef(ref)}": it has no report.json`);
    }
    if (report instanceof MalformedReportError) throw report;
    this.#trimLoaded();
    return { ref, report, headline: headlineMetric(report) };
  }

  async taskRecords(ref: RunRef, taskId: string): Promise<TaskRecords> {
    await this.#refuseLinks(checkRunRef(ref));
    const dir = join(this.#root, ref.folder, ref.run);
    const problems: string[] = [];
    const limits = { taskId, max: this.#maxSamples, maxLineBytes: this.#maxLineBytes, problems };
    const generations = await readTaskLines<GenerationRecord>(
      join(dir, "generations.jsonl"),
      { ...limits, check: isGenerationRecord },
    );
    const executions = await readTaskLines<SampleResult>(
      join(dir, "executions.jsonl"),
      { ...limits, check: isSampleResult },
    );
    const byIndex = (a: { index: number }, b: { index: number }) => a.index - b.index;
    return {
      generations: generations.sort(byIndex),
      executions: executions.sort(byIndex),
      problems,
    };
  }

  /** Every `<folder>/<run>` below the root whose names are plain; hidden folders are skipped. */
  async #runFolders(problems: StoreProblem[]): Promise<RunRef[]> {
    const refs: RunRef[] = [];
    for (const folder of await subfolders(this.#root)) {
      for (const run of await subfolders(join(this.#root, folder))) {
        try {
          refs.push(checkRunRef({ folder, run }));
        } catch (error) {
          problems.push({ path: `${folder}/${run}`, message: (error as Error).message });
        }
      }
    }
    return refs.sort((a, b) => formatRunRef(a).localeCompare(formatRunRef(b)));
  }

  async #listed(ref: RunRef, problems: StoreProblem[]): Promise<RunEntry | undefined> {
    let entry: ReportSummary | MalformedReportError | undefined;
    try {
      entry = await this.#cached(this.#summaries, ref, summarize);
    } catch (error) {
      problems.push({ path: formatRunRef(ref), message: (error as Error).message });
      return undefined;
    }
    if (entry instanceof MalformedReportError) {
      problems.push({ path: `${formatRunRef(ref)}/report.json`, message: describe(entry) });
      return undefined;
    }
    return entry && { ref, summary: entry, headline: headlineMetric(entry) };
  }

  /**
   * Refuses a run whose folders are symbolic links. With plain names and no links, nothing
   * outside the root can be reached; listing skips linked folders the same way.
   */
  async #refuseLinks(ref: RunRef): Promise<void> {
    for (const path of [join(this.#root, ref.folder), join(this.#root, ref.folder, ref.run)]) {
      const info = await Deno.lstat(path).catch(() => undefined);
      if (info?.isSymlink) throw linkError(ref);
    }
  }

  /** Parsed file from the cache while its size and mtime are unchanged; `undefined` if absent. */
  async #cached<T>(
    cache: Map<string, CacheEntry<T>>,
    ref: RunRef,
    shape: (report: Report) => T,
  ): Promise<T | MalformedReportError | undefined> {
    const path = join(this.#root, ref.folder, ref.run, "report.json");
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch {
      return undefined;
    }
    if (info.isSymlink) throw linkError(ref);
    if (info.isDirectory) return undefined;
    if (!info.isFile) {
      return new MalformedReportError(
        `Cannot read report "${formatRunRef(ref)}/report.json" as it is not a regular file ` +
          `(a FIFO, a socket or a device): replace it with the run's report`,
      );
    }
    const mtime = info.mtime?.getTime() ?? 0;
    const hit = cache.get(path);
    if (hit && hit.mtime === mtime && hit.size === info.size) {
      cache.delete(path);
      cache.set(path, hit); // most recently used last
      return hit.value;
    }
    const source = `${formatRunRef(ref)}/report.json`;
    const value = await this.#read(path, source, info.size).then(
      shape,
      (e) => e as MalformedReportError,
    );
    cache.set(path, { mtime, size: info.size, value });
    return value;
  }

  async #read(path: string, source: string, size: number): Promise<Report> {
    if (size > this.#maxBytes) {
      throw new MalformedReportError(
        `Cannot read report "${source}" as it is larger than the limit: ${size} bytes, limit ` +
          `${this.#maxBytes} bytes`,
      );
    }
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new MalformedReportError(`Cannot read report "${source}": ${(error as Error).message}`);
    }
    return parseReport(text, source);
  }

  /** Drops cached summaries of runs no longer in the folder. */
  #forgetOthers(refs: readonly RunRef[]): void {
    const present = new Set(refs.map((r) => join(this.#root, r.folder, r.run, "report.json")));
    for (const path of this.#summaries.keys()) if (!present.has(path)) this.#summaries.delete(path);
  }

  #trimLoaded(): void {
    while (this.#loaded.size > LOADED_CACHE_SIZE) {
      this.#loaded.delete(this.#loaded.keys().next().value!);
    }
  }
}

function linkError(ref: RunRef): InvalidRunRefError {
  return new InvalidRunRefError(
    `Cannot read run "${formatRunRef(ref)}": it lies behind a symbolic link, which the store ` +
      `does not follow`,
  );
}

function summarize(report: Report): ReportSummary {
  const { tasks, ...rest } = report;
  const interval = metricInterval(report, headlineMetric(report));
  return {
    ...rest,
    taskOutcomes: tasks.length,
    ...(interval ? { headlineInterval: interval } : {}),
  };
}

function describe(error: MalformedReportError): string {
  const shown = error.problems.slice(0, 5);
  const more = error.problems.length - shown.length;
  return [error.message, ...shown, ...(more > 0 ? [`and ${more} more`] : [])].join("; ");
}

async function subfolders(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

interface ReadLinesOptions<T> {
  readonly taskId: string;
  readonly max: number;
  readonly maxLineBytes: number;
  readonly problems: string[];
  readonly check: (value: unknown) => value is T;
}

/**
 * Records of one task from a JSONL file, read as a stream in linear time; bad lines, lines over
 * the limit and files that are not regular become problems.
 */
async function readTaskLines<T>(path: string, options: ReadLinesOptions<T>): Promise<T[]> {
  const { taskId, max, maxLineBytes, problems, check } = options;
  const name = path.slice(path.lastIndexOf(sep) + 1);
  const needle = JSON.stringify(taskId);
  const found: T[] = [];
  try {
    const info = await Deno.lstat(path);
    if (info.isSymlink) {
      problems.push(`The run's ${name} is a symbolic link, which the store does not follow`);
      return found;
    }
    if (!info.isFile) {
      problems.push(`The run's ${name} is not a regular file (a FIFO, a socket or a device)`);
      return found;
    }
    for await (const line of readLines(path, { maxLineBytes })) {
      if (line.text === undefined) {
        if (line.head.includes(needle) || line.tail.includes(needle)) {
          problems.push(
            `Cannot show ${name} line ${line.number}: it is ${line.bytes} bytes, more than the ` +
              `${maxLineBytes} the leaderboard reads`,
          );
        }
        continue;
      }
      if (!line.text.includes(needle)) continue; // cheap filter before parsing
      const value = parseLine(line.text);
      if (!check(value)) {
        problems.push(`Cannot read ${name} line ${line.number}: it is not a valid record`);
      } else if ((value as { taskId: string }).taskId === taskId && found.length < max) {
        found.push(value);
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) problems.push(`The run has no ${name}`);
    else problems.push(`Cannot read ${name}: ${(error as Error).message}`);
  }
  return found;
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation: the report is the contract between the producer and every reader.

/** Parses and validates report text; throws {@linkcode MalformedReportError}. */
export function parseReport(text: string, source: string): Report {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MalformedReportError(
      `Cannot read report "${source}" as it is not valid JSON: ${(error as Error).message}`,
    );
  }
  return validateReport(value, source);
}

/** Checks that `value` is a {@linkcode Report} of the known schema version. */
export function validateReport(value: unknown, source: string): Report {
  if (!isObject(value)) {
    throw new MalformedReportError(`Cannot read report "${source}" as it is not a JSON object`);
  }
  const deep = deepestPath(value, MAX_REPORT_DEPTH);
  if (deep !== undefined) {
    throw new MalformedReportError(
      `Cannot read report "${source}" as it is nested more than ${MAX_REPORT_DEPTH} levels ` +
        `deep at ${deep}: a report's values are flat records`,
    );
  }
  if (value.schema !== REPORT_SCHEMA_VERSION) {
    throw new MalformedReportError(
      `Cannot read report "${source}" as its schema version is unknown: current value is ` +
        `${
          JSON.stringify(value.schema ?? null)
        }, this reader knows version ${REPORT_SCHEMA_VERSION}`,
    );
  }
  const problems: string[] = [];
  checkShape(value, REPORT_SHAPE, "", problems);
  if (problems.length > 0) {
    throw new MalformedReportError(
      `Cannot read report "${source}" as it does not match the report schema`,
      problems,
    );
  }
  return value as unknown as Report;
}

type Shape =
  | "string"
  | "number"
  | "boolean"
  | "scalar"
  | "number|null"
  | "date"
  | "status"
  | "any"
  | { readonly arrayOf: Shape }
  | { readonly recordOf: Shape }
  | { readonly optional: Shape }
  | { readonly [key: string]: Shape };

const METRICS: Shape = { recordOf: "number|null" };
const TASK_SHAPE: Shape = {
  taskId: "string",
  language: "string",
  meta: { recordOf: "any" },
  n: "number",
  passed: "number",
  statuses: { arrayOf: "status" },
  casesPassed: "number",
  casesTotal: "number",
  compiled: "number",
  scores: { optional: { recordOf: "number" } },
};
const REPORT_SHAPE: Shape = {
  id: "string",
  comparabilityKey: "string",
  keyFields: { recordOf: "any" },
  headline: "string",
  provenance: {
    harness: { version: "string", commit: "string", dirty: "boolean" },
    startedAt: "date",
    finishedAt: "date",
    host: { cpu: "string", cores: "number", memoryGb: "number", os: "string", deno: "string" },
    toolchains: { arrayOf: { language: "string", path: "string", version: "string" } },
    isolation: { mode: "string", limits: { recordOf: "number" } },
    workers: "number",
  },
  config: {
    benchmark: "string",
    dataset: {
      name: "string",
      version: "string",
      sha256: { recordOf: "string" },
      source: "string",
    },
    split: "string",
    filter: { recordOf: "string" },
    limit: "number|null",
    taskCount: "number",
    promptTemplate: "string",
    shots: "number",
    model: { backend: "string", id: "string", settings: { recordOf: "scalar" } },
    sampling: {
      n: "number",
      temperature: { optional: "number" },
      topP: { optional: "number" },
      topK: { optional: "number" },
      maxTokens: { optional: "number" },
      stop: { optional: { arrayOf: "string" } },
      seed: { optional: "number" },
      unknown: { optional: "string" },
    },
    k: { arrayOf: "number" },
  },
  metrics: METRICS,
  metricsByLanguage: { recordOf: METRICS },
  metricsByGroup: { recordOf: { recordOf: METRICS } },
  statusCounts: { recordOf: "number" },
  throughput: { executions: "number", seconds: "number" },
  tasks: { arrayOf: TASK_SHAPE },
};

const MAX_PROBLEMS = 20;

function checkShape(value: unknown, shape: Shape, path: string, problems: string[]): void {
  if (problems.length >= MAX_PROBLEMS) return;
  if (typeof shape === "string") {
    if (!checkLeaf(value, shape)) problems.push(`${path || "report"}: ${leafError(value, shape)}`);
    return;
  }
  if ("optional" in shape && Object.keys(shape).length === 1) {
    if (value !== undefined) checkShape(value, shape.optional as Shape, path, problems);
    return;
  }
  if ("arrayOf" in shape && Object.keys(shape).length === 1) {
    if (!Array.isArray(value)) return void problems.push(`${path}: expected an array`);
    value.forEach((item, i) => checkShape(item, shape.arrayOf as Shape, `${path}[${i}]`, problems));
    return;
  }
  if (!isObject(value)) return void problems.push(`${path || "report"}: expected an object`);
  if ("recordOf" in shape && Object.keys(shape).length === 1) {
    for (const [key, item] of Object.entries(value)) {
      checkShape(item, shape.recordOf as Shape, `${path}[${JSON.stringify(key)}]`, problems);
    }
    return;
  }
  for (const [key, inner] of Object.entries(shape)) {
    checkShape(value[key], inner, path ? `${path}.${key}` : key, problems);
  }
}

function checkLeaf(value: unknown, shape: string): boolean {
  switch (shape) {
    case "any":
      return true;
    case "number|null":
      return value === null || Number.isFinite(value);
    case "number":
      return Number.isFinite(value);
    case "date":
      return typeof value === "string" && !Number.isNaN(Date.parse(value));
    case "status":
      return (EXECUTION_STATUSES as readonly unknown[]).includes(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "scalar":
      return typeof value === "string" || typeof value === "boolean" || Number.isFinite(value);
    default:
      return false;
  }
}

function leafError(value: unknown, shape: string): string {
  const got = value === undefined ? "missing" : `current value is ${short(value)}`;
  const wanted = shape === "date"
    ? "an ISO 8601 date"
    : shape === "status"
    ? `one of ${EXECUTION_STATUSES.join(", ")}`
    : shape === "number|null"
    ? "a number or null"
    : shape === "scalar"
    ? "a string, number or boolean"
    : `a ${shape}`;
  return `expected ${wanted}: ${got}`;
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/**
 * The JSON path of the first value nested deeper than `limit` levels, or `undefined`. Iterative,
 * so that the check itself cannot overflow the stack.
 */
export function deepestPath(value: unknown, limit: number): string | undefined {
  const stack: [unknown, number, string][] = [[value, 0, "report"]];
  while (stack.length > 0) {
    const [item, depth, path] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth >= limit) return path;
    for (const [key, child] of Object.entries(item)) {
      if (typeof child === "object" && child !== null) {
        stack.push([child, depth + 1, Array.isArray(item) ? `${path}[${key}]` : `${path}.${key}`]);
      }
    }
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isGenerationRecord(value: unknown): value is GenerationRecord {
  return isObject(value) && typeof value.taskId === "string" &&
    Number.isInteger(value.index) && typeof value.raw === "string" &&
    typeof value.code === "string";
}

function isSampleResult(value: unknown): value is SampleResult {
  if (!isObject(value) || typeof value.taskId !== "string" || !Number.isInteger(value.index)) {
    return false;
  }
  const e = value.execution;
  return isObject(e) && checkLeaf(e.status, "status") && typeof e.compiled === "boolean" &&
    typeof e.stdout === "string" && typeof e.stderr === "string";
}
