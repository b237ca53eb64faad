/**
 * Finding a benchmark's data files, in the order DESIGN.md gives: `--data PATH`, the
 * `PPOCODER_DATA` folder, the local cache, then a download from the canonical location checked
 * against the pinned sha256.
 *
 * @module
 */

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { homedir } from "node:os";
import { sha256, sha256File } from "../src/util/hash.ts";
import type { DatasetFile, DatasetSpec } from "./benchmark.ts";

/** Options of {@linkcode resolveDatasetFile}. */
export interface ResolveOptions {
  /**
   * `--data`: the file itself (any name), or a folder holding it (directly or under
   * `<dataset name>/`). A file given directly is the only candidate.
   */
  readonly data?: string;
  /** Environment lookup, replaceable in tests. @default Deno.env.get */
  readonly env?: (name: string) => string | undefined;
  /** Cache folder. @default `$XDG_CACHE_HOME/ppocoder/datasets` or `~/.cache/ppocoder/datasets` */
  readonly cacheDir?: string;
  /** Download function, replaceable in tests. @default fetch */
  readonly fetch?: typeof fetch;
  /** Accept a file whose sha256 differs from the pinned one (its real sha256 is recorded). */
  readonly allowUnverified?: boolean;
  readonly log?: (message: string) => void;
}

/** A dataset file found on disk. */
export interface ResolvedFile {
  readonly path: string;
  readonly sha256: string;
  /** Which rule found it: `--data`, `PPOCODER_DATA`, `cache` or `download`. */
  readonly origin: "--data" | "PPOCODER_DATA" | "cache" | "download";
}

/** Raised when a dataset file cannot be found, downloaded or verified. */
export class DatasetError extends Error {
  override name = "DatasetError";
}

/** Default cache folder for datasets. */
export function defaultCacheDir(env: (name: string) => string | undefined = Deno.env.get): string {
  const base = env("XDG_CACHE_HOME") ?? join(homedir(), ".cache");
  return join(base, "ppocoder", "datasets");
}

/** Finds (or downloads) one file of `spec`, verifying its sha256. */
export async function resolveDatasetFile(
  spec: DatasetSpec,
  file: DatasetFile,
  options: ResolveOptions = {},
): Promise<ResolvedFile> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  for (const [origin, path] of localCandidates(spec, file, options.data, env, cacheDir)) {
    if (!isFile(path)) continue;
    return { path, origin, sha256: await verify(path, file, options) };
  }
  const target = join(cacheDir, spec.name, file.name);
  await download(file, target, options, spec);
  return { path: target, origin: "download", sha256: file.sha256 };
}

function localCandidates(
  spec: DatasetSpec,
  file: DatasetFile,
  data: string | undefined,
  env: (name: string) => string | undefined,
  cacheDir: string,
): [ResolvedFile["origin"], string][] {
  const candidates: [ResolvedFile["origin"], string][] = [];
  if (data !== undefined) {
    // A file given directly is taken whatever its name: its sha256 is still checked.
    if (isFile(data)) return [["--data", data]];
    candidates.push(["--data", join(data, file.name)], [
      "--data",
      join(data, spec.name, file.name),
    ]);
  }
  const root = env("PPOCODER_DATA");
  if (root) candidates.push(["PPOCODER_DATA", join(root, spec.name, file.name)]);
  candidates.push(["cache", join(cacheDir, spec.name, file.name)]);
  return candidates;
}

/** sha256 of a file's bytes once gunzipped (of the bytes themselves when not gzipped). */
async function contentSha256(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return sha256(bytes);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return sha256(new Uint8Array(await new Response(stream).arrayBuffer()));
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

async function verify(path: string, file: DatasetFile, options: ResolveOptions): Promise<string> {
  const actual = await sha256File(path);
  if (actual === file.sha256) return actual;
  // The same content in another packing (gzipped or not) is the same data: the pinned file's.
  if (file.contentSha256 !== undefined && await contentSha256(path) === file.contentSha256) {
    return file.sha256;
  }
  if (options.allowUnverified) {
    options.log?.(`warning: "${path}" has sha256 ${actual}, not the pinned ${file.sha256}`);
    return actual;
  }
  throw new DatasetError(
    `Cannot use "${path}" as its sha256 must be the pinned ${file.sha256}: current value is ${actual}: ` +
      `replace it with the published file from ${file.url}, or pass --allow-unverified to use it anyway (the report records its sha256)`,
  );
}

async function download(
  file: DatasetFile,
  target: string,
  options: ResolveOptions,
  spec: DatasetSpec,
): Promise<void> {
  const doFetch = options.fetch ?? fetch;
  options.log?.(`downloading ${file.url}`);
  let bytes: Uint8Array;
  try {
    const response = await doFetch(file.url, { signal: AbortSignal.timeout(120_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new DatasetError(notFoundMessage(spec, file, options, error));
  }
  const actual = sha256(bytes);
  if (actual !== file.sha256) {
    throw new DatasetError(
      `Cannot use the download from ${file.url} as its sha256 must be the pinned ${file.sha256}: current value is ${actual}: ` +
        `the published file changed or the download was altered; put a verified copy at ${target}`,
    );
  }
  await Deno.mkdir(join(target, ".."), { recursive: true });
  const temporary = `${target}.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(temporary, bytes);
  await Deno.rename(temporary, target);
}

function notFoundMessage(
  spec: DatasetSpec,
  file: DatasetFile,
  options: ResolveOptions,
  error: unknown,
): string {
  const reason = error instanceof Error ? error.message : String(error);
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const places = [
    options.data === undefined ? undefined : `--data ${options.data}`,
    `$PPOCODER_DATA/${spec.name}/${file.name}` +
    (env("PPOCODER_DATA")
      ? ` (PPOCODER_DATA=${env("PPOCODER_DATA")})`
      : " (PPOCODER_DATA is not set)"),
    join(options.cacheDir ?? defaultCacheDir(env), spec.name, file.name),
  ].filter((place) => place !== undefined);
  return `Cannot find dataset file "${file.name}" of ${spec.name} as it is in none of: ${
    places.join(", ")
  }; and the download from ${file.url} failed: ${reason}: put the file (sha256 ${file.sha256}) ` +
    `in one of those places, for example PPOCODER_DATA=/path/to/datasets with it at ${spec.name}/${file.name}`;
}
