/**
 * CodeSearchNet code completion, as PPOCoder evaluates it (Shojaee et al., 2023, section 4.1):
 * the model is given the first part of a function from a CodeSearchNet v2 shard and completes
 * it; the completion is judged by whether prompt + completion compiles (the function wrapped the
 * way its compiler needs, see `compileWrapping`), and scored against the rest of the gold
 * function by exact match and CodeXGLUE's smoothed BLEU-4 (whitespace tokens), with the syntax
 * rate beside the compile rate.
 *
 * The split point is deterministic and recorded in each task's meta: among the function's
 * `code_tokens` (comments and docstring excluded), the first half (`floor(n / 2)` tokens) goes
 * into the prompt, which then runs to the end of that token's line, so the model starts on a new
 * line; when that would leave nothing to complete, the prompt ends right after the token. Only
 * functions with at least 64 tokens are kept, as in PPOCoder ("sufficient length (at least 64
 * tokens)"); `meta.tokens` has the count for stricter filters.
 *
 * Splits are shard names (`java_train_15`, `python_test_0`, ...): `java_train_15` is pinned and
 * downloadable; any other shard is read from `--data` (the `.jsonl.gz` file, or a folder holding
 * it directly or under `<language>/final/jsonl/<part>/`), with its sha256 recorded.
 *
 * @module
 */

import { basename, join } from "node:path";
import { existsSync, statSync } from "node:fs";
import { DatasetError, defaultCacheDir, resolveDatasetFile } from "./_dataset.ts";
import { applyLimit, FieldReader, parseJsonlRecords, readDatasetText } from "./_records.ts";
import { compileRequest, compileWrapping, translationSummary } from "./_translation.ts";
import { sha256File } from "../src/util/hash.ts";
import type { Execution, Language, Task } from "../src/types.ts";
import type { Benchmark, DatasetSpec, LoadedTasks, LoadOptions } from "./benchmark.ts";

const DATASET = {
  name: "codesearchnet",
  version: "CodeSearchNet v2 (shard copied from reddy-lab-code-research/MuST-CoST@cc9ad26a)",
  files: [
    {
      name: "java_train_15.jsonl.gz",
      sha256: "ad26a853a1bf764382c1637440b328ee2afe7a94eb5262d985bc379f9b444501",
      url:
        "https://raw.githubusercontent.com/reddy-lab-code-research/MuST-CoST/cc9ad26af93a6c73c53bc3f6150bc25499e489be/CodeXGLUE/Code-Text/code-to-text/dataset/java/final/jsonl/train/java_train_15.jsonl.gz",
    },
  ],
} as const satisfies DatasetSpec;

/** Functions shorter than this many `code_tokens` are left out (PPOCoder). */
export const MIN_TOKENS = 64;

/** CodeSearchNet languages and the executor's names for them (Ruby has no executor row). */
const LANGUAGES: Readonly<Record<string, Language>> = {
  go: "go",
  java: "java",
  javascript: "javascript",
  php: "php",
  python: "python",
};

/** One function of a shard. */
export interface CsnFunction {
  readonly line: number;
  readonly code: string;
  readonly codeTokens: readonly string[];
  readonly funcName: string;
  readonly language: string;
  readonly repo: string;
  readonly path: string;
  readonly url: string;
}

/** Where a function is cut into prompt and completion. */
export interface CompletionSplit {
  /** Characters of `code` in the prompt. */
  readonly offset: number;
  /** Code tokens in the prompt (the rest are the model's to write). */
  readonly tokens: number;
}

/** CodeSearchNet completion as a {@linkcode Benchmark}. */
export const codesearchnet: Benchmark = {
  name: "codesearchnet",
  description:
    "CodeSearchNet completion (PPOCoder): complete the second half of a function; compile rate, exact match, BLEU",
  metric: "compile_rate",
  dataset: DATASET,
  splits: ["java_train_15"],
  promptTemplate: "csn-completion-half-v1",
  completesPrompt: true,
  load: loadCodeSearchNet,
  /** The first part of the function, as it is: the model continues it. */
  prompt: (task: Task) => task.prompt,
  request: compileRequest,
  judge: (_task: Task, execution: Execution) => execution,
  summarize: (judged) =>
    translationSummary(judged, {
      bleuPair: (task, sample) => ({
        reference: task.reference.slice(task.prompt.length),
        hypothesis: sample.code.startsWith(task.prompt)
          ? sample.code.slice(task.prompt.length)
          : sample.code,
      }),
    }),
};

async function loadCodeSearchNet(options: LoadOptions = {}): Promise<LoadedTasks> {
  const split = options.split ?? "java_train_15";
  if (!/^(\w+?)_(train|valid|test)_\d+$/.test(split)) {
    throw new RangeError(
      `Cannot load CodeSearchNet split "${split}" as it must be a shard name <language>_<train|valid|test>_<n>: e.g. java_train_15`,
    );
  }
  const { path, sha256 } = await findShard(split, options);
  const functions = parseCodeSearchNet(await readDatasetText(path), path);
  const tasks = functions
    .filter((f) => f.codeTokens.length >= MIN_TOKENS)
    .map((f) => codeSearchNetTask(f, split));
  return {
    tasks: applyLimit(tasks, options.limit),
    split,
    sha256: { [`${split}.jsonl.gz`]: sha256 },
    source: path,
  };
}

async function findShard(
  split: string,
  options: LoadOptions,
): Promise<{ path: string; sha256: string }> {
  const pinned = DATASET.files.find((f) => f.name === `${split}.jsonl.gz`);
  if (pinned !== undefined) {
    const resolved = await resolveDatasetFile(DATASET, pinned, options);
    return { path: resolved.path, sha256: resolved.sha256 };
  }
  const name = `${split}.jsonl.gz`;
  const [language, part] = split.split("_") as [string, string];
  const env = (key: string) => Deno.env.get(key);
  const under = (
    root: string,
  ) => [join(root, name), join(root, language, "final", "jsonl", part, name)];
  const places = [
    ...(options.data === undefined ? [] : [options.data, ...under(options.data)]),
    ...(env("PPOCODER_DATA") ? under(join(env("PPOCODER_DATA")!, DATASET.name)) : []),
    ...under(join(defaultCacheDir(env), DATASET.name)),
  ];
  const path = places.find((p) => existsSync(p) && statSync(p).isFile() && basename(p) === name) ??
    (options.data !== undefined && existsSync(options.data) && statSync(options.data).isFile()
      ? options.data
      : undefined);
  if (path === undefined) {
    throw new DatasetError(
      `Cannot find CodeSearchNet shard "${name}" as it is in none of: ${places.join(", ")}: ` +
        `download ${language}.zip from https://github.com/github/CodeSearchNet#data-details (or the CodeXGLUE code-to-text dataset), ` +
        `unzip it and pass --data with the shard file or the folder that holds ${language}/final/jsonl/${part}/${name}`,
    );
  }
  return { path, sha256: await sha256File(path) };
}

/** Parses a (gunzipped) shard; errors name the file and line. */
export function parseCodeSearchNet(text: string, path: string): CsnFunction[] {
  return parseJsonlRecords(text, path, "CodeSearchNet function").map(({ line, value }) => {
    const fields = new FieldReader(value, `CodeSearchNet function at "${path}" line ${line}`);
    const language = fields.string("language");
    if (!Object.hasOwn(LANGUAGES, language)) {
      fields.fail(
        `field "language" must be one the executor runs (${
          Object.keys(LANGUAGES).join(", ")
        }): current value is "${language}"`,
      );
    }
    return {
      line,
      code: fields.string("code"),
      codeTokens: fields.stringList("code_tokens"),
      funcName: fields.optionalString("func_name"),
      language,
      repo: fields.optionalString("repo"),
      path: fields.optionalString("path"),
      url: fields.optionalString("url"),
    };
  });
}

/**
 * Where a function is cut for the completion task (see the module doc): the first
 * `floor(n / 2)` code tokens, located in `code` in order, then the rest of that line.
 */
export function completionSplit(code: string, codeTokens: readonly string[]): CompletionSplit {
  const half = Math.floor(codeTokens.length / 2);
  let cursor = 0;
  for (const token of codeTokens.slice(0, half)) {
    const at = code.indexOf(token, cursor);
    if (at < 0) return wordSplit(code, half);
    cursor = at + token.length;
  }
  const lineEnd = code.indexOf("\n", cursor);
  const offset = lineEnd < 0 || code.slice(lineEnd + 1).trim() === "" ? cursor : lineEnd + 1;
  return { offset, tokens: half };
}

/** Fallback when a token is not found verbatim: the first half of whitespace-separated words. */
function wordSplit(code: string, half: number): CompletionSplit {
  const words = [...code.matchAll(/\S+/g)];
  const word = words[Math.min(half, words.length) - 1];
  return { offset: word === undefined ? 0 : word.index! + word[0].length, tokens: half };
}

/** The task of one function: `codesearchnet/<shard>/<line>`. */
export function codeSearchNetTask(fn: CsnFunction, split: string): Task {
  const language = LANGUAGES[fn.language]!;
  const cut = completionSplit(fn.code, fn.codeTokens);
  const wrapping = compileWrapping(language, "function", fn.code);
  return {
    id: `codesearchnet/${split}/${fn.line}`,
    language,
    prompt: fn.code.slice(0, cut.offset),
    reference: fn.code,
    ...(fn.funcName === "" ? {} : { entryPoint: fn.funcName }),
    check: { kind: "compile", prefix: wrapping.prefix, suffix: wrapping.suffix },
    meta: {
      split,
      funcName: fn.funcName,
      repo: fn.repo,
      url: fn.url,
      tokens: fn.codeTokens.length,
      splitToken: cut.tokens,
      splitOffset: cut.offset,
    },
  };
}
