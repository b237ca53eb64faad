/**
 * Resolves `onnx:` model specs to a local folder: a folder as given, or a Hugging Face model id
 * downloaded once into a cache (`~/.cache/ppocoder/models/<owner>/<name>`).
 *
 * @module
 */

import { existsSync, statSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** Options of {@linkcode resolveModelFolder}. */
export interface HubOptions {
  /** Cache root. @default `$PPOCODER_MODELS` or `~/.cache/ppocoder/models` */
  readonly cacheDir?: string;
  /** Hub address. @default `$HF_ENDPOINT` or `https://huggingface.co` */
  readonly endpoint?: string;
  /** Bearer token for gated models. @default `$HF_TOKEN` */
  readonly token?: string;
  /** Revision (branch, tag or commit). @default "main" */
  readonly revision?: string;
  /** Time allowed for the file listing request, in ms. @default 30000 */
  readonly timeoutMs?: number;
  readonly log?: (message: string) => void;
}

/** Marker written once every file of a download is in place. */
const COMPLETE_MARKER = ".ppocoder-complete";

/** Files besides the ONNX graph that loading reads, when the repository has them. */
const SIDE_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "genai_config.json",
  "config.json",
  "generation_config.json",
];

/** ONNX graphs tried in order, as exports name them. */
export const MODEL_FILE_CANDIDATES = [
  "model.onnx",
  "decoder_model_merged.onnx",
  "onnx/model.onnx",
  "onnx/decoder_model_merged.onnx",
];

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** The local folder of `spec`: an existing path, or a hub id fetched into the cache. */
export async function resolveModelFolder(spec: string, options: HubOptions = {}): Promise<string> {
  if (existsSync(spec)) return statSync(spec).isDirectory() ? spec : dirname(spec);
  if (!HUB_ID.test(spec)) {
    throw new RangeError(
      `Cannot load ONNX model "${spec}" as it is neither a folder nor a Hugging Face model id ` +
        `(owner/name): pass a folder holding an ONNX decoder and tokenizer.json`,
    );
  }
  const folder = join(cacheRoot(options), spec);
  if (existsSync(join(folder, COMPLETE_MARKER))) return folder;
  await downloadModel(spec, folder, options);
  return folder;
}

function cacheRoot(options: HubOptions): string {
  return options.cacheDir ?? Deno.env.get("PPOCODER_MODELS") ??
    join(homedir(), ".cache", "ppocoder", "models");
}

async function downloadModel(id: string, folder: string, options: HubOptions): Promise<void> {
  const endpoint = (options.endpoint ?? Deno.env.get("HF_ENDPOINT") ?? "https://huggingface.co")
    .replace(/\/+$/, "");
  const revision = options.revision ?? "main";
  const token = options.token ?? Deno.env.get("HF_TOKEN");
  const headers: HeadersInit = token ? { authorization: `Bearer ${token}` } : {};
  const listing = `${endpoint}/api/models/${id}/revision/${revision}`;
  const response = await hubFetch(id, listing, headers, options.timeoutMs ?? 30_000);
  const siblings = ((await response.json()) as { siblings?: { rfilename: string }[] }).siblings ??
    [];
  const files = pickFiles(id, siblings.map((s) => s.rfilename));
  await mkdir(folder, { recursive: true });
  for (const file of files) {
    options.log?.(`Downloading ${id}/${file}`);
    const url = `${endpoint}/${id}/resolve/${revision}/${file}`;
    const body = await hubFetch(id, url, headers, undefined);
    const target = join(folder, file);
    await mkdir(dirname(target), { recursive: true });
    // Streamed to disk: ONNX weights can be larger than memory allows.
    await Deno.writeFile(`${target}.tmp`, body.body ?? new Uint8Array());
    await rename(`${target}.tmp`, target);
  }
  await writeFile(join(folder, COMPLETE_MARKER), `${revision}\n`);
}

/** The ONNX graph, its external data and the side files of a repository listing. */
function pickFiles(id: string, names: readonly string[]): string[] {
  const model = MODEL_FILE_CANDIDATES.find((c) => names.includes(c));
  if (model === undefined || !names.includes("tokenizer.json")) {
    throw new TypeError(
      `Cannot use Hugging Face model "${id}" as it has no ${
        model === undefined
          ? `ONNX decoder (${MODEL_FILE_CANDIDATES.join(", ")})`
          : "tokenizer.json"
      }: pick a repository with an ONNX export, or export one with optimum-cli`,
    );
  }
  const externalData = names.filter((n) =>
    n.startsWith(`${model}.data`) || n.startsWith(`${model}_data`)
  );
  return [model, ...externalData, ...SIDE_FILES.filter((f) => names.includes(f))];
}

async function hubFetch(
  id: string,
  url: string,
  headers: HeadersInit,
  timeoutMs: number | undefined,
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers,
      ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
    });
  } catch (error) {
    throw new Error(
      `Cannot download model "${id}" as "${url}" cannot be reached (offline?): ` +
        `${(error as Error).message}: copy a folder with the ONNX decoder and tokenizer.json ` +
        `to this machine and pass --model onnx:<folder>`,
      { cause: error },
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(
      `Cannot download model "${id}" as "${url}" answered ${response.status} ${response.statusText}` +
        `: check the model id and revision, and set HF_TOKEN for a gated or private model`,
    );
  }
  return response;
}
