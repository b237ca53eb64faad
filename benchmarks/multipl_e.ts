/**
 * MultiPL-E (Cassano et al., IEEE TSE 2023): HumanEval and MBPP translated, prompt and tests, into
 * other languages; here C++, C#, Go, Java, JavaScript, PHP, Rust and TypeScript, from the
 * "reworded" files that SandboxFusion publishes (`humaneval-<lang>.jsonl`, `mbpp-<lang>.jsonl`).
 *
 * The model continues the prompt (a signature and a docstring comment); the program is prompt +
 * completion cut at the task's stop tokens (MultiPL-E's protocol; the tokens differ by language,
 * so they are the task's own), then a newline and the file's `tests`, run once in `test` mode.
 * A sample passes as MultiPL-E's evaluation containers pass it (`evaluation/src/eval_<lang>.py`):
 * the program builds, runs within the limits and exits 0; for Go no `FAIL` in the test output,
 * for C# no failed `Debug.Assert` or unhandled exception on stderr. Where the sandbox's language
 * row runs programs differently from those containers, the program is adapted, as data in
 * {@linkcode MULTIPLE_LANGUAGES}, and never in a way that can turn a failure into a pass.
 *
 * Splits: `humaneval` and `mbpp` (all eight languages: per-language pass@k in one report), or one
 * language, `humaneval-cpp`, `mbpp-rs`, ... with MultiPL-E's language keys. The files have no
 * reference solutions (their `gpt_solution` is one model's answer), so `--model reference` has
 * nothing to run.
 *
 * MultiPL-E's license forbids using its contents as training data: the benchmark is marked
 * `trainable: { allowed: false }`.
 *
 * @module
 */

import { resolveDatasetFile } from "./_dataset.ts";
import { applyLimit, FieldReader, parseJsonlRecords, readDatasetText } from "./_records.ts";
import { javatuplesSource, javatuplesUsed } from "./_javatuples.ts";
import type { Execution, Language, Task } from "../src/types.ts";
import type { Benchmark, DatasetFile, DatasetSpec, LoadedTasks, LoadOptions } from "./benchmark.ts";
import type { ExecuteRequest } from "../sandbox/types.ts";

/** How one MultiPL-E language runs in the sandbox. */
interface MultiplELanguage {
  /** The sandbox's language row. */
  readonly language: Language;
  /** The records' `language` field. */
  readonly fileLanguage: string;
  /** The program the sandbox's row runs for MultiPL-E's program (`tests` its end), where they differ. */
  readonly adapt?: (program: string, tests: string) => string;
  /** Output by which the language's evaluation container fails a run that exited 0. */
  readonly failsOn?: { readonly stdout?: RegExp; readonly stderr?: RegExp };
}

/**
 * The eight languages, by MultiPL-E's key, and what each needs beyond the sandbox's row:
 *
 * - `cs`: MultiPL-E compiles with `/d:DEBUG` and runs mono with `MONO_TRACE_LISTENER=Console.Error`,
 *   failing a run whose stderr shows a failed `Debug.Assert` (mono exits 0 after one). The row
 *   compiles without DEBUG and sets no listener, so the program gets a `Debug` class of its own,
 *   which C# finds before `System.Diagnostics.Debug`, whose `Assert` throws.
 * - `go`: MultiPL-E runs `go test` on a `_test.go` file; the row builds and runs `package main`.
 *   The package becomes `main`, with a `main` that runs every `TestXxx` through `testing.Main`
 *   (kept for tools that run tests without `go test`): the same tests, output and exit status.
 *   A `main` of the program's own, which `go test` never runs, is renamed out of the way.
 * - `java`: MultiPL-E runs `java -ea Problem` with javatuples on the class path; the row runs
 *   `Main` from one file without `-ea`. A `Main` is appended that enables assertions (as `-ea`
 *   does) and calls `Problem.main`, and the javatuples classes the program names replace the
 *   import (see `_javatuples.ts`).
 * - `ts`: MultiPL-E compiles with `tsc` and runs node, whose `require` the tests call; the row runs
 *   Deno, which has no `require` in a module, so one line first makes node's.
 * - `php`: a program whose code ends after a closing `?>` would print its tests as text and pass;
 *   the tests are put back in PHP (see `phpTestsInCode`).
 */
export const MULTIPLE_LANGUAGES = {
  cpp: { language: "cpp", fileLanguage: "cpp" },
  cs: {
    language: "csharp",
    fileLanguage: "cs",
    adapt: (program) => `${program}\n${CSHARP_DEBUG}`,
    failsOn: { stderr: /System\.Diagnostics\.DefaultTraceListener\.Fail|Unhandled Exception/ },
  },
  go: { language: "go", fileLanguage: "go_test.go", adapt: goMain, failsOn: { stdout: /FAIL/ } },
  java: { language: "java", fileLanguage: "java", adapt: javaMain },
  js: { language: "javascript", fileLanguage: "js" },
  php: { language: "php", fileLanguage: "php", adapt: phpTestsInCode },
  rs: { language: "rust", fileLanguage: "rs" },
  ts: {
    language: "typescript",
    fileLanguage: "ts",
    adapt: (program) => `${TYPESCRIPT_REQUIRE}${program}`,
  },
} as const satisfies Record<string, MultiplELanguage>;

/** A MultiPL-E language key this benchmark runs. */
export type MultiplEKey = keyof typeof MULTIPLE_LANGUAGES;
const KEYS = Object.keys(MULTIPLE_LANGUAGES) as MultiplEKey[];
const SOURCES = ["humaneval", "mbpp"] as const;
type Source = (typeof SOURCES)[number];

const CSHARP_DEBUG =
  `// ppocoder: a failed Debug.Assert fails the run (MultiPL-E: /d:DEBUG and a trace listener).
static class Debug {
    public static void Assert(bool condition) { if (!condition) throw new System.Exception("Debug.Assert failed"); }
    public static void Assert(bool condition, string message) { if (!condition) throw new System.Exception("Debug.Assert failed: " + message); }
    public static void Assert(bool condition, string message, string detail) { if (!condition) throw new System.Exception("Debug.Assert failed: " + message + " " + detail); }
    public static void Fail(string message) { throw new System.Exception("Debug.Fail: " + message); }
    public static void WriteLine(object value) { }
    public static void WriteLine(string format, params object[] args) { }
    public static void Write(object value) { }
    public static void Print(string format, params object[] args) { }
}
`;

const TYPESCRIPT_REQUIRE =
  'import { createRequire as __ppocoderRequire } from "node:module"; (globalThis as any).require = __ppocoderRequire(import.meta.url);\n';

/** Go: `package main` and a `main` that runs the file's tests as `go test` would. */
function goMain(program: string): string {
  const tests = [...program.matchAll(/^func\s+(Test\w*)\s*\(\s*\w+\s+\*testing\.T\s*\)/gm)]
    .map((m) => m[1]!);
  const list = tests.map((name) => `{Name: ${JSON.stringify(name)}, F: ${name}}`).join(", ");
  // go test never runs a test file's own main; in package main it would clash with ours.
  const body = program.replace(/^package\s+\w+/m, "package main")
    .replace(/^func\s+main\s*\(\s*\)/gm, "func ppocoderUnusedMain()");
  return `${body}
// ppocoder: run the tests as go test does (MultiPL-E runs this file with go test).
func main() {
	testing.Main(func(pattern, name string) (bool, error) { return true, nil }, []testing.InternalTest{${list}}, nil, nil)
}
`;
}

/**
 * PHP: tests that run. A program whose code ends outside PHP (after a closing `?>`, as chat
 * answers often do) would print the tests as text and exit 0; MultiPL-E's completions never end
 * so (its stop token `\n?>` cuts them first). A closing tag followed by nothing is dropped, and
 * after one followed by text the tests are opened with `<?php`.
 */
function phpTestsInCode(program: string, tests: string): string {
  const code = program.slice(0, program.length - tests.length);
  const close = code.lastIndexOf("?>");
  if (close < 0 || close < code.lastIndexOf("<?php")) return program;
  const after = code.slice(close + 2);
  return after.trim() === "" ? `${code.slice(0, close)}${after}${tests}` : `${code}<?php\n${tests}`;
}

/** Java: javatuples in the file, and a `Main` that runs `Problem` with assertions on. */
function javaMain(program: string): string {
  const body = program.replace(/^[ \t]*import\s+org\.javatuples\.[\w.*]+\s*;[ \t]*$/gm, "");
  return `${body}
// ppocoder: java -ea Problem, as MultiPL-E runs it.
public class Main {
    public static void main(String[] args) throws Throwable {
        ClassLoader.getSystemClassLoader().setDefaultAssertionStatus(true);
        Problem.main(args);
    }
}
${javatuplesSource(javatuplesUsed(body))}`;
}

const SANDBOX_FUSION =
  "https://raw.githubusercontent.com/bytedance/SandboxFusion/469de0845cb7d665bc68044d541aa3aa28c5b30a/sandbox/tests/datasets/samples/Multi-PLE";

const SHA256: Readonly<Record<`${Source}-${MultiplEKey}`, string>> = {
  "humaneval-cpp": "a1a0796d028d53cd385cb295e906f57b721181a6152ebbec9fa4efaae126c82c",
  "humaneval-cs": "396274e55ea86aea17336068e2b9ea8805c0cc16e795a6b4b894fc1707af24d7",
  "humaneval-go": "3e8889bdb4d566185c1a5e0489626c68eb288d4fbeaf9bc9c6abab1fae56674f",
  "humaneval-java": "6250789eb51e9f9463f750d3a228e13657cde5ca2a5fd2af0189161624a72482",
  "humaneval-js": "5faa6c748fef5834526292b176ac6097b8feddc10002006fd49f12e4d193746f",
  "humaneval-php": "5e974c19d5c6285f3c8adb880c5bffc08af30bf3e148d6a2069d8ae340c39172",
  "humaneval-rs": "7886c7646cfa0561cb7230befe945a514a4e9c182a8cff561d0ea4c7bb3b59da",
  "humaneval-ts": "02b891d976ec6496de73781d6c65742a027f77537b808d74173c4411731dc127",
  "mbpp-cpp": "622a2eb6493dc0c78396553cb1575c390f1564f5027963f0322a921167f649d4",
  "mbpp-cs": "8492366020e50f73ef5805dff2d41630053f6f0968c95837e63e4574ac1ada86",
  "mbpp-go": "3a6ab4437a2ead5fb5f925bc1ead81c0fae2fa8eced45026448fec92bb9e0a17",
  "mbpp-java": "d3c96f91cde77df5a905627c96fd335b4f6d0a86404b4a91552ab69b496d4f1a",
  "mbpp-js": "14d8c6c946ab9d04621c0c1bf47ac669bb90fae5807b4a6adc8c886182fa09d1",
  "mbpp-php": "55fecac3542f036085601cde50958db3eaa047acb875a8f2b6d703afff877bbe",
  "mbpp-rs": "269147f9c323e12ea287409f606f48a600d5b477d1c625f7625d544c16b145d3",
  "mbpp-ts": "be4cc88629a6af686d61ab26e88cf35c16b6d7dcfcf3cf54315aa1eb575b8d8d",
};

const FILES: readonly DatasetFile[] = SOURCES.flatMap((source) =>
  KEYS.map((key) => ({
    name: `${source}-${key}.jsonl`,
    sha256: SHA256[`${source}-${key}`],
    url: `${SANDBOX_FUSION}/${source}-${key}.jsonl`,
  }))
);

const DATASET = {
  name: "multipl-e",
  version: "MultiPL-E reworded, as bytedance/SandboxFusion@469de084 publishes it",
  files: FILES,
} as const satisfies DatasetSpec;

/** Every split name, the default (all languages of HumanEval) first. */
export const MULTIPLE_SPLITS: readonly string[] = [
  ...SOURCES,
  ...SOURCES.flatMap((source) => KEYS.map((key) => `${source}-${key}`)),
];

/** MultiPL-E as a {@linkcode Benchmark}. */
export const multiplE: Benchmark = {
  name: "multipl-e",
  description:
    "MultiPL-E (Cassano et al., 2023): HumanEval and MBPP in C++, C#, Go, Java, JavaScript, PHP, Rust and TypeScript, judged as its evaluation containers judge",
  trainable: {
    allowed: false,
    reason:
      'MultiPL-E\'s license (BSD 3-Clause with Machine Learning Restriction), clause 4: "The contents of this repository may not be used as training data for any machine learning model, including but not limited to neural networks."',
  },
  metric: "pass@1",
  dataset: DATASET,
  splits: MULTIPLE_SPLITS,
  promptTemplate: "multipl-e-reworded-v1",
  completesPrompt: true,
  load: loadMultiplE,
  prompt: (task: Task) => task.prompt,
  request: multiplERequest,
  judge: multiplEJudge,
};

/** Parses a split name into its source and languages; unknown languages are named. */
export function parseMultiplESplit(split: string): { source: Source; keys: MultiplEKey[] } {
  const m = /^(humaneval|mbpp)(?:-(\w+))?$/.exec(split);
  if (m === null) {
    throw new RangeError(
      `Cannot load MultiPL-E split "${split}" as it must be humaneval, mbpp, or one of them with a language: humaneval-cpp, mbpp-rs, ...`,
    );
  }
  const key = m[2];
  if (key !== undefined && !(KEYS as string[]).includes(key)) {
    throw new RangeError(
      `Cannot load MultiPL-E split "${split}" as the sandbox has no language for MultiPL-E's "${key}": use one of ${
        KEYS.join(", ")
      }`,
    );
  }
  return { source: m[1] as Source, keys: key === undefined ? KEYS : [key as MultiplEKey] };
}

async function loadMultiplE(options: LoadOptions = {}): Promise<LoadedTasks> {
  const split = options.split ?? MULTIPLE_SPLITS[0]!;
  const { source, keys } = parseMultiplESplit(split);
  const tasks: Task[] = [];
  const sha256: Record<string, string> = {};
  let where = "";
  for (const key of keys) {
    const file = FILES.find((f) => f.name === `${source}-${key}.jsonl`)!;
    const resolved = await resolveDatasetFile(DATASET, file, options);
    sha256[file.name] = resolved.sha256;
    where ||= resolved.path;
    const text = await readDatasetText(resolved.path);
    tasks.push(...parseMultiplE(text, resolved.path, key).map((p) => multiplETask(p, source, key)));
  }
  return { tasks: applyLimit(tasks, options.limit), split, sha256, source: where };
}

/** One MultiPL-E record, as the file gives it. */
export interface MultiplEProblem {
  readonly name: string;
  readonly prompt: string;
  readonly tests: string;
  readonly stopTokens: readonly string[];
}

/** Parses one file; a record in another language than `key`'s is refused with its name. */
export function parseMultiplE(text: string, path: string, key: MultiplEKey): MultiplEProblem[] {
  const expected = MULTIPLE_LANGUAGES[key].fileLanguage;
  return parseJsonlRecords(text, path, "MultiPL-E problem").map(({ line, value }) => {
    const fields = new FieldReader(value, `MultiPL-E problem at "${path}" line ${line}`);
    const language = fields.string("language");
    if (language !== expected) {
      const known = Object.values(MULTIPLE_LANGUAGES).map((l) => l.fileLanguage).join(", ");
      fields.fail(
        `its language "${language}" is not this file's "${expected}"${
          Object.values(MULTIPLE_LANGUAGES).some((l) => l.fileLanguage === language)
            ? ""
            : ` and the sandbox has no language for it (it runs ${known})`
        }`,
      );
    }
    return {
      name: fields.string("name"),
      prompt: fields.string("prompt"),
      tests: fields.string("tests"),
      stopTokens: fields.stringList("stop_tokens"),
    };
  });
}

/** The task of one record: `multipl-e/humaneval-cpp/HumanEval_0_has_close_elements`. */
export function multiplETask(problem: MultiplEProblem, source: Source, key: MultiplEKey): Task {
  return {
    id: `multipl-e/${source}-${key}/${problem.name}`,
    language: MULTIPLE_LANGUAGES[key].language,
    prompt: problem.prompt,
    reference: "",
    stop: problem.stopTokens,
    check: { kind: "program", harness: problem.tests },
    meta: { split: `${source}-${key}`, source, multipleLanguage: key },
  };
}

function keyOf(task: Task): MultiplEKey {
  const key = task.meta.multipleLanguage;
  if (typeof key !== "string" || !(KEYS as string[]).includes(key)) {
    throw new TypeError(`Cannot judge task "${task.id}" as it is not a MultiPL-E task`);
  }
  return key as MultiplEKey;
}

/** MultiPL-E's program (code + newline + tests), adapted to the sandbox's row. */
export function multiplERequest(task: Task, code: string): ExecuteRequest {
  if (task.check.kind !== "program") {
    throw new TypeError(`Cannot judge task "${task.id}" as it is not a MultiPL-E task`);
  }
  const spec: MultiplELanguage = MULTIPLE_LANGUAGES[keyOf(task)];
  const program = `${code}\n${task.check.harness}`;
  const tests = `\n${task.check.harness}`;
  return {
    language: spec.language,
    mode: "test",
    code: spec.adapt?.(program, tests) ?? program,
  };
}

/** The sandbox's verdict, failed where the language's container looks at the output. */
export function multiplEJudge(task: Task, execution: Execution): Execution {
  if (execution.status !== "passed") return execution;
  const spec: MultiplELanguage = MULTIPLE_LANGUAGES[keyOf(task)];
  const failsOn = spec.failsOn;
  const failed = (failsOn?.stdout?.test(execution.stdout) ?? false) ||
    (failsOn?.stderr?.test(execution.stderr) ?? false);
  return failed ? { ...execution, status: "failed", casesPassed: 0 } : execution;
}
