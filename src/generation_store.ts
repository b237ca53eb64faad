/**
 * The generations store: every generation a model made, kept apart from run folders and reused by
 * any run that asks the same model the same prompt with the same sampling. A run folder is named
 * after everything that shapes its results (limits, task set, ...); a model's text depends only
 * on (model, prompt, sampling), so changing a judging or reporting setting (`--k`, `--timeout`,
 * `--limits`, a larger `--limit`, other `--tasks`) asks the model only for what it never wrote.
 * Sanitizing is a pure function of the stored raw text, applied by each run, so it reuses the
 * store too.
 *
 * Layout: `<root>/<model>-<hash>/generations.jsonl`, where the hash covers the model's identity
 * and the sampling settings other than `n`; one line per generation: `promptSha256`, `index`,
 * `taskId` (informative), `raw`, `isProgram` and token counts. A generation is found by the
 * sha256 of its prompt and its index, so sample 0 of a 1-sample run is sample 0 of a 5-sample
 * run. Only backends that sample a model use it (not `reference` or `samples:`).
 *
 * @module
 */

import { join } from "node:path";
import { JsonlAppender, readJsonl } from "./util/jsonl.ts";
import { canonicalJson, sha256 } from "./util/hash.ts";
import type {
  Generation,
  GenerationRequest,
  ModelBackend,
  Sampling,
  TokenUsage,
} from "./models/backend.ts";
import type { Task } from "./types.ts";

/** One stored generation. */
export interface StoredGeneration {
  readonly promptSha256: string;
  readonly index: number;
  readonly taskId: string;
  readonly raw: string;
  readonly isProgram?: boolean;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

/** The folder that holds one (model, sampling) pair's generations under `root`. */
export function storeFolder(root: string, backend: ModelBackend, sampling: Sampling): string {
  const { n: _n, ...shaping } = sampling;
  const hash = sha256(canonicalJson({ model: backend.identity, sampling: shaping }));
  const slug = backend.identity.id.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "")
    .slice(-40);
  return join(root, `${slug}-${hash.slice(0, 12)}`);
}

/**
 * `backend`, answering from the store under `root` where it can and storing what the model
 * writes; backends that do not sample a model (`samplingSource` set) are returned as they are.
 */
export function withGenerationStore(backend: ModelBackend, root: string): ModelBackend {
  if (backend.samplingSource !== undefined) return backend;
  const folders = new Map<string, Promise<Folder>>();
  const folderFor = (sampling: Sampling) => {
    const path = storeFolder(root, backend, sampling);
    if (!folders.has(path)) folders.set(path, Folder.open(path));
    return folders.get(path)!;
  };
  const generate = async (request: GenerationRequest): Promise<readonly Generation[]> => {
    const folder = await folderFor(request.sampling);
    const promptSha256 = sha256(request.prompt);
    const found = request.indices.flatMap((index) => {
      const stored = folder.get(promptSha256, index);
      return stored === undefined ? [] : [toGeneration(stored)];
    });
    const missing = request.indices.filter((i) => folder.get(promptSha256, i) === undefined);
    if (missing.length === 0) return found;
    const made = await backend.generate({ ...request, indices: missing });
    for (const generation of made) {
      await folder.add(storedFrom(request, promptSha256, generation));
    }
    return [...found, ...made];
  };
  // Forwarded one by one: a backend may be a class instance, whose methods a spread would lose.
  return {
    identity: backend.identity,
    yieldsCode: backend.yieldsCode,
    ...(backend.style === undefined ? {} : { style: backend.style }),
    ...(backend.usage === undefined ? {} : { usage: (): TokenUsage => backend.usage!() }),
    ...(backend.samplesPerTask === undefined
      ? {}
      : { samplesPerTask: (tasks: readonly Task[]) => backend.samplesPerTask!(tasks) }),
    generate,
    close: async () => {
      for (const folder of folders.values()) (await folder).close();
      await backend.close();
    },
  };
}

function toGeneration(stored: StoredGeneration): Generation {
  return {
    index: stored.index,
    raw: stored.raw,
    ...(stored.isProgram === undefined ? {} : { isProgram: stored.isProgram }),
    ...(stored.promptTokens === undefined ? {} : { promptTokens: stored.promptTokens }),
    ...(stored.completionTokens === undefined ? {} : { completionTokens: stored.completionTokens }),
  };
}

function storedFrom(
  request: GenerationRequest,
  promptSha256: string,
  generation: Generation,
): StoredGeneration {
  return {
    promptSha256,
    index: generation.index,
    taskId: request.task.id,
    raw: generation.raw,
    ...(generation.isProgram === undefined ? {} : { isProgram: generation.isProgram }),
    ...(generation.promptTokens === undefined ? {} : { promptTokens: generation.promptTokens }),
    ...(generation.completionTokens === undefined
      ? {}
      : { completionTokens: generation.completionTokens }),
  };
}

/** One store folder: its generations in memory, appended to on disk as they arrive. */
class Folder {
  readonly #byKey: Map<string, StoredGeneration>;
  readonly #appender: JsonlAppender;

  private constructor(byKey: Map<string, StoredGeneration>, appender: JsonlAppender) {
    this.#byKey = byKey;
    this.#appender = appender;
  }

  static async open(path: string): Promise<Folder> {
    await Deno.mkdir(path, { recursive: true });
    const file = join(path, "generations.jsonl");
    const stored = await readJsonl<StoredGeneration>(file, { allowTruncatedTail: true });
    const byKey = new Map<string, StoredGeneration>();
    for (const record of stored) {
      const key = `${record.promptSha256}#${record.index}`;
      if (!byKey.has(key)) byKey.set(key, record);
    }
    return new Folder(byKey, await JsonlAppender.open(file));
  }

  get(promptSha256: string, index: number): StoredGeneration | undefined {
    return this.#byKey.get(`${promptSha256}#${index}`);
  }

  async add(record: StoredGeneration): Promise<void> {
    const key = `${record.promptSha256}#${record.index}`;
    if (this.#byKey.has(key)) return;
    this.#byKey.set(key, record);
    await this.#appender.append(record);
  }

  close(): void {
    this.#appender.close();
  }
}
