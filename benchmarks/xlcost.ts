/**
 * XLCoST code translation (Zhu et al., 2022), as PPOCoder reads it: parallel files of one
 * program (`pair_data_tok_full`) or one snippet (`pair_data_tok_1`) per line, in TransCoder's
 * token format (see `_xlcost_tokens.ts`), for the 21 pairs of C++, Java, Python, C#, JavaScript,
 * PHP and C, in both directions:
 *
 * ```
 * XLCoST_data/pair_data_tok_full/C++-Java/test-C++-Java-tok.cpp      line i is parallel to
 * XLCoST_data/pair_data_tok_full/C++-Java/test-C++-Java-tok.java     line i here
 * XLCoST_data/pair_data_tok_full/C++-Java/test-C++-map.jsonl         problem id of line i
 * ```
 *
 * Splits are `<level>/<source>-<target>/<split>`: level `program` or `snippet`, languages
 * `cpp java python csharp javascript php c`, split `train`, `val` or `test`; the default is
 * `program/java-cpp/test`. The model gets the detokenized source; its translation is
 * compile-checked in the target language (snippets wrapped as the compiler needs, see
 * `compileWrapping`), and scored against the `-tok` reference by BLEU and exact match (on the
 * token format, as XLCoST and PPOCoder score) and by CodeBLEU and the syntax rate (on code).
 *
 * The data is only published on Google Drive, so nothing is pinned or downloaded: see
 * {@linkcode XLCOST_SOURCE}.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { DatasetError, defaultCacheDir } from "./_dataset.ts";
import { applyLimit } from "./_records.ts";
import {
  type CodeUnit,
  compileRequest,
  compileWrapping,
  LANGUAGE_NAMES,
  TRANSLATION_LANGUAGES,
  type TranslationLanguage,
  translationPrompt,
  translationSummary,
} from "./_translation.ts";
import { detokenizeXlcost, tokenizeXlcost } from "./_xlcost_tokens.ts";
import { sha256File } from "../src/util/hash.ts";
import type { Execution, Task } from "../src/types.ts";
import type { Benchmark, DatasetSpec, LoadedTasks, LoadOptions } from "./benchmark.ts";

export { detokenizeXlcost, tokenizeStringLiteral, tokenizeXlcost } from "./_xlcost_tokens.ts";

/** Where XLCoST comes from and where to put it, for the error when it is not found. */
export const XLCOST_SOURCE =
  "XLCoST is published only on Google Drive: download XLCoST_data.zip from the link in " +
  "https://github.com/reddy-lab-code-research/XLCoST (section Data), unzip it, and pass " +
  "--data /path/to/XLCoST_data (or put it at $PPOCODER_DATA/xlcost/XLCoST_data); it holds " +
  "pair_data_tok_full/ (programs) and pair_data_tok_1/ (snippets)";

const DATASET = {
  name: "xlcost",
  version: "XLCoST v1 (Google Drive XLCoST_data.zip, not pinned)",
  files: [],
} as const satisfies DatasetSpec;

/** Folder names of the languages in XLCoST (`C++-Java`, ...). */
const FOLDER_NAMES: Readonly<Record<TranslationLanguage, string>> = {
  cpp: "C++",
  java: "Java",
  python: "Python",
  csharp: "C#",
  javascript: "Javascript",
  php: "PHP",
  c: "C",
};

/** File extensions of the `-tok` files. */
const EXTENSIONS: Readonly<Record<TranslationLanguage, string>> = {
  cpp: ".cpp",
  java: ".java",
  python: ".py",
  csharp: ".cs",
  javascript: ".js",
  php: ".php",
  c: ".c",
};

const LEVELS = { program: "pair_data_tok_full", snippet: "pair_data_tok_1" } as const;
type Level = keyof typeof LEVELS;
const DATA_SPLITS = ["test", "val", "train"] as const;

/** Every split name, the default first. */
export const XLCOST_SPLITS: readonly string[] = (() => {
  const names = ["program/java-cpp/test"];
  for (const level of Object.keys(LEVELS)) {
    for (const source of TRANSLATION_LANGUAGES) {
      for (const target of TRANSLATION_LANGUAGES) {
        if (source === target) continue;
        for (const split of DATA_SPLITS) names.push(`${level}/${source}-${target}/${split}`);
      }
    }
  }
  return [...new Set(names)];
})();

/** A parsed split name. */
export interface XlcostSplit {
  readonly level: Level;
  readonly source: TranslationLanguage;
  readonly target: TranslationLanguage;
  readonly split: (typeof DATA_SPLITS)[number];
}

/** Parses `program/java-python/test`; errors list the accepted forms. */
export function parseXlcostSplit(name: string): XlcostSplit {
  const m = /^(program|snippet)\/(\w+)-(\w+)\/(train|val|test)$/.exec(name);
  const languages = TRANSLATION_LANGUAGES as readonly string[];
  if (m === null || !languages.includes(m[2]!) || !languages.includes(m[3]!) || m[2] === m[3]) {
    throw new RangeError(
      `Cannot load XLCoST split "${name}" as it must be <level>/<source>-<target>/<split>: level program or snippet, ` +
        `languages two different of ${
          TRANSLATION_LANGUAGES.join(", ")
        }, split train, val or test, e.g. program/java-python/test`,
    );
  }
  return {
    level: m[1] as Level,
    source: m[2] as TranslationLanguage,
    target: m[3] as TranslationLanguage,
    split: m[4] as XlcostSplit["split"],
  };
}

/** XLCoST translation as a {@linkcode Benchmark}. */
export const xlcost: Benchmark = {
  name: "xlcost",
  description:
    "XLCoST (Zhu et al., 2022): program and snippet translation among C++, Java, Python, C#, JavaScript, PHP and C",
  metric: "codebleu",
  dataset: DATASET,
  splits: XLCOST_SPLITS,
  promptTemplate: "translate-v1",
  completesPrompt: false,
  load: loadXlcost,
  prompt: (task: Task) => task.prompt,
  request: compileRequest,
  judge: (_task: Task, execution: Execution) => execution,
  summarize: (judged) =>
    translationSummary(judged, {
      bleuPair: (task, sample) => ({
        reference: String(task.meta.referenceTokens),
        hypothesis: tokenizeXlcost(sample.code, task.language as TranslationLanguage),
      }),
      codePair: (task, sample) => ({ reference: task.reference, hypothesis: sample.code }),
    }),
};

async function loadXlcost(options: LoadOptions = {}): Promise<LoadedTasks> {
  const splitName = options.split ?? XLCOST_SPLITS[0]!;
  const split = parseXlcostSplit(splitName);
  const files = locate(split, options);
  const sourceLines = await readLines(files.source);
  const targetLines = await readLines(files.target);
  if (sourceLines.length !== targetLines.length) {
    throw new RangeError(
      `Cannot pair "${files.source}" with "${files.target}" as they must have as many lines: current counts are ${sourceLines.length} and ${targetLines.length}`,
    );
  }
  const ids = files.map === undefined ? undefined : await readMap(files.map, sourceLines.length);
  const tasks = sourceLines.map((line, i) =>
    xlcostTask(split, splitName, i + 1, line, targetLines[i]!, ids?.[i])
  );
  const sha256: Record<string, string> = {};
  for (const path of [files.source, files.target, files.map]) {
    if (path !== undefined) sha256[basename(path)] = await sha256File(path);
  }
  return {
    tasks: applyLimit(tasks, options.limit),
    split: splitName,
    sha256,
    source: files.folder,
  };
}

/** The task of one parallel line; ids are `xlcost/<level>/<source>-<target>/<split>/<line>`. */
export function xlcostTask(
  split: XlcostSplit,
  splitName: string,
  line: number,
  sourceTokens: string,
  targetTokens: string,
  problemId?: string,
): Task {
  const unit: CodeUnit = split.level === "program" ? "program" : "snippet";
  const source = detokenizeXlcost(sourceTokens, split.source);
  const reference = detokenizeXlcost(targetTokens, split.target);
  const wrapping = compileWrapping(split.target, unit, reference);
  return {
    id: `xlcost/${split.level}/${split.source}-${split.target}/${split.split}/${line}`,
    language: split.target,
    prompt: translationPrompt(source, split.source, split.target, unit),
    reference,
    check: { kind: "compile", prefix: wrapping.prefix, suffix: wrapping.suffix },
    meta: {
      split: splitName,
      level: split.level,
      source: split.source,
      target: split.target,
      ...(problemId === undefined ? {} : { problemId }),
      referenceTokens: targetTokens.trim(),
    },
  };
}

interface Files {
  readonly folder: string;
  readonly source: string;
  readonly target: string;
  readonly map?: string;
}

/** Finds the pair folder (either language order) under the usual places. */
function locate(split: XlcostSplit, options: LoadOptions): Files {
  const env = (name: string) => Deno.env.get(name);
  const level = LEVELS[split.level];
  const orders = [[split.source, split.target], [split.target, split.source]] as const;
  const roots: string[] = [];
  if (options.data !== undefined) {
    roots.push(options.data, join(options.data, "XLCoST_data"), join(options.data, "xlcost"));
  }
  const shared = env("PPOCODER_DATA");
  if (shared) roots.push(join(shared, "xlcost"), join(shared, "xlcost", "XLCoST_data"));
  const cache = join(defaultCacheDir(env), "xlcost");
  roots.push(cache, join(cache, "XLCoST_data"));
  const tried: string[] = [];
  for (const root of roots) {
    for (const [a, b] of orders) {
      const pair = `${FOLDER_NAMES[a]}-${FOLDER_NAMES[b]}`;
      for (const folder of [join(root, level, pair), join(root, pair), root]) {
        if (folder === root && basename(root) !== pair) continue;
        tried.push(folder);
        const files = pairFiles(folder, pair, split);
        if (files !== undefined) return files;
      }
    }
  }
  throw new DatasetError(
    `Cannot find XLCoST ${split.level}-level ${LANGUAGE_NAMES[split.source]}-${
      LANGUAGE_NAMES[split.target]
    } "${split.split}" files as they are in none of: ${
      [...new Set(tried)].join(", ")
    }: ${XLCOST_SOURCE}`,
  );
}

/** The `-tok` files (with or without a `.txt` suffix) and the source-side map in `folder`. */
function pairFiles(folder: string, pair: string, split: XlcostSplit): Files | undefined {
  const tok = (language: TranslationLanguage) =>
    [
      `${split.split}-${pair}-tok${EXTENSIONS[language]}`,
      `${split.split}-${pair}-tok${EXTENSIONS[language]}.txt`,
    ]
      .map((name) => join(folder, name))
      .find((path) => existsSync(path));
  const source = tok(split.source);
  const target = tok(split.target);
  if (source === undefined || target === undefined) return undefined;
  const map = join(folder, `${split.split}-${FOLDER_NAMES[split.source]}-map.jsonl`);
  return { folder, source, target, ...(existsSync(map) ? { map } : {}) };
}

async function readLines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line) => line.replace(/\r$/, ""));
}

/**
 * The problem id of every line of a `-map.jsonl` file: a JSON string or number per line, or an
 * object whose `id`, `idx`, `problem_id` or `pid` field is taken.
 */
export function parseXlcostMap(text: string, path: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new SyntaxError(
        `Cannot read XLCoST map at "${path}" line ${i + 1} as it is not valid JSON: ${
          (error as Error).message
        }: fix or remove that line`,
      );
    }
    if (typeof value === "string" || typeof value === "number") return String(value);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      const key = ["id", "idx", "problem_id", "pid"].find((k) =>
        typeof record[k] === "string" || typeof record[k] === "number"
      );
      if (key !== undefined) return String(record[key]);
    }
    throw new TypeError(
      `Cannot read XLCoST map at "${path}" line ${
        i + 1
      } as it must be a problem id (a string, a number, or an object with "id", "idx", "problem_id" or "pid"): current value is ${
        line.slice(0, 80)
      }`,
    );
  });
}

async function readMap(path: string, expected: number): Promise<string[]> {
  const ids = parseXlcostMap(await Deno.readTextFile(path), path);
  if (ids.length !== expected) {
    throw new RangeError(
      `Cannot use "${path}" as it must have one line per code line: current counts are ${ids.length} and ${expected}`,
    );
  }
  return ids;
}
