/**
 * What HumanEval+ and MBPP+ (EvalPlus, Liu et al., NeurIPS 2023) share: the published JSONL, the
 * ground truth computed by running each canonical solution in the sandbox, and EvalPlus's check
 * of a sample, learned from evalplus@26d6d00 (`evaluate.py`, `eval/__init__.py`, `gen/util`,
 * `eval/_special_oracle.py`, `data/mbpp.py`) and written again in `_evalplus.py`:
 *
 * 1. **Ground truth** (`get_groundtruth`, `trusted_exec`): prompt + canonical solution, called on
 *    a deep copy of every base and plus input in turn, each call timed. Done once per dataset
 *    hash and machine by {@linkcode prepareEvalPlus} and cached on disk.
 * 2. **Time limits** (`untrusted_check`): per test max(4 s, 4 x the canonical solution's time);
 *    per program min(60 s, their sum) + 2 s, which the sandbox's wall and CPU limits enforce.
 * 3. **Check** (`unsafe_execute`, one program per suite as EvalPlus runs one process per suite):
 *    the sample's code executed with fresh globals under EvalPlus's reliability guard with its
 *    output swallowed, then each test in order under its time limit, compared as EvalPlus does
 *    (exact, the special oracles, `atol`, and `np.allclose` with rtol 1e-7 for floats, atol 1e-6
 *    where the dataset gives 0); the first failing test ends the program with an assertion.
 * 4. **Scores** (`evaluate`): base = the base tests pass; plus = base and plus tests pass. The
 *    report's pass@k is plus (the headline); `base_pass@k` and `plus_pass@k` are side by side.
 *
 * The verdict is the sandbox's: a program passes when it runs every test to the end and exits
 * cleanly. The line the harness writes before a failure names the suite, the test and the kind
 * of failure; it only refines a failure (wrong answer, exception, per-test timeout, syntax error)
 * and never makes one pass.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { defaultCacheDir, resolveDatasetFile } from "./_dataset.ts";
import { applyLimit, preview } from "./_records.ts";
import { meanPassAtK } from "../src/metrics/pass_at_k.ts";
import { parsesCleanly } from "../src/metrics/syntax_rate.ts";
import { writeFileAtomic } from "../src/util/atomic_write.ts";
import type { CaseResult, Execution, ExecutionStatus, Task } from "../src/types.ts";
import type {
  Benchmark,
  BenchmarkSummary,
  DatasetSpec,
  Execute,
  JudgedTask,
  LoadedTasks,
  LoadOptions,
} from "./benchmark.ts";
import type { ExecuteRequest, Executor } from "../sandbox/types.ts";

/** A special oracle of `_evalplus.py` (`eval/_special_oracle.py` and `unsafe_execute`). */
export type EvalPlusOracle =
  | "poly_root"
  | "always"
  | "zero_or_equal"
  | "surface_area"
  | "digit_distance"
  | "set_equal"
  | "not_none";

/** How MBPP+ turns JSON inputs back into tuples, sets and complex numbers (`_evalplus.py`). */
export type EvalPlusInputKind =
  | "tuple_args"
  | "tuple_items"
  | "first_tuple_items"
  | "second_tuple"
  | "sets"
  | "float_complex"
  | "first_tuple"
  | "tuple_items_tuple"
  | "mixed_tuple"
  | "first_tuple_rest"
  | "dict_tuples"
  | "complex"
  | "deep_tuple";

/** What one EvalPlus dataset adds to the shared code: its file, names and quirks (as data). */
export interface EvalPlusConfig {
  /** ppocoder's benchmark name, also the task id prefix (`humanevalplus/HumanEval/0`). */
  readonly name: string;
  /** EvalPlus's name of the dataset (`--dataset`, and the special oracles' scope). */
  readonly evalplus: "humaneval" | "mbpp";
  readonly description: string;
  readonly dataset: DatasetSpec;
  readonly promptTemplate: string;
  /** Special oracles by entry point, as EvalPlus keys them. */
  readonly oracles: Readonly<Record<string, EvalPlusOracle>>;
  /** Input conversions by task number (`mbpp_deserialize_inputs`). */
  readonly inputKinds: Readonly<Record<number, EvalPlusInputKind>>;
}

/** One problem of the published JSONL; inputs stay the file's own JSON text. */
export interface EvalPlusProblem {
  readonly taskId: string;
  readonly prompt: string;
  readonly entryPoint: string;
  readonly canonicalSolution: string;
  readonly atol: number;
  /** The `base_input` and `plus_input` arrays as the file writes them (Python's JSON). */
  readonly baseInput: string;
  readonly plusInput: string;
}

/** EvalPlus's default time limits (`evalplus/config.py`) and per-program cap. */
export const EVALPLUS_LIMITS = {
  minSeconds: 4,
  goldFactor: 4,
  perProgramCapSeconds: 60,
  /** `untrusted_check` waits its timeout + 1 s, and that timeout is the sum (capped) + 1 s. */
  graceSeconds: 2,
  /**
   * Memory of a check (EVALPLUS_MAX_MEMORY_BYTES, 4 GiB, which EvalPlus sets as RLIMIT_AS: the
   * sandbox counts memory in use, a looser bound on the same programs).
   */
  memoryMb: 4096,
} as const;

/** The stderr line `_evalplus.py` writes before it fails a test. */
const MARK = /^@@ppocoder-evalplus@@ (base|plus) (syntax|load|exception|wrong|timeout) (-?\d+)$/gm;

type Suite = "base" | "plus";
const SUITES: readonly Suite[] = ["base", "plus"];

/** The per-task data `_evalplus.py` reads (`TASK` there), held as JSON in `check.harness`. */
interface HarnessData {
  readonly dataset: "humaneval" | "mbpp";
  /** EvalPlus's dataset hash (md5 of the unpacked JSONL). */
  readonly hash: string;
  readonly task_id: string;
  readonly entry_point: string;
  readonly atol: number;
  readonly oracle: EvalPlusOracle | null;
  readonly inputs_kind: EvalPlusInputKind | null;
  readonly base: SuiteData;
  readonly plus: SuiteData;
}

interface SuiteData {
  readonly inputs: string;
  /** Pickled (protocol 4), base64: present once prepared. */
  readonly expected?: string;
  /** Digests of the expected outputs too large to travel (see `_evalplus.py`), by test index. */
  readonly digests?: Readonly<Record<string, readonly [string, string]>>;
  /** Per-test time limits in seconds: present once prepared. */
  readonly limits?: readonly number[];
}

/** The ground truth of one task: per suite, the expected outputs and the canonical time per test. */
interface GroundTruth {
  readonly base: SuiteTruth;
  readonly plus: SuiteTruth;
}

interface SuiteTruth {
  readonly expected: string;
  readonly digests: Readonly<Record<string, readonly [string, string]>>;
  readonly times: readonly number[];
}

/** Builds the {@linkcode Benchmark} of one EvalPlus dataset. */
export function evalPlusBenchmark(config: EvalPlusConfig): Benchmark {
  return {
    name: config.name,
    description: config.description,
    metric: "pass@1",
    dataset: config.dataset,
    splits: ["test"],
    promptTemplate: config.promptTemplate,
    completesPrompt: true,
    load: (options = {}) => loadEvalPlus(config, options),
    /** The problem's prompt as EvalPlus gives it to a base model: code to continue. */
    prompt: (task: Task) => task.prompt,
    request: (task, code) => evalPlusRequest(task, code, SUITES),
    judge: (_task, execution) => refineExecution(execution),
    prepare: (loaded, executor) => prepareEvalPlus(config, loaded, executor),
    evaluate: evaluateEvalPlus,
    summarize: (judged) => summarizeEvalPlus(config, judged),
  };
}

async function loadEvalPlus(config: EvalPlusConfig, options: LoadOptions): Promise<LoadedTasks> {
  const split = options.split ?? "test";
  if (split !== "test") {
    throw new RangeError(
      `Cannot load ${config.name} split "${split}" as it is not a known split: use test`,
    );
  }
  const file = config.dataset.files[0]!;
  const resolved = await resolveDatasetFile(config.dataset, file, options);
  const bytes = await gunzipIfNeeded(await Deno.readFile(resolved.path));
  const hash = createHash("md5").update(bytes).digest("hex");
  const problems = parseEvalPlus(new TextDecoder().decode(bytes), resolved.path);
  const tasks = problems.map((problem) => evalPlusTask(config, problem, hash));
  return {
    tasks: applyLimit(tasks, options.limit),
    split,
    sha256: { [file.name]: resolved.sha256, [`${unpackedName(file.name)}#md5`]: hash },
    source: resolved.path,
  };
}

/** The unpacked file's name (EvalPlus hashes `HumanEvalPlus-v0.1.10.jsonl`). */
function unpackedName(name: string): string {
  return name.replace(/\.gz$/, "");
}

async function gunzipIfNeeded(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Parses the published JSONL. Inputs are kept as the file's JSON text: MBPP+ writes `Infinity`
 * and integers beyond 2^53, which only Python's `json` reads as EvalPlus does.
 */
export function parseEvalPlus(text: string, path: string): EvalPlusProblem[] {
  const problems: EvalPlusProblem[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const where = `EvalPlus problem at "${path}" line ${i + 1}`;
    const fields = rawJsonFields(line, where);
    const string = (name: string): string => {
      const value = parseField(fields, name, where);
      if (typeof value !== "string") {
        fail(where, `field "${name}" must be a string: current value is ${preview(value)}`);
      }
      return value;
    };
    const array = (name: string): string => {
      const raw = fields.get(name);
      // Mbpp/793's plus_input is `{}`: no inputs, as EvalPlus iterates it.
      if (raw === "{}") return raw;
      if (raw === undefined || !raw.startsWith("[")) fail(where, `field "${name}" must be a list`);
      return raw;
    };
    const taskId = string("task_id");
    const atol = parseField(fields, "atol", where);
    if (typeof atol !== "number") {
      fail(where, `field "atol" must be a number: current value is ${preview(atol)}`);
    }
    problems.push({
      taskId,
      prompt: string("prompt"),
      entryPoint: string("entry_point"),
      canonicalSolution: string("canonical_solution"),
      atol,
      baseInput: array("base_input"),
      plusInput: array("plus_input"),
    });
  }
  return problems;
}

function parseField(fields: ReadonlyMap<string, string>, name: string, where: string): unknown {
  const raw = fields.get(name);
  if (raw === undefined) fail(where, `field "${name}" is missing`);
  try {
    return JSON.parse(raw);
  } catch {
    fail(where, `field "${name}" is not valid JSON`);
  }
}

function fail(where: string, message: string): never {
  throw new TypeError(`Cannot read ${where} as ${message}`);
}

/**
 * The raw JSON text of each top-level field of one JSON object (strings and brackets skipped
 * over), without parsing the values.
 */
export function rawJsonFields(line: string, where = "JSON object"): Map<string, string> {
  const fields = new Map<string, string>();
  let i = skipSpace(line, 0);
  if (line[i] !== "{") fail(where, "it must be a JSON object");
  i = skipSpace(line, i + 1);
  while (line[i] !== "}") {
    const keyEnd = stringEnd(line, i, where);
    const key = JSON.parse(line.slice(i, keyEnd)) as string;
    i = skipSpace(line, keyEnd);
    if (line[i] !== ":") fail(where, `a ":" must follow key "${key}"`);
    const start = skipSpace(line, i + 1);
    const end = valueEnd(line, start, where);
    fields.set(key, line.slice(start, end).trimEnd());
    i = skipSpace(line, end);
    if (line[i] === ",") i = skipSpace(line, i + 1);
    else if (line[i] !== "}") fail(where, `a "," or "}" must follow the value of "${key}"`);
  }
  return fields;
}

/** The raw JSON text of each element of a JSON array. */
export function rawJsonElements(array: string, where = "JSON array"): string[] {
  const elements: string[] = [];
  let i = skipSpace(array, 0);
  if (array[i] !== "[") fail(where, "it must be a JSON array");
  i = skipSpace(array, i + 1);
  while (i < array.length && array[i] !== "]") {
    const end = valueEnd(array, i, where);
    elements.push(array.slice(i, end).trimEnd());
    i = skipSpace(array, end);
    if (array[i] === ",") i = skipSpace(array, i + 1);
  }
  return elements;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  return i;
}

function stringEnd(text: string, i: number, where: string): number {
  if (text[i] !== '"') fail(where, `a string must start at character ${i + 1}`);
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j + 1;
  }
  fail(where, "a string is not closed");
}

/** The end of the value starting at `i`: a string, a bracketed value, or a bare word. */
function valueEnd(text: string, i: number, where: string): number {
  if (text[i] === '"') return stringEnd(text, i, where);
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j]!;
    if (c === '"') j = stringEnd(text, j, where) - 1;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") {
      if (depth === 0) return j;
      if (--depth === 0) return j + 1;
    } else if (c === "," && depth === 0) return j;
  }
  if (depth === 0) return text.length;
  fail(where, "a list or object is not closed");
}

/** The task of one problem; its harness data gets the expected outputs in `prepare`. */
export function evalPlusTask(config: EvalPlusConfig, problem: EvalPlusProblem, hash: string): Task {
  const number = Number(problem.taskId.split("/").at(-1));
  const data: HarnessData = {
    dataset: config.evalplus,
    hash,
    task_id: problem.taskId,
    entry_point: problem.entryPoint,
    atol: problem.atol,
    oracle: config.oracles[problem.entryPoint] ?? null,
    inputs_kind: config.inputKinds[number] ?? null,
    base: { inputs: problem.baseInput },
    plus: { inputs: problem.plusInput },
  };
  return {
    id: `${config.name}/${problem.taskId}`,
    language: "python",
    prompt: problem.prompt,
    reference: problem.prompt + problem.canonicalSolution,
    entryPoint: problem.entryPoint,
    check: { kind: "program", harness: JSON.stringify(data) },
    meta: { split: "test" },
  };
}

function harnessData(task: Task): HarnessData {
  if (task.check.kind !== "program") {
    throw new TypeError(`Cannot judge task "${task.id}" as it is not an EvalPlus task`);
  }
  return JSON.parse(task.check.harness) as HarnessData;
}

let driverText: string | undefined;

/** `_evalplus.py`, read once. */
function driver(): string {
  driverText ??= Deno.readTextFileSync(new URL("./_evalplus.py", import.meta.url));
  return driverText;
}

/** Python source of a string: JSON's string syntax is Python's too. */
function pyString(text: string): string {
  return JSON.stringify(text);
}

/** The program that checks `code` on `suites` (both: the headline verdict in one program). */
export function evalPlusRequest(
  task: Task,
  code: string,
  suites: readonly Suite[],
): ExecuteRequest {
  const data = harnessData(task);
  for (const suite of suites) {
    if (data[suite].expected === undefined || data[suite].limits === undefined) {
      throw new TypeError(
        `Cannot build the check of task "${task.id}" as its expected outputs are not computed: call the benchmark's prepare() after load()`,
      );
    }
  }
  const call = `_ppocoder_check(${pyString(code)}, ${
    pyString(suites.join(","))
  }.split(","), __import__("json").loads(${
    pyString(task.check.kind === "program" ? task.check.harness : "")
  }))`;
  const seconds = suites.reduce((sum, suite) => sum + programSeconds(data[suite].limits!), 0);
  const ms = Math.ceil(seconds * 1000);
  return {
    language: "python",
    mode: "test",
    // The check runs as the program's harness: it passes only when it ran to its end, so a
    // sample that ends the process early (os._exit(0) inside the exec) fails.
    code: driver(),
    harness: `${call}\n`,
    limits: { wallMs: ms, cpuMs: ms, memoryMb: EVALPLUS_LIMITS.memoryMb },
  };
}

/** `untrusted_check`'s wait for one suite's process: min(60 s, sum of limits) + 2 s. */
export function programSeconds(limits: readonly number[]): number {
  const sum = limits.reduce((total, limit) => total + limit, 0);
  return Math.min(EVALPLUS_LIMITS.perProgramCapSeconds, sum) + EVALPLUS_LIMITS.graceSeconds;
}

/** The per-test time limit for a canonical time: max(4 s, 4 x gold). */
export function testLimitSeconds(goldSeconds: number): number {
  return Math.max(EVALPLUS_LIMITS.minSeconds, EVALPLUS_LIMITS.goldFactor * goldSeconds);
}

/** Where a failure mark names it: the suite, kind and test index of the last mark in `stderr`. */
export function failureMark(
  stderr: string,
): { suite: Suite; kind: string; index: number } | undefined {
  const marks = [...stderr.matchAll(MARK)];
  const last = marks.at(-1);
  if (last === undefined) return undefined;
  return { suite: last[1] as Suite, kind: last[2]!, index: Number(last[3]) };
}

const MARK_STATUS: Readonly<Record<string, ExecutionStatus>> = {
  syntax: "compile_error",
  load: "runtime_error",
  exception: "runtime_error",
  wrong: "failed",
  timeout: "timeout",
};

/** The status of one check program: the sandbox's, refined by the harness's mark on failure. */
export function refineStatus(execution: Execution): ExecutionStatus {
  if (execution.status === "passed") return "passed";
  const mark = failureMark(execution.stderr);
  return mark === undefined ? execution.status : MARK_STATUS[mark.kind] ?? execution.status;
}

/** One check program's execution with its refined status (the one-program path's verdict). */
function refineExecution(execution: Execution): Execution {
  const status = refineStatus(execution);
  return { ...execution, status, compiled: execution.compiled && status !== "compile_error" };
}

/** EvalPlus's status of one suite's program: `pass`, `fail` or `timeout` (a killed process). */
export function evalPlusStatus(suite: CaseResult): "pass" | "fail" | "timeout" {
  if (suite.status === "passed") return "pass";
  const mark = failureMark(suite.stderr);
  if (mark === undefined && (suite.status === "timeout" || suite.status === "memory_limit")) {
    return "timeout";
  }
  return "fail";
}

/** Runs the base and the plus program, as EvalPlus runs two processes, and joins the verdicts. */
async function evaluateEvalPlus(task: Task, code: string, execute: Execute): Promise<Execution> {
  const runs = await Promise.all(
    SUITES.map((suite) => execute(evalPlusRequest(task, code, [suite]))),
  );
  const cases: CaseResult[] = runs.map((run) => ({
    status: refineStatus(run),
    exitCode: run.exitCode,
    stdout: run.stdout,
    stderr: run.stderr,
    wallMs: run.wallMs,
  }));
  const failing = cases.find((c) => c.status !== "passed");
  const shown = runs[failing === undefined ? 1 : cases.indexOf(failing)]!;
  return {
    status: failing?.status ?? "passed",
    compiled: cases[0]!.status !== "compile_error",
    casesPassed: cases.filter((c) => c.status === "passed").length,
    casesTotal: cases.length,
    exitCode: shown.exitCode,
    wallMs: runs.reduce((sum, run) => sum + run.wallMs, 0),
    cpuMs: runs.reduce((sum, run) => sum + run.cpuMs, 0),
    peakMemoryKb: Math.max(...runs.map((run) => run.peakMemoryKb)),
    stdout: shown.stdout,
    stderr: shown.stderr,
    cases,
  };
}

/** Options of {@linkcode prepareEvalPlus}. */
export interface PrepareOptions {
  /** Folder of the ground-truth cache. @default `<dataset cache>/<dataset name>` */
  readonly cacheDir?: string;
  readonly log?: (message: string) => void;
}

/**
 * Computes (or reads from the cache) every task's expected outputs and canonical times, and puts
 * them with the per-test limits into the tasks' harness data.
 */
export async function prepareEvalPlus(
  config: EvalPlusConfig,
  loaded: LoadedTasks,
  executor: Executor,
  options: PrepareOptions = {},
): Promise<LoadedTasks> {
  if (loaded.tasks.length === 0) return loaded;
  const hash = harnessData(loaded.tasks[0]!).hash;
  const python = executor.toolchains.find((t) => t.language === "python")?.version ?? "python";
  const dir = options.cacheDir ?? join(defaultCacheDir(), config.dataset.name);
  const path = join(dir, `groundtruth-${hash}.json`);
  const cache = await readCache(path, hash, python);
  const missing = loaded.tasks.filter((task) => cache.tasks[taskKey(task)] === undefined);
  if (missing.length > 0) {
    options.log?.(
      `${config.name}: computing the ground truth of ${missing.length} tasks in the sandbox`,
    );
    await forEachLimited(missing, executor.workers, async (task) => {
      cache.tasks[taskKey(task)] = await groundTruth(task, executor);
    });
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(path, JSON.stringify(cache));
  }
  const tasks = loaded.tasks.map((task) => withGroundTruth(task, cache.tasks[taskKey(task)]!));
  return { ...loaded, tasks };
}

function taskKey(task: Task): string {
  return harnessData(task).task_id;
}

/** Bump when the ground truth's form changes: older caches are then computed again. */
const CACHE_FORMAT = 2;

interface Cache {
  readonly format: number;
  readonly hash: string;
  readonly python: string;
  readonly tasks: Record<string, GroundTruth>;
}

async function readCache(path: string, hash: string, python: string): Promise<Cache> {
  try {
    const cache = JSON.parse(await Deno.readTextFile(path)) as Cache;
    if (cache.format === CACHE_FORMAT && cache.hash === hash && cache.python === python) {
      return cache;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) && !(error instanceof SyntaxError)) throw error;
  }
  return { format: CACHE_FORMAT, hash, python, tasks: {} };
}

/** Limits of the trusted ground-truth run: EvalPlus runs it in its own process, unlimited. */
const GROUND_TRUTH_LIMITS = {
  wallMs: 600_000,
  cpuMs: 600_000,
  memoryMb: 8192,
  outputBytes: 256 << 20,
} as const;

async function groundTruth(task: Task, executor: Executor): Promise<GroundTruth> {
  if (task.check.kind !== "program") throw new TypeError(`Task "${task.id}" is not EvalPlus's`);
  const call = `_ppocoder_groundtruth(${pyString(task.reference)}, __import__("json").loads(${
    pyString(task.check.harness)
  }))`;
  const execution = await executor.execute({
    language: "python",
    mode: "test",
    code: `${driver()}\n\n${call}\n`,
    limits: GROUND_TRUTH_LIMITS,
  });
  if (execution.status !== "passed") {
    throw new Error(
      `Cannot compute the ground truth of "${task.id}" as its canonical solution ended with status ${execution.status}: ${
        execution.stderr.slice(-800)
      }`,
    );
  }
  return JSON.parse(execution.stdout) as GroundTruth;
}

function withGroundTruth(task: Task, truth: GroundTruth): Task {
  const data = harnessData(task);
  const suite = (name: Suite): SuiteData => ({
    inputs: data[name].inputs,
    expected: truth[name].expected,
    digests: truth[name].digests,
    limits: truth[name].times.map(testLimitSeconds),
  });
  const prepared: HarnessData = { ...data, base: suite("base"), plus: suite("plus") };
  return { ...task, check: { kind: "program", harness: JSON.stringify(prepared) } };
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/**
 * base and plus pass@k side by side, the syntax rate of the samples' own code (the programs hold
 * it as a string), and EvalPlus's `eval_results.json`.
 */
async function summarizeEvalPlus(
  config: EvalPlusConfig,
  judged: readonly JudgedTask[],
): Promise<BenchmarkSummary> {
  const outcomes = judged.map(({ results }) => ({
    n: results.length,
    base: results.filter((r) => suiteStatus(r, 0) === "pass").length,
    plus: results.filter((r) => suiteStatus(r, 0) === "pass" && suiteStatus(r, 1) === "pass")
      .length,
  }));
  const metrics: Record<string, number | null> = {};
  for (const k of [1, 10, 100]) {
    metrics[`base_pass@${k}`] = meanPassAtK(outcomes.map((o) => ({ n: o.n, passed: o.base })), k);
    metrics[`plus_pass@${k}`] = meanPassAtK(outcomes.map((o) => ({ n: o.n, passed: o.plus })), k);
  }
  const samples = judged.flatMap((j) => j.samples);
  let clean = 0;
  for (const sample of samples) clean += (await parsesCleanly(sample.code, "python")) ? 1 : 0;
  metrics.syntax_rate = samples.length === 0 ? null : clean / samples.length;
  return { metrics, files: { "eval_results.json": evalResultsJson(config, judged, metrics) } };
}

/** EvalPlus's status of suite `index` (0 base, 1 plus) of one judged sample. */
function suiteStatus(execution: Execution, index: number): "pass" | "fail" | "timeout" {
  const suite = execution.cases?.[index];
  if (suite !== undefined) return evalPlusStatus(suite);
  // Judged by the one-program path: only the joined verdict is known.
  return execution.status === "passed" ? "pass" : "fail";
}

/**
 * `eval_results.json` as `evalplus.evaluate` writes it: `date`, `hash`, `eval` (per task, per
 * sample: `task_id`, `solution`, `base_status`, `plus_status`, `base_fail_tests`,
 * `plus_fail_tests`) and `pass_at_k`. A failing test is the input the harness's mark names,
 * written as the dataset writes it (`mbpp_serialize_inputs` turns back only Mbpp/115, /124 and
 * /252's sets and complex numbers, which stay here as the file has them). A killed program (a
 * `timeout`) lists no failing test.
 */
function evalResultsJson(
  config: EvalPlusConfig,
  judged: readonly JudgedTask[],
  metrics: Readonly<Record<string, number | null>>,
): string {
  const raw: string[] = [];
  const nonce = crypto.randomUUID();
  const placeholder = (text: string) => `@@${nonce}:${raw.push(text) - 1}@@`;
  let hash = "";
  const evaluations: Record<string, unknown[]> = {};
  for (const { task, samples, results } of judged) {
    const data = harnessData(task);
    hash = data.hash;
    evaluations[data.task_id] = results.map((execution, i) => {
      const tests = SUITES.map((suite, s) => {
        const mark = failureMark(execution.cases?.[s]?.stderr ?? "");
        if (suiteStatus(execution, s) === "pass" || mark === undefined || mark.index < 0) return [];
        return [placeholder(rawJsonElements(data[suite].inputs)[mark.index] ?? "null")];
      });
      return {
        task_id: data.task_id,
        solution: samples[i]?.code ?? "",
        base_status: suiteStatus(execution, 0),
        plus_status: suiteStatus(execution, 1),
        base_fail_tests: tests[0],
        plus_fail_tests: tests[1],
      };
    });
  }
  const passAtK = (prefix: string) =>
    Object.fromEntries(
      [1, 10, 100].flatMap((k) => {
        const value = metrics[`${prefix}_pass@${k}`];
        return value === null || value === undefined ? [] : [[`pass@${k}`, value]];
      }),
    );
  const results = {
    date: new Date().toISOString().slice(0, 16).replace("T", " "),
    hash,
    eval: evaluations,
    pass_at_k: { base: passAtK("base"), plus: passAtK("plus") },
    ppocoder: { benchmark: config.name, evalplus_dataset: config.evalplus },
  };
  const spliced = new RegExp(`"@@${nonce}:(\\d+)@@"`, "g");
  return JSON.stringify(results).replace(spliced, (_, i: string) => raw[Number(i)]!);
}
