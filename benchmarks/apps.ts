/**
 * APPS (Hendrycks et al., 2021): 10,000 Python problems from Codeforces, AtCoder, Kattis,
 * LeetCode, Codewars and others, in three difficulties (introductory, interview, competition),
 * judged by hidden test cases. Standard-input problems read stdin and print; call-based problems
 * (those with `fn_name`) define a function that is called with each case's arguments.
 *
 * Everything APPS-specific lives here: the prompt of the APPS paper, the import header the
 * reference checker puts before every program, the call-based harness, the reference checker's
 * output comparison (whitespace, line and float leniency, written out in
 * {@linkcode appsStdoutMatches}), its 4-second per-case limit, and the paper's metrics (strict
 * accuracy and test-case average, also per difficulty).
 *
 * Splits: `test` and `train` are the full APPS splits, read from a copy you provide (the
 * original folder layout of `APPS.tar.gz`, or the `codeparrot/apps` JSONL export);
 * `coderl-train` is 5 train problems in the original layout and `mapcoder-150` is MapCoder's
 * 150-record JSONL subset, both pinned by sha256 and downloadable. Filter with
 * `difficulty=introductory,interview,competition` or `kind=call|stdio`.
 *
 * Which checker each split follows (`meta.checker`): `test`, `train` and `coderl-train` follow
 * the APPS reference checker (`eval/testing_util.py`: call-based problems called, standard-input
 * problems compared by {@linkcode appsStdoutMatches}, whose last steps ignore line order);
 * `mapcoder-150` follows MapCoder's own judge (ExecEval: every problem read from stdin, outputs
 * compared line by line or token by token, see `_mapcoder.ts`), since its published numbers were
 * measured that way. A MapCoder-format file given with `--data` under another split name is
 * judged by the APPS checker.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { DatasetError, defaultCacheDir, resolveDatasetFile } from "./_dataset.ts";
import {
  type AppsCase,
  type AppsProblem,
  holdsProblemFolders,
  isDirectory,
  isFile,
  readAppsJsonl,
  readOriginalLayout,
  readProblemFolder,
  treeDigest,
} from "./_apps_data.ts";
import { applyLimit } from "./_records.ts";
import {
  decodePyValue,
  fromJson,
  intKeys,
  parseJsonExact,
  PY_ENCODE,
  pyEquals,
  type PyValue,
} from "./_py_value.ts";
import {
  execEvalRefusal,
  mapcoderCase,
  mapcoderJudge,
  mapcoderPrompt,
  mapcoderRequest,
} from "./_mapcoder.ts";
import { sha256File } from "../src/util/hash.ts";
import type { CaseResult, Execution, ExecutionStatus, Task } from "../src/types.ts";
import type {
  Benchmark,
  BenchmarkSummary,
  DatasetFile,
  DatasetSpec,
  JudgedTask,
  LoadedTasks,
  LoadOptions,
} from "./benchmark.ts";
import type { ExecuteRequest, Limits } from "../sandbox/types.ts";

export type { AppsCase, AppsProblem } from "./_apps_data.ts";

const CODERL = "salesforce/CodeRL/ec3c526a07e44f56f702f354cbad11187bdf25cc/data/APPS/train";
const MAPCODER =
  "Md-Ashraful-Pramanik/MapCoder/0027da71030b441cca2bc6f95def86b9aa5c7dea/data/APPS/selected150.jsonl";

function coderl(path: string, sha256: string): DatasetFile {
  return {
    name: `coderl-train-original-layout/${path}`,
    sha256,
    url: `https://raw.githubusercontent.com/${CODERL}/${path}`,
  };
}

const DATASET = {
  name: "apps",
  version: "hendrycks/apps v1 (APPS.tar.gz); pinned subsets CodeRL@ec3c526a, MapCoder@0027da71",
  files: [
    coderl(
      "0001/input_output.json",
      "0e3a86b59ba988528dce844bc9b788bca46831cbb8db829955a9aefc1316136c",
    ),
    coderl(
      "0001/metadata.json",
      "b3d30d43bd662df15ba7abb99eeeebbbf3cf789cf936f6dd6dd6b1d1acc0ec85",
    ),
    coderl("0001/question.txt", "982c11daf7cca9af4f5b833ac111dfca90d9ea33c6a9c91b9ac9dc684426e81b"),
    coderl(
      "0001/solutions.json",
      "7d830a3532f700086a6021e7e862e14bdde97a21b5657015b20edc2d5c6626c9",
    ),
    coderl(
      "0111/input_output.json",
      "31430c5ec6a3afcc895ef10cd5899e868d8a9ce30716006dd15d5fbe3a438b34",
    ),
    coderl(
      "0111/metadata.json",
      "23d8502e46f48ea13ee69e538112eeb5f10c327791afadd827fdc3b5648c4f8e",
    ),
    coderl("0111/question.txt", "c37ef6f1449ac4f1994ac814856f5a12cedf41acc18c99c391ff95176d6f65d4"),
    coderl(
      "0111/solutions.json",
      "00a456ff8bfd742ec3a56e11a92dacf8ce6905e4c3cf149d63ef70b14c603f50",
    ),
    coderl(
      "2287/input_output.json",
      "8923e4830fa9bba1ad862b829bb737d2736cf354cfea91e25d43679d5473eb54",
    ),
    coderl(
      "2287/metadata.json",
      "9bb0936d8f20dadcd9da45f9e9a63cdddd56f03e06e6c6ac91b5e1b712f05422",
    ),
    coderl("2287/question.txt", "56e29cc41d027f055941970a6d68980e610f3124bd452e3cf388e921dc036270"),
    coderl(
      "2287/solutions.json",
      "d242c6db0ef22918b8841810b316233549e239019fc6b03ea65625d97d059850",
    ),
    coderl(
      "2404/input_output.json",
      "7f49e0271e9c4441eadd3272c3dc1b0365d7b9dd50c626dd12e92e8ed5e3d3ad",
    ),
    coderl(
      "2404/metadata.json",
      "924fec85ef885d9da6abba23f293fdae795d5fccbc58d254bb62e4df1b5add5f",
    ),
    coderl("2404/question.txt", "492cba226ad694e775aa657e05fcd4e6ff3d10ef74d3afc0523de54fe54be845"),
    coderl(
      "2404/solutions.json",
      "7e598f9ff1d12c0a7a02869285050773c03ddcb39cb22697b00f2db15fffafa7",
    ),
    coderl(
      "2404/starter_code.py",
      "37a03cc2bb62de5b525c56ca5864dd815be70941840f582cdc05094f684b5d35",
    ),
    coderl(
      "4184/input_output.json",
      "b7df895b099b4a7ebf1b9b5287b3db65f184d94a7d2ff1c0c406c08b1b920c74",
    ),
    coderl(
      "4184/metadata.json",
      "ea732d310590c58af460295c83ded958244c04e31e740c0be089d7069ddbd7f1",
    ),
    coderl("4184/question.txt", "03bdfa6ae22dd129fa87647ca9dd7a436b60d296087fe53e1a0507a43c4482b2"),
    coderl(
      "4184/solutions.json",
      "a196c10a096e280b092879346f4099e9f1743e61f51bfaa5224615373b59f4d3",
    ),
    coderl(
      "4184/starter_code.py",
      "012d74af5f22d062b4f222a4507095e314d09e69c2ed339db0b29ad29ef34d46",
    ),
    {
      name: "mapcoder-selected150/selected150.jsonl",
      sha256: "0f27851c4f48842413a4afdd9aa94c295d5d639af95165e2810869903f219e80",
      url: `https://raw.githubusercontent.com/${MAPCODER}`,
    },
  ],
} as const satisfies DatasetSpec;

/** Splits, the default first; the last two are the pinned subsets. */
export const APPS_SPLITS = ["test", "train", "coderl-train", "mapcoder-150"] as const;

/** Where the full APPS comes from, for the error when no copy is found. */
const APPS_SOURCE =
  "download APPS.tar.gz from https://people.eecs.berkeley.edu/~hendrycks/APPS.tar.gz and unpack it " +
  "(it holds train/ and test/ with one folder per problem), or save the Hugging Face codeparrot/apps " +
  "export as train.jsonl / test.jsonl";

/**
 * Per-case limits: the reference checker gives every test case 4 seconds (`timeout = 4`, a
 * wall-clock `signal.alarm`); CPU time gets the same budget.
 */
export const APPS_CASE_LIMITS: Partial<Limits> = { wallMs: 4000, cpuMs: 4000 };

/**
 * The imports the reference checker (`eval/testing_util.py`) puts before every solution, so
 * solutions may use `math`, `Counter`, `List`, `heappush`, ... without importing them. numpy is
 * imported only when it is installed (APPS requires it; a missing numpy must not fail every
 * program).
 */
export const APPS_HEADER = [
  "import sys",
  "import time",
  "import itertools",
  "from itertools import accumulate, product, permutations, combinations",
  "import collections",
  "from collections import Counter, OrderedDict, deque, defaultdict, ChainMap",
  "from functools import lru_cache",
  "import math",
  "from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2",
  "import fractions",
  "from typing import List, Tuple",
  "try:\n    import numpy as np\nexcept ImportError:\n    pass",
  "import random",
  "import heapq",
  "from heapq import *",
  "",
].join("\n");

/**
 * Marks the last stdout line of the call-based harness: the function's return value, encoded
 * (see `_py_value.ts`). The harness never sees the expected value: the comparison is made here,
 * outside the sandbox.
 */
export const APPS_OUTPUT = "@@apps-output@@";

/** APPS as a {@linkcode Benchmark}. */
export const apps: Benchmark = {
  name: "apps",
  description:
    "APPS (Hendrycks et al., 2021): Python programming problems in three difficulties, judged by test cases",
  metric: "pass@1",
  dataset: DATASET,
  splits: APPS_SPLITS,
  promptTemplate: "apps-hendrycks2021-v1",
  completesPrompt: false,
  groupBy: ["difficulty"],
  load: loadApps,
  /** The prompt of the APPS paper (`generate_gpt_codes.py`), built at load time. */
  prompt: (task: Task) => task.prompt,
  request: (task, code) =>
    task.meta.checker === "mapcoder" ? mapcoderRequest(task, code) : appsRequest(task, code),
  judge: (task, execution) =>
    task.meta.checker === "mapcoder" ? mapcoderJudge(task, execution) : appsJudge(task, execution),
  summarize: (judged) => Promise.resolve(appsSummary(judged)),
};

// ---------------------------------------------------------------------------------------------
// Loading

async function loadApps(options: LoadOptions = {}): Promise<LoadedTasks> {
  const split = options.split ?? "test";
  if (!(APPS_SPLITS as readonly string[]).includes(split)) {
    throw new RangeError(
      `Cannot load APPS split "${split}" as it is not a known split: use one of ${
        APPS_SPLITS.join(", ")
      }`,
    );
  }
  const found = split === "coderl-train"
    ? await loadCoderl(options)
    : split === "mapcoder-150"
    ? await loadMapcoder(options)
    : await loadFullSplit(split, options);
  const idSplit = split === "coderl-train"
    ? "train"
    : split === "mapcoder-150"
    ? "mapcoder"
    : split;
  const withTests = found.problems.filter((p) => p.cases.length > 0);
  if (withTests.length < found.problems.length) {
    options.log?.(
      `apps: left out ${found.problems.length - withTests.length} problems without test cases`,
    );
  }
  const tasks = withTests.map((p) => appsTask(p, idSplit, split));
  return {
    tasks: applyLimit(tasks, options.limit),
    split,
    sha256: found.sha256,
    source: found.source,
  };
}

interface Found {
  readonly problems: readonly AppsProblem[];
  readonly sha256: Record<string, string>;
  readonly source: string;
}

async function loadCoderl(options: LoadOptions): Promise<Found> {
  const sha256: Record<string, string> = {};
  const folders = new Map<string, string>();
  for (const file of DATASET.files.filter((f) => f.name.startsWith("coderl-train"))) {
    const resolved = await resolveDatasetFile(DATASET, file, options);
    sha256[file.name] = resolved.sha256;
    folders.set(file.name.split("/")[1]!, dirname(resolved.path));
  }
  const problems = await Promise.all(
    [...folders].sort().map(([id, folder]) => readProblemFolder(folder, id)),
  );
  return { problems, sha256, source: dirname([...folders.values()][0]!) };
}

async function loadMapcoder(options: LoadOptions): Promise<Found> {
  const file = DATASET.files.at(-1)!;
  const resolved = await resolveDatasetFile(DATASET, file, options);
  return {
    problems: await readAppsJsonl(resolved.path),
    sha256: { [file.name]: resolved.sha256 },
    source: resolved.path,
  };
}

/** `test` or `train`: not pinned (no canonical file to pin); found by the usual rules. */
async function loadFullSplit(split: string, options: LoadOptions): Promise<Found> {
  const places = fullSplitCandidates(split, options);
  const path = places.find((place) => isFile(place) || holdsProblemFolders(place));
  if (path === undefined) {
    throw new DatasetError(
      `Cannot find APPS split "${split}" as it is in none of: ${
        places.join(", ")
      }: ${APPS_SOURCE}, ` +
        `then pass --data with that folder or file (or put it at $PPOCODER_DATA/apps/${split}); ` +
        `the pinned subsets need no download: --split coderl-train or --split mapcoder-150`,
    );
  }
  if (isFile(path)) {
    return {
      problems: await readAppsJsonl(path),
      sha256: { [`${split}.jsonl`]: await sha256File(path) },
      source: path,
    };
  }
  const files = new Map<string, string>();
  const problems = await readOriginalLayout(path, files);
  return {
    problems,
    sha256: { [`${split}/`]: await treeDigest(path, files.keys()) },
    source: path,
  };
}

function fullSplitCandidates(split: string, options: LoadOptions): string[] {
  const env = (name: string) => Deno.env.get(name);
  const under = (root: string) => [join(root, split), join(root, `${split}.jsonl`)];
  const places: string[] = [];
  if (options.data !== undefined) {
    const data = options.data;
    if (isFile(data)) places.push(data);
    if (isDirectory(data)) places.push(...under(data), ...under(join(data, "apps")), data);
  }
  const root = env("PPOCODER_DATA");
  if (root) places.push(...under(join(root, "apps")));
  places.push(...under(join(defaultCacheDir(env), "apps")));
  return places;
}

// ---------------------------------------------------------------------------------------------
// Tasks and prompts

/** The task of one problem: `apps/<split>/<id>`, gold code = the first solution. */
export function appsTask(problem: AppsProblem, idSplit: string, split: string): Task {
  if (split === "mapcoder-150") return mapcoderTask(problem, idSplit, split);
  const kind = problem.fnName === undefined ? "stdio" : "call";
  return {
    id: `apps/${idSplit}/${problem.problemId}`,
    language: "python",
    prompt: appsPrompt(problem),
    reference: problem.solutions[0] ?? "",
    ...(problem.fnName === undefined ? {} : { entryPoint: problem.fnName }),
    check: {
      kind: "stdio",
      cases: problem.cases.map((c) => kind === "call" ? callCase(c, problem) : stdioCase(c)),
    },
    meta: {
      split,
      difficulty: problem.difficulty,
      kind,
      url: problem.url,
      layout: problem.layout,
      solutions: problem.solutions.length,
      checker: "apps",
    },
  };
}

/** A task of the `mapcoder-150` protocol: standard input for every problem, MapCoder's prompt. */
function mapcoderTask(problem: AppsProblem, idSplit: string, split: string): Task {
  const refusal = execEvalRefusal(problem);
  return {
    id: `apps/${idSplit}/${problem.problemId}`,
    language: "python",
    prompt: mapcoderPrompt(problem),
    reference: problem.solutions[0] ?? "",
    check: { kind: "stdio", cases: problem.cases.map((c) => mapcoderCase(c.input, c.output)) },
    meta: {
      split,
      difficulty: problem.difficulty,
      kind: "stdio",
      url: problem.url,
      layout: problem.layout,
      solutions: problem.solutions.length,
      checker: "mapcoder",
      ...(refusal === undefined ? {} : { execEvalRefusal: refusal }),
    },
  };
}

/**
 * The prompt of the APPS paper (`eval/generate_gpt_codes.py`): the question, the starter code
 * when there is one, the format to use, then `ANSWER:`.
 */
export function appsPrompt(
  problem: Pick<AppsProblem, "question" | "starterCode" | "fnName">,
): string {
  const starter = problem.starterCode === "" ? "" : `\n${problem.starterCode}`;
  const format = problem.fnName === undefined ? "Standard Input" : "Call-Based";
  return `\nQUESTION:\n${problem.question}${starter}\nUse ${format} format\nANSWER:\n`;
}

/**
 * A standard-input case: the reference checker joins list inputs and list outputs with "\n"
 * before running and comparing.
 */
function stdioCase(c: AppsCase): { stdin: string; stdout: string } {
  const text = (value: unknown) =>
    Array.isArray(value)
      ? value.map(String).join("\n")
      : typeof value === "string"
      ? value
      : String(value);
  return { stdin: text(c.input), stdout: text(c.output) };
}

/**
 * A call-based case: the harness reads the arguments from stdin (`{"args": [...]}` or MapCoder's
 * `{"lines": "..."}`, JSON on one line); the expected value (JSON) stays with the judge, so that
 * no program can read it.
 */
function callCase(c: AppsCase, problem: AppsProblem): { stdin: string; stdout: string } {
  const args = problem.argsEncoding === "lines" ? { lines: String(c.input) } : { args: c.input };
  return { stdin: JSON.stringify(args), stdout: JSON.stringify(c.output) };
}

// ---------------------------------------------------------------------------------------------
// Programs

/**
 * The program for `code`: the APPS import header, then the code (standard-input problems: wrapped
 * the way the reference checker wraps it, see {@linkcode appsStdinProgram}; call-based problems:
 * as it is, followed by the harness); run once per test case with that case's stdin, under
 * {@linkcode APPS_CASE_LIMITS}.
 */
export function appsRequest(task: Task, code: string): ExecuteRequest {
  const check = task.check;
  if (check.kind !== "stdio") throw new TypeError(`Task "${task.id}" is not an APPS task`);
  const common = { language: "python", mode: "run", limits: APPS_CASE_LIMITS } as const;
  if (task.meta.kind !== "call") {
    return { ...common, code: appsStdinProgram(code), stdin: check.cases.map((c) => c.stdin) };
  }
  const hasSolutionClass = code.includes("class Solution");
  return {
    ...common,
    code: `${APPS_HEADER}${code}\n${callHarness(task.entryPoint ?? "", hasSolutionClass)}`,
    stdin: check.cases.map((c) => `${c.stdin}\n`),
  };
}

/**
 * A standard-input program as the reference checker runs it: every line that does not start
 * with "from " or "import " is indented one tab into `def code():`, which is preceded by
 * `stdin = sys.stdin` and `stdout = sys.stdout`, and the import lines that come after the first
 * indented line are indented too. The checker then calls `code()` and treats `SystemExit` as a
 * normal end, so a top-level `return`, `exit()` or `sys.exit(1)` ends the program and its output
 * is still compared. (Its side effects are kept too: variables of the program are locals of
 * `code()`, so a `global` statement in a nested function does not see them, and lines inside
 * multi-line strings get a tab.) A program with only import lines has no `code()` and, as in
 * the checker, counts as not compiling.
 */
export function appsStdinProgram(code: string): string {
  const isImport = (line: string) => line.startsWith("from ") || line.startsWith("import ");
  let body = "";
  let started = false;
  for (const line of code.split("\n")) {
    if (isImport(line)) {
      body += started ? `\t${line}\n` : `${line}\n`;
    } else {
      if (!started) body += "stdin = sys.stdin\nstdout = sys.stdout\ndef code():\n";
      started = true;
      body += `\t${line}\n`;
    }
  }
  const run = started
    ? "\ntry:\n    code()\nexcept SystemExit:\n    pass\n"
    : "\n# APPS: only imports, so no code() to call: a compile error in the reference checker too\n)\n";
  return `${APPS_HEADER}${body}${run}`;
}

/**
 * The call-based harness. It does, inside the sandbox, the part of the reference checker's work
 * for one case that needs the program: take `Solution().<fn_name>` when the code contains
 * "class Solution", else the module-level function; turn string dict keys of the arguments back
 * into ints where the checker does (JSON forces string keys); call it with the case's arguments
 * (an exception is a runtime error, as in the checker); turn a returned tuple into a list; and
 * print the result, encoded, as the last line of stdout. What the function prints is kept out of
 * that line. The comparison with the expected value is {@linkcode callOutputMatches}, outside.
 *
 * MapCoder's `lines` arguments are decoded one line per argument with `ast.literal_eval`, a line
 * that is not a Python literal staying a string; when the function takes one parameter and there
 * are several lines, the whole text is that one argument. (The encoding is lossy: a string
 * argument that looks like a number arrives as a number.)
 */
function callHarness(fnName: string, hasSolutionClass: boolean): string {
  return `
${PY_ENCODE}

def __apps_call_case():
    import ast as _ast, contextlib as _contextlib, inspect as _inspect, io as _io, json as _json
    _spec = _json.loads(sys.stdin.readline())
    _method = getattr(Solution(), ${JSON.stringify(fnName)}) if ${
    hasSolutionClass ? "True" : "False"
  } else globals()[${JSON.stringify(fnName)}]

    def _literal(text):
        try:
            return _ast.literal_eval(text)
        except Exception:
            return text

    if "lines" in _spec:
        _lines = _spec["lines"].split("\\n")
        try:
            _params = [p for p in _inspect.signature(_method).parameters.values()
                       if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            _params = None
        if _params is not None and len(_params) == 1 and len(_lines) > 1:
            _inputs = [_literal(_spec["lines"])]
        else:
            _inputs = [_literal(line) for line in _lines]
    else:
        _inputs = _spec["args"]
    try:
        if isinstance(_inputs[0], dict):
            _inputs = [{int(k): v for k, v in _inputs[0].items()}]
    except Exception:
        pass
    with _contextlib.redirect_stdout(_io.StringIO()):
        _output = _method(*_inputs)
    if isinstance(_output, tuple):
        _output = list(_output)
    sys.stdout.write("\\n${APPS_OUTPUT} " + _py_encode(_output) + "\\n")


__apps_call_case()
`;
}

/**
 * Whether a call-based case's result matches, as the reference checker decides it: the expected
 * value's string dict keys become ints where they all convert (in the value itself, or in its
 * first element); then `output == expected`, or `output == expected[0]` when the expected value
 * is a non-empty list, or, when the output's first element is a tuple,
 * `[list(x) for x in output] == expected[0]`, all with Python's `==`
 * ({@linkcode pyEquals}).
 */
export function callOutputMatches(output: PyValue, expectedJson: string): boolean {
  let expected = fromJson(parseJsonExact(expectedJson));
  const keyed = intKeys(expected);
  if (keyed !== undefined) expected = [keyed];
  else if (Array.isArray(expected) && expected.length > 0) {
    const first = intKeys(expected[0]!);
    if (first !== undefined) expected = [first];
  }
  if (pyEquals(output, expected)) return true;
  if (!Array.isArray(expected) || expected.length === 0) return false;
  const first = expected[0]!;
  if (pyEquals(output, first)) return true;
  if (Array.isArray(output) && output.length > 0) {
    const head = output[0];
    if (head !== null && typeof head === "object" && "tuple" in head) {
      const lists = output.map((x) =>
        x !== null && typeof x === "object" && "tuple" in x ? [...x.tuple] : x
      );
      // [list(x) for x in output] raises on a non-iterable element: the checker moves on.
      if (lists.every((x) => Array.isArray(x))) return pyEquals(lists, first);
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Judging

/**
 * Turns the sandbox's per-case results into the sample's verdict: a case passes when the program
 * ran to completion and its output matches (standard input: {@linkcode appsStdoutMatches}; call
 * based: the harness's verdict line). `casesPassed` / `casesTotal` count cases; the sample passes
 * only when every case does (APPS "strict accuracy").
 */
export function appsJudge(task: Task, execution: Execution): Execution {
  const check = task.check;
  if (check.kind !== "stdio") throw new TypeError(`Task "${task.id}" is not an APPS task`);
  const casesTotal = check.cases.length;
  if (!execution.compiled || execution.cases === undefined) {
    return {
      ...execution,
      casesPassed: 0,
      casesTotal,
      status: execution.status === "passed" ? "failed" : execution.status,
    };
  }
  const verdicts = check.cases.map((c, i) => caseVerdict(task, c.stdout, execution.cases![i]));
  const casesPassed = verdicts.filter((v) => v === "passed").length;
  const firstError = verdicts.find((v) => v !== "passed" && v !== "failed");
  const status: ExecutionStatus = casesPassed === casesTotal ? "passed" : firstError ?? "failed";
  return { ...execution, casesPassed, casesTotal, status };
}

function caseVerdict(
  task: Task,
  expected: string,
  result: CaseResult | undefined,
): ExecutionStatus {
  if (result === undefined) return "failed";
  const ran = result.exitCode === 0 && (result.status === "passed" || result.status === "failed");
  if (!ran) return result.status === "passed" ? "runtime_error" : result.status;
  if (task.meta.kind === "call") {
    const last = result.stdout.trimEnd().split("\n").at(-1) ?? "";
    if (!last.startsWith(`${APPS_OUTPUT} `)) return "failed";
    let output: PyValue;
    try {
      output = decodePyValue(last.slice(APPS_OUTPUT.length + 1));
    } catch {
      return "failed";
    }
    return callOutputMatches(output, expected) ? "passed" : "failed";
  }
  return appsStdoutMatches(result.stdout, expected) ? "passed" : "failed";
}

// ---------------------------------------------------------------------------------------------
// The reference checker's comparison of standard output, step by step

/**
 * Whether a program's stdout matches the expected output the way the APPS reference checker
 * (`eval/testing_util.py`, `run_test`, standard-input branch) decides it. The checker captures
 * stdout as `output = stdout.splitlines()` and tries, in order, stopping at the first success:
 *
 * 1. `custom_compare_`: the lines joined with "\n", then stripped, equal the stripped expected
 *    text; or the same with every line stripped first.
 * 2. `output == [expected]`: exactly one line, equal to the expected text.
 * 3. The expected text split on "\n", empty pieces dropped, each piece stripped; equal to the
 *    output lines.
 * 4. The same, with empty output lines dropped (not stripped).
 * 5. Floats: every output line and every expected line parses as a Python `float`, there are as
 *    many of each, and `np.allclose` holds (|a - b| <= 1e-8 + 1e-5 * |b|).
 * 6. (Output lines against expected token sets: only true when both are empty, caught above.)
 * 7. Token sets: each line split on whitespace into a set of tokens (output lines without tokens
 *    dropped); the set of those sets equals the expected one. So line order, token order within
 *    a line and repeated tokens or lines do not matter.
 * 8. The same with every token parsed as a float and rounded to 3 decimals (`round(float(t), 3)`);
 *    skipped when some token is not a number.
 *
 * Strings are stripped of Python whitespace (`str.isspace`), which is not JavaScript's `trim`.
 */
export function appsStdoutMatches(stdout: string, expected: string): boolean {
  const output = pySplitlines(stdout);
  // 1. custom_compare_
  if (pyStrip(output.join("\n")) === pyStrip(expected)) return true;
  if (pyStrip(output.map(pyStrip).join("\n")) === pyStrip(expected)) return true;
  // 2. output == [expected]
  if (output.length === 1 && output[0] === expected) return true;
  // 3. expected lines: split on "\n", drop empty, strip
  const expectedLines = expected.split("\n").filter((line) => line.length > 0).map(pyStrip);
  if (sameList(output, expectedLines)) return true;
  // 4. output with empty lines dropped
  const nonEmpty = output.filter((line) => line.length > 0);
  if (sameList(nonEmpty, expectedLines)) return true;
  // 5. floats, np.allclose
  if (floatsClose(nonEmpty, expectedLines)) return true;
  // 7. set of per-line token sets
  const outputSets = nonEmpty.map(pySplit).filter((tokens) => tokens.length > 0);
  const expectedSets = expectedLines.map(pySplit);
  if (sameSetOfSets(outputSets, expectedSets, (t) => t)) return true;
  // 8. the same with tokens as floats rounded to 3 decimals
  return sameSetOfSets(outputSets, expectedSets, (t) => {
    const value = pyFloat(t);
    return value === undefined ? undefined : pyRound3(value);
  });
}

/** Python whitespace (`str.isspace`). */
const PY_SPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");
const SPLIT = new RegExp(`[${PY_SPACE}]+`);
/** Line boundaries of Python's `str.splitlines`. */
// deno-lint-ignore no-control-regex -- Python counts \x1c-\x1e as line breaks
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** Python `str.strip()`. */
export function pyStrip(text: string): string {
  return text.replace(STRIP, "");
}

/** Python `str.split()` (no separator): runs of whitespace, no empty pieces. */
export function pySplit(text: string): string[] {
  return text.split(SPLIT).filter((piece) => piece.length > 0);
}

/** Python `str.splitlines()`: no trailing empty line, and no line at all for "". */
export function pySplitlines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(LINE_BREAK);
  if (new RegExp(`(?:${LINE_BREAK.source})$`).test(text)) lines.pop();
  return lines;
}

const FLOAT =
  /^[+-]?(?:(?:\d(?:_?\d)*)(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

/** Python `float(text)`, or `undefined` where Python raises `ValueError`. */
export function pyFloat(text: string): number | undefined {
  const t = pyStrip(text);
  if (SPECIAL.test(t)) {
    const negative = t.startsWith("-");
    if (/nan/i.test(t)) return NaN;
    return negative ? -Infinity : Infinity;
  }
  if (!FLOAT.test(t)) return undefined;
  return Number(t.replaceAll("_", ""));
}

/**
 * Python `round(x, 3)`: the nearest multiple of 0.001 to the exact binary value, ties (possible
 * only for x = odd / 16) to even, where JavaScript's `toFixed` rounds ties up.
 */
export function pyRound3(x: number): number {
  if (!Number.isFinite(x)) return x;
  const sixteenths = x * 16;
  if (Number.isInteger(sixteenths) && Math.abs(sixteenths) % 2 === 1 && Math.abs(x) < 2 ** 40) {
    const scaled = x * 1000; // exact: 62.5 * odd
    const floor = Math.floor(scaled);
    return (floor % 2 === 0 ? floor : floor + 1) / 1000;
  }
  return Number(x.toFixed(3));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function floatsClose(output: readonly string[], expected: readonly string[]): boolean {
  if (output.length !== expected.length) return false;
  const a = output.map(pyFloat);
  const b = expected.map(pyFloat);
  if (a.some((v) => v === undefined) || b.some((v) => v === undefined)) return false;
  return a.every((x, i) => allclose(x!, b[i]!));
}

/** numpy `isclose` with its defaults (rtol 1e-5, atol 1e-8, NaN never equal). */
function allclose(a: number, b: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= 1e-8 + 1e-5 * Math.abs(b);
}

/**
 * `set(frozenset(f(t) for t in s) for s in a) == set(frozenset(...) for s in b)`; `f` returns
 * `undefined` where Python would raise, which makes the comparison fail. NaN is never equal to
 * anything (distinct float objects), and 0.0 equals -0.0.
 */
function sameSetOfSets(
  a: readonly string[][],
  b: readonly string[][],
  f: (token: string) => string | number | undefined,
): boolean {
  const keyOf = (tokens: readonly string[]): string | undefined => {
    const items = new Set<string>();
    for (const token of tokens) {
      const value = f(token);
      if (value === undefined) return undefined;
      if (typeof value === "number" && Number.isNaN(value)) items.add(`nan:${crypto.randomUUID()}`);
      else items.add(typeof value === "number" ? `n:${value === 0 ? 0 : value}` : `s:${value}`);
    }
    return [...items].sort().join("\u0000");
  };
  const setOf = (lines: readonly string[][]): Set<string> | undefined => {
    const keys = new Set<string>();
    for (const line of lines) {
      const key = keyOf(line);
      if (key === undefined) return undefined;
      keys.add(key);
    }
    return keys;
  };
  const sa = setOf(a);
  const sb = setOf(b);
  if (sa === undefined || sb === undefined || sa.size !== sb.size) return false;
  return [...sa].every((key) => sb.has(key));
}

// ---------------------------------------------------------------------------------------------
// Metrics

/**
 * The APPS paper's metrics over judged tasks, overall and per difficulty:
 *
 * - `test_case_average`: the mean over problems of the fraction of test cases the first sample
 *   passes (a program that does not compile passes none), as `print_results` computes it;
 * - `strict_accuracy`: the fraction of problems whose first sample passes every test case;
 * - `test_case_average_best_of_n` and `strict_accuracy_best_of_n`: the same taking each problem's
 *   best sample (the paper's "Top-5" when n = 5).
 *
 * Keys per difficulty are `<metric>/<difficulty>`; per task, `test_case_fraction` of sample 0.
 */
export function appsSummary(judged: readonly JudgedTask[]): BenchmarkSummary {
  const rows = judged.filter((j) => j.results.length > 0).map((j) => {
    const fractions = j.results.map((r) => (r.casesTotal === 0 ? 0 : r.casesPassed / r.casesTotal));
    const strict = j.results.map((r) => r.status === "passed");
    return {
      id: j.task.id,
      difficulty: String(j.task.meta.difficulty ?? "unknown"),
      first: fractions[0]!,
      best: Math.max(...fractions),
      strictFirst: strict[0]! ? 1 : 0,
      strictAny: strict.some(Boolean) ? 1 : 0,
    };
  });
  const metrics: Record<string, number | null> = {};
  const add = (suffix: string, group: typeof rows) => {
    const mean = (f: (row: (typeof rows)[number]) => number) =>
      group.length === 0 ? null : group.reduce((sum, row) => sum + f(row), 0) / group.length;
    metrics[`test_case_average${suffix}`] = mean((r) => r.first);
    metrics[`strict_accuracy${suffix}`] = mean((r) => r.strictFirst);
    metrics[`test_case_average_best_of_n${suffix}`] = mean((r) => r.best);
    metrics[`strict_accuracy_best_of_n${suffix}`] = mean((r) => r.strictAny);
  };
  add("", rows);
  for (const [difficulty, group] of Map.groupBy(rows, (r) => r.difficulty)) {
    add(`/${difficulty}`, group);
  }
  const perTask = Object.fromEntries(rows.map((r) => [r.id, { test_case_fraction: r.first }]));
  return { metrics, perTask };
}
