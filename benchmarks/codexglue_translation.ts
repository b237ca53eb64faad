/**
 * CodeXGLUE code-to-code translation (Lu et al., 2021): Java and C# methods from open-source
 * projects (Lucene, POI, JGit, Antlr and their C# ports), one per line, line i of
 * `X.java-cs.txt.java` parallel to line i of `X.java-cs.txt.cs`. Splits `java-cs/test` (the
 * default), `java-cs/valid`, `java-cs/train`, and the same for `cs-java`.
 *
 * The methods are library code that uses types and members of their own projects, so a compile
 * check wraps each one in a class with the common imports or usings (`compileWrapping`) and still
 * fails on the missing types: the report gives compile failures by cause and, beside the compile
 * rate, the parse-only syntax rate. BLEU and exact match are CodeXGLUE's (`evaluator.py`:
 * smoothed corpus BLEU-4 and exact match on whitespace tokens); CodeBLEU uses the 0.25 weights.
 *
 * @module
 */

import { resolveDatasetFile } from "./_dataset.ts";
import { applyLimit, readDatasetText } from "./_records.ts";
import {
  compileRequest,
  compileWrapping,
  type TranslationLanguage,
  translationPrompt,
  translationSummary,
} from "./_translation.ts";
import type { Execution, Task } from "../src/types.ts";
import type { Benchmark, DatasetFile, DatasetSpec, LoadedTasks, LoadOptions } from "./benchmark.ts";

const BASE =
  "https://raw.githubusercontent.com/microsoft/CodeXGLUE/ac74a62802a0dd159b3258c78a2df8ad36cdf2b9/Code-Code/code-to-code-trans/data";

function file(name: string, sha256: string): DatasetFile {
  return { name, sha256, url: `${BASE}/${name}` };
}

const DATASET = {
  name: "codexglue-code-to-code-trans",
  version: "microsoft/CodeXGLUE@ac74a628 (data last changed in 5b0334a7)",
  files: [
    file(
      "test.java-cs.txt.java",
      "8e4c9db2467622c119366a89aa0ca798b5f72c11433e3ac3080df21e0e4e06f6",
    ),
    file("test.java-cs.txt.cs", "7a863a53cba15473d44ef2f7c99096370a204d4c1a54cc3d81c59d4a305756af"),
    file(
      "valid.java-cs.txt.java",
      "5cf92447fd81e126c7d791527f71d16dbcb91d3aa4aafda5c7d9d5c30d75a204",
    ),
    file(
      "valid.java-cs.txt.cs",
      "513c430d61901a90895b22fb235c532dbdc26b84db9d825e1d04a5856a97aec1",
    ),
    file(
      "train.java-cs.txt.java",
      "397c44e7a0ad250849231a3beeb255ea54078e1cb62cf13359893d474025cb90",
    ),
    file(
      "train.java-cs.txt.cs",
      "80013b5b5c7e973df52adec4944b895eaaee0944f09ab6179084631a15d36b7a",
    ),
  ],
} as const satisfies DatasetSpec;

/** Splits, the default first. */
export const CODEXGLUE_SPLITS = [
  "java-cs/test",
  "java-cs/valid",
  "java-cs/train",
  "cs-java/test",
  "cs-java/valid",
  "cs-java/train",
] as const;

const EXTENSION = { java: "java", csharp: "cs" } as const;

/** CodeXGLUE Java-C# translation as a {@linkcode Benchmark}. */
export const codexglueTranslation: Benchmark = {
  name: "codexglue-translation",
  description:
    "CodeXGLUE code-to-code translation (Lu et al., 2021): 1,000 test methods between Java and C#",
  metric: "bleu",
  dataset: DATASET,
  splits: CODEXGLUE_SPLITS,
  promptTemplate: "translate-v1",
  completesPrompt: false,
  load: loadCodexglue,
  prompt: (task: Task) => task.prompt,
  request: compileRequest,
  judge: (_task: Task, execution: Execution) => execution,
  summarize: (judged) =>
    translationSummary(judged, {
      bleuPair: (task, sample) => ({ reference: task.reference, hypothesis: sample.code }),
      codePair: (task, sample) => ({ reference: task.reference, hypothesis: sample.code }),
    }),
};

async function loadCodexglue(options: LoadOptions = {}): Promise<LoadedTasks> {
  const split = options.split ?? CODEXGLUE_SPLITS[0];
  if (!(CODEXGLUE_SPLITS as readonly string[]).includes(split)) {
    throw new RangeError(
      `Cannot load CodeXGLUE translation split "${split}" as it is not a known split: use one of ${
        CODEXGLUE_SPLITS.join(", ")
      }`,
    );
  }
  const [direction, part] = split.split("/") as [string, string];
  const [from, to]: [TranslationLanguage, TranslationLanguage] = direction === "java-cs"
    ? ["java", "csharp"]
    : ["csharp", "java"];
  const specOf = (language: TranslationLanguage) =>
    DATASET.files.find((f) =>
      f.name === `${part}.java-cs.txt.${EXTENSION[language as "java" | "csharp"]}`
    )!;
  const sourceFile = await resolveDatasetFile(DATASET, specOf(from), options);
  const targetFile = await resolveDatasetFile(DATASET, specOf(to), options);
  const sources = parallelLines(await readDatasetText(sourceFile.path), sourceFile.path);
  const targets = parallelLines(await readDatasetText(targetFile.path), targetFile.path);
  if (sources.length !== targets.length) {
    throw new RangeError(
      `Cannot pair "${sourceFile.path}" with "${targetFile.path}" as they must have as many lines: current counts are ${sources.length} and ${targets.length}`,
    );
  }
  const tasks = sources.map((source, i) =>
    codexglueTask(split, i + 1, source, targets[i]!, from, to)
  );
  return {
    tasks: applyLimit(tasks, options.limit),
    split,
    sha256: { [specOf(from).name]: sourceFile.sha256, [specOf(to).name]: targetFile.sha256 },
    source: targetFile.path,
  };
}

/** The lines of a parallel file; a blank line is an error naming file and line. */
export function parallelLines(text: string, path: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, i) => {
    const trimmed = line.replace(/\r$/, "");
    if (trimmed.trim() === "") {
      throw new SyntaxError(
        `Cannot read "${path}" line ${
          i + 1
        } as it must hold one method: current line is blank: fix or remove that line in both parallel files`,
      );
    }
    return trimmed;
  });
}

/** The task of one parallel line: `codexglue-translation/<direction>/<split>/<line>`. */
export function codexglueTask(
  split: string,
  line: number,
  source: string,
  target: string,
  from: TranslationLanguage,
  to: TranslationLanguage,
): Task {
  const wrapping = compileWrapping(to, "function", target);
  return {
    id: `codexglue-translation/${split}/${line}`,
    language: to,
    prompt: translationPrompt(source, from, to, "function"),
    reference: target,
    check: { kind: "compile", prefix: wrapping.prefix, suffix: wrapping.suffix },
    meta: { split, source: from, target: to },
  };
}
