/**
 * Training text for supervised fine-tuning, read from code corpora in their own formats:
 *
 * | spec | reads | items |
 * |---|---|---|
 * | `files:PATH` | a folder (recursively), one file, or a `.zip` archive | one document per file |
 * | `jsonl:PATH` | JSON Lines, gzipped or not, `field` holding the code (CodeSearchNet: `code`) | one document per record |
 * | `lines:PATH` | one function per line (CodeXGLUE code-to-code-trans) | one document per line |
 * | `bench:NAME[:SPLIT]` | a benchmark's split through its adapter | prompt -> gold solution pairs |
 * | `stdlib:LANG` | the standard library of the installed toolchain (`python`: CPython's `Lib/`, `go`: `GOROOT/src`, `java`: the JDK's `lib/src.zip`) | one document per file |
 *
 * Options follow a `?`, as in a URL query: `ext=.java,.py` (files kept, by extension),
 * `field=code` (jsonl), `max-bytes=N` (stop after N bytes of text), `loss=completion|all` (bench:
 * the loss on the gold solution only, the default, or on prompt and solution). Documents are read
 * in a fixed order (sorted paths, file order), so a run sees the same text every time.
 *
 * Held-out tasks of an evaluation (for example the first 300 CodeSearchNet tasks, which
 * `deno task bench codesearchnet --limit 300` scores) are kept out of every corpus by
 * {@linkcode applyHeldOut}: by task id, by the function's text with all whitespace removed, and
 * optionally by repository; what was dropped is counted per corpus and recorded.
 *
 * @module
 */

import { assertTrainable } from "../../../benchmarks/mod.ts";
import { existsSync, statSync } from "node:fs";
import { basename, dirname, extname, join, relative } from "node:path";
import type { Benchmark } from "../../../benchmarks/benchmark.ts";
import { findToolchain } from "../../../sandbox/mod.ts";
import { samplePrompt } from "../../sample_path.ts";
import type { Task } from "../../types.ts";
import { zipEntries } from "../../util/zip.ts";

/** The kinds of corpus (see the module doc). */
export const CORPUS_KINDS = ["files", "jsonl", "lines", "bench", "stdlib"] as const;
export type CorpusKind = (typeof CORPUS_KINDS)[number];

/** Where the loss of a prompt -> solution pair is taken. */
export type PairLoss = "completion" | "all";

/** A parsed `--corpus` value. */
export interface CorpusSpec {
  /** The value as given, for the record. */
  readonly spec: string;
  readonly kind: CorpusKind;
  /** Path, `NAME[:SPLIT]` of a benchmark, or a language. */
  readonly target: string;
  /** File extensions kept (files, stdlib), with the dot. */
  readonly extensions?: readonly string[];
  /** JSONL field with the code. @default "code" */
  readonly field?: string;
  /** Bytes of text read at most. */
  readonly maxBytes?: number;
  /** bench: where the loss is taken. @default "completion" */
  readonly loss?: PairLoss;
}

/** One training text: a document, or a prompt with the solution the loss is taken on. */
export interface CorpusItem {
  /** Where it came from: path, `path:line` or a task id. */
  readonly id: string;
  /** The document, or the solution of a pair. */
  readonly text: string;
  /** The prompt of a pair (absent for documents). */
  readonly prompt?: string;
  /** Loss also on the prompt. */
  readonly lossOnPrompt?: boolean;
  /** Repository, where the corpus names one (CodeSearchNet records and tasks). */
  readonly repo?: string;
}

/** A corpus read. */
export interface Corpus {
  readonly spec: CorpusSpec;
  /** What was read: the resolved path, benchmark split and sha256, or toolchain folder. */
  readonly source: string;
  readonly items: readonly CorpusItem[];
}

/** Default extensions of `stdlib:` corpora and of `files:` without `ext`. */
const SOURCE_EXTENSIONS: Readonly<Record<string, readonly string[]>> = {
  python: [".py"],
  go: [".go"],
  java: [".java"],
};

/** Parses `KIND:TARGET[?options]`. */
export function parseCorpusSpec(spec: string): CorpusSpec {
  const colon = spec.indexOf(":");
  const kind = spec.slice(0, colon);
  if (colon < 1 || !(CORPUS_KINDS as readonly string[]).includes(kind)) {
    throw new RangeError(
      `Cannot read corpus "${spec}" as it must start with one of ${
        CORPUS_KINDS.map((k) => `${k}:`).join(", ")
      }: e.g. files:src/ or bench:mbpp:train`,
    );
  }
  const rest = spec.slice(colon + 1);
  const query = rest.lastIndexOf("?");
  const target = query < 0 ? rest : rest.slice(0, query);
  const params = new URLSearchParams(query < 0 ? "" : rest.slice(query + 1));
  const known = new Set(["ext", "field", "max-bytes", "loss"]);
  for (const key of params.keys()) {
    if (!known.has(key)) {
      throw new RangeError(
        `Cannot read corpus "${spec}" as option "${key}" is unknown: use ${[...known].join(", ")}`,
      );
    }
  }
  if (target === "") {
    throw new RangeError(`Cannot read corpus "${spec}" as it names nothing after "${kind}:"`);
  }
  const maxBytes = params.get("max-bytes");
  const loss = params.get("loss");
  if (maxBytes !== null && !(Number(maxBytes) > 0)) {
    throw new RangeError(
      `Cannot read corpus "${spec}" as "max-bytes" must be a positive number: current value is "${maxBytes}"`,
    );
  }
  if (loss !== null && loss !== "completion" && loss !== "all") {
    throw new RangeError(
      `Cannot read corpus "${spec}" as "loss" must be completion or all: current value is "${loss}"`,
    );
  }
  return {
    spec,
    kind: kind as CorpusKind,
    target,
    ...(params.has("ext") ? { extensions: params.get("ext")!.split(",").filter(Boolean) } : {}),
    ...(params.has("field") ? { field: params.get("field")! } : {}),
    ...(maxBytes === null ? {} : { maxBytes: Number(maxBytes) }),
    ...(loss === null ? {} : { loss: loss as PairLoss }),
  };
}

/** Options of {@linkcode readCorpus}. */
export interface ReadCorpusOptions {
  /** Resolves a benchmark name (for `bench:`); the CLI passes the registry's lookup. */
  readonly benchmark?: (name: string) => Benchmark;
  /** Dataset file or folder for `bench:` corpora (as `--data` of bench). */
  readonly data?: string;
  /** Accept a dataset whose sha256 is not the pinned one (as `--allow-unverified`). */
  readonly allowUnverified?: boolean;
}

/** Reads one corpus. */
export async function readCorpus(
  spec: CorpusSpec,
  options: ReadCorpusOptions = {},
): Promise<Corpus> {
  switch (spec.kind) {
    case "files":
      return await readFiles(spec, spec.target);
    case "jsonl":
      return { spec, source: spec.target, items: capBytes(await readJsonlItems(spec), spec) };
    case "lines":
      return { spec, source: spec.target, items: capBytes(await readLineItems(spec), spec) };
    case "bench":
      return await readBenchmark(spec, options);
    case "stdlib":
      return await readFiles(spec, await stdlibPath(spec.target));
  }
}

/** Reads a file as text, gunzipping `.gz` (by its magic bytes). */
export async function readText(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  return await decodeBytes(bytes);
}

async function decodeBytes(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

function capBytes(items: CorpusItem[], spec: CorpusSpec): CorpusItem[] {
  if (spec.maxBytes === undefined) return items;
  let total = 0;
  const kept: CorpusItem[] = [];
  for (const item of items) {
    if (total >= spec.maxBytes) break;
    kept.push(item);
    total += item.text.length + (item.prompt?.length ?? 0);
  }
  return kept;
}

async function readFiles(spec: CorpusSpec, path: string): Promise<Corpus> {
  if (!existsSync(path)) {
    throw new Deno.errors.NotFound(
      `Cannot read corpus "${spec.spec}" as "${path}" does not exist: check the path`,
    );
  }
  const extensions = spec.extensions ?? SOURCE_EXTENSIONS[spec.target] ??
    Object.values(SOURCE_EXTENSIONS).flat();
  const keep = (name: string) => extensions.includes(extname(name)) && !skipped(name);
  const items: CorpusItem[] = [];
  let total = 0;
  const limit = spec.maxBytes ?? Infinity;
  if (statSync(path).isFile() && extname(path) === ".zip") {
    const entries = zipEntries(await Deno.readFile(path), path).filter((e) => keep(e.name));
    for (const entry of entries.sort((a, b) => compare(a.name, b.name))) {
      if (total >= limit) break;
      const text = new TextDecoder().decode(await entry.read());
      items.push({ id: `${basename(path)}!${entry.name}`, text });
      total += text.length;
    }
    return { spec, source: path, items };
  }
  const files = statSync(path).isFile() ? [path] : (await walk(path)).filter(keep);
  for (const file of files) {
    if (total >= limit) break;
    const text = await readText(file);
    if (text.includes("\u0000")) continue;
    items.push({ id: statSync(path).isFile() ? file : relative(path, file), text });
    total += text.length;
  }
  return { spec, source: path, items };
}

/** Folders of toolchain trees that hold data or generated files rather than source. */
function skipped(path: string): boolean {
  return /(^|\/)(site-packages|__pycache__|testdata|node_modules|\.git)\//.test(path);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(dir)) entries.push(entry);
  for (const entry of entries.sort((a, b) => compare(a.name, b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && skipped(`${path}/`)) continue;
    if (entry.isDirectory) out.push(...await walk(path));
    else if (entry.isFile) out.push(path);
  }
  return out;
}

async function readJsonlItems(spec: CorpusSpec): Promise<CorpusItem[]> {
  const field = spec.field ?? "code";
  const items: CorpusItem[] = [];
  for (const [i, line] of (await readText(spec.target)).split("\n").entries()) {
    if (line.trim() === "") continue;
    const record = JSON.parse(line) as Record<string, unknown>;
    const text = record[field];
    if (typeof text !== "string") {
      throw new TypeError(
        `Cannot read corpus "${spec.spec}" as line ${
          i + 1
        } has no string field "${field}": pass ?field=NAME`,
      );
    }
    const repo = typeof record.repo === "string" ? { repo: record.repo } : {};
    items.push({ id: `${basename(spec.target)}:${i + 1}`, text, ...repo });
  }
  return items;
}

async function readLineItems(spec: CorpusSpec): Promise<CorpusItem[]> {
  const lines = (await readText(spec.target)).split("\n");
  return lines.flatMap((text, i) =>
    text.trim() === "" ? [] : [{ id: `${basename(spec.target)}:${i + 1}`, text }]
  );
}

async function readBenchmark(spec: CorpusSpec, options: ReadCorpusOptions): Promise<Corpus> {
  if (options.benchmark === undefined) {
    throw new TypeError(`Cannot read corpus "${spec.spec}" as no benchmark registry was given`);
  }
  const [name, split] = spec.target.split(":") as [string, string | undefined];
  const benchmark = options.benchmark(name);
  assertTrainable(benchmark); // a license may forbid training on the data (MultiPL-E)
  const loaded = await benchmark.load({
    ...(split === undefined ? {} : { split }),
    ...(options.data === undefined ? {} : { data: options.data }),
    ...(options.allowUnverified ? { allowUnverified: true } : {}),
  });
  const items = loaded.tasks.map((task): CorpusItem => {
    const prompt = samplePrompt(benchmark, task);
    const completes = benchmark.completesPrompt && task.reference.startsWith(task.prompt);
    const text = completes ? task.reference.slice(task.prompt.length) : task.reference;
    const repo = typeof task.meta.repo === "string" ? { repo: task.meta.repo } : {};
    return { id: task.id, prompt, text, lossOnPrompt: spec.loss === "all", ...repo };
  });
  const digest = Object.entries(loaded.sha256).map(([f, h]) => `${f} sha256 ${h}`).join(", ");
  return {
    spec,
    source: `${benchmark.name} split ${loaded.split} (${loaded.source}; ${digest})`,
    items: capBytes(items, spec),
  };
}

/** Where each toolchain keeps its standard library's sources, from the tool's real path. */
const STDLIBS = {
  python: { tool: "python", find: pythonStdlib },
  go: { tool: "go", find: (go: string) => Promise.resolve(join(dirname(dirname(go)), "src")) },
  java: { tool: "javac", find: jdkSources },
} as const;

/** The folder (or archive) of a toolchain's standard library sources. */
export async function stdlibPath(language: string): Promise<string> {
  if (!Object.hasOwn(STDLIBS, language)) {
    throw new RangeError(
      `Cannot read the standard library of "${language}" as it must be one of ${
        Object.keys(STDLIBS).join(", ")
      }`,
    );
  }
  const row = STDLIBS[language as keyof typeof STDLIBS];
  const toolchain = await findToolchain(language as keyof typeof STDLIBS);
  const tool = toolchain?.tools[row.tool];
  if (tool === undefined) {
    throw new Deno.errors.NotFound(
      `Cannot read the standard library of "${language}" as its toolchain is not installed: install it or leave stdlib:${language} out`,
    );
  }
  const path = await row.find(tool.path);
  if (!existsSync(path)) {
    throw new Deno.errors.NotFound(
      `Cannot read the standard library of "${language}" as "${path}" does not exist: install the toolchain's sources or leave stdlib:${language} out`,
    );
  }
  return path;
}

async function pythonStdlib(python: string): Promise<string> {
  const out = await new Deno.Command(python, {
    args: ["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** `lib/src.zip` of javac's JDK, else of the first JDK under its parent folder that has one. */
async function jdkSources(javac: string): Promise<string> {
  const home = dirname(dirname(javac));
  const own = join(home, "lib", "src.zip");
  if (existsSync(own)) return own;
  const others: string[] = [];
  for await (const entry of Deno.readDir(dirname(home))) {
    const zip = join(dirname(home), entry.name, "lib", "src.zip");
    if (existsSync(zip)) others.push(zip);
  }
  return others.sort(compare)[0] ?? own;
}

/** Tasks kept out of training, and how they are recognised. */
export interface HeldOut {
  /** What they are, e.g. `codesearchnet java_train_15, first 300 tasks`. */
  readonly description: string;
  readonly taskIds: readonly string[];
  /** Their functions with all whitespace removed. */
  readonly texts: readonly string[];
  /** Their repositories, dropped too when {@linkcode HeldOut.dropRepos} is set. */
  readonly repos: readonly string[];
  readonly dropRepos: boolean;
}

/** What {@linkcode applyHeldOut} dropped from one corpus. */
export interface HeldOutCount {
  readonly corpus: string;
  readonly byId: number;
  readonly byText: number;
  readonly byRepo: number;
  readonly kept: number;
}

/** The held-out set of evaluation `tasks` (their ids, squashed references and repositories). */
export function heldOutFromTasks(
  description: string,
  tasks: readonly Task[],
  dropRepos: boolean,
): HeldOut {
  const repos = tasks.map((task) => task.meta.repo).filter((r): r is string =>
    typeof r === "string"
  );
  return {
    description,
    taskIds: tasks.map((task) => task.id),
    texts: tasks.map((task) => squash(task.reference)),
    repos: [...new Set(repos)].sort(),
    dropRepos,
  };
}

/** Text with all whitespace removed, the key held-out functions are recognised by. */
export function squash(text: string): string {
  return text.replace(/\s+/g, "");
}

/** Drops every item that is a held-out task, its text, or (when asked) from its repository. */
export function applyHeldOut(
  corpus: Corpus,
  heldOut: HeldOut,
): { corpus: Corpus; count: HeldOutCount } {
  const ids = new Set(heldOut.taskIds);
  const texts = new Set(heldOut.texts);
  const repos = new Set(heldOut.dropRepos ? heldOut.repos : []);
  let byId = 0, byText = 0, byRepo = 0;
  const items = corpus.items.filter((item) => {
    if (ids.has(item.id)) return byId++, false;
    if (texts.has(squash((item.prompt ?? "") + item.text)) || texts.has(squash(item.text))) {
      return byText++, false;
    }
    if (item.repo !== undefined && repos.has(item.repo)) return byRepo++, false;
    return true;
  });
  return {
    corpus: { ...corpus, items },
    count: { corpus: corpus.spec.spec, byId, byText, byRepo, kept: items.length },
  };
}
