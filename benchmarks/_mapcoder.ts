/**
 * The `mapcoder-150` protocol of APPS: the 150 problems of MapCoder's `selected150.jsonl` judged
 * the way MapCoder judged them (Islam et al., 2024, `src/datasets/APPSDataset.py` at
 * Md-Ashraful-Pramanik/MapCoder@0027da71), which is not the APPS reference checker:
 *
 * - every problem, starter code or not, is a standard-input program: MapCoder's prompt asks for
 *   one ("Input should be taken from standard input and output should be given to standard
 *   output"), and its judge runs the program once per case of `test_list` with the case's
 *   `input` on stdin;
 * - the judge is ExecEval (ntunlp/ExecEval@dd69386, `execution_engine/execution_engine.py`): the
 *   program runs as written (no APPS import header, no wrapping), `python3` with a 2 s CPU limit
 *   and a wall limit of 3 x 2 s, 2 GiB of address space; a case passes when the program exits 0
 *   and its stripped stdout matches one of the case's outputs by {@linkcode execEvalOutputMatches};
 *   a problem is solved when every case passes (`stop_on_first_fail`);
 * - ExecEval refuses a request whose expected outputs are not all strings (it calls `.replace`
 *   on each) or whose inputs are not ASCII (`input.encode("ascii")`), and MapCoder counts a
 *   refused request as unsolved: 74 of the 150 records have a non-string output (their
 *   call-based cases, e.g. `[96]`), 2 a non-ASCII input, and no sample of those can pass here
 *   either. The 10 published result files of MapCoder (1,500 verdicts) agree with that.
 *
 * Not reproduced: ExecEval starts Python with `-OO -S` (asserts stripped; no `site`, so no
 * `exit()`/`quit()` builtins), `RLIMIT_NOFILE` 4 and one process; here `assert` runs, `exit()`
 * exists and the sandbox's own file and process limits apply.
 *
 * @module
 */

import { pySplit, pyStrip } from "./apps.ts";
import type { AppsProblem } from "./_apps_data.ts";
import type { CaseResult, Execution, ExecutionStatus, IoCase, Task } from "../src/types.ts";
import type { ExecuteRequest, Limits } from "../sandbox/types.ts";

/** ExecEval's limits for "Python 3": `RLIMIT_CPU` 2 s, wall 2 s x `timelimit_factor` 3, 2 GiB. */
export const MAPCODER_CASE_LIMITS: Partial<Limits> = { cpuMs: 2000, wallMs: 6000, memoryMb: 2048 };

/** Why ExecEval refuses a problem's request (so MapCoder counts it unsolved), or `undefined`. */
export function execEvalRefusal(problem: AppsProblem): string | undefined {
  const outputs = problem.cases.flatMap((c) => Array.isArray(c.output) ? c.output : [c.output]);
  if (outputs.some((o) => typeof o !== "string")) return "non-string expected output";
  const inputs = problem.cases.map((c) => String(c.input));
  // deno-lint-ignore no-control-regex -- ASCII is \x00-\x7f
  if (inputs.some((i) => !/^[\x00-\x7f]*$/.test(i))) return "non-ASCII input";
  return undefined;
}

/**
 * One case: stdin is the input as given (ExecEval removes every "\r"); the accepted outputs stay
 * with the judge as a JSON list.
 */
export function mapcoderCase(input: unknown, output: unknown): IoCase {
  const outputs = Array.isArray(output) ? output : [output];
  return { stdin: String(input).replaceAll("\r", ""), stdout: JSON.stringify(outputs) };
}

/**
 * MapCoder's prompt for APPS (`APPSDataset.get_prompt`, as its Direct strategy sends it): the
 * description, the first public case, and the instruction to read stdin and write stdout.
 */
export function mapcoderPrompt(problem: AppsProblem): string {
  const sample = problem.sampleIo?.[0];
  const first = Array.isArray(sample?.output) ? sample.output[0] : sample?.output;
  const sampleFormat = sample === undefined
    ? ""
    : `Sample Input Format:\n${pyStr(sample.input)}\nSample Output Format:\n${
      pyStr(first)
    }\n\n-------\n`;
  return `${problem.question}\n\n${sampleFormat}Important: You must follow the input output format. ` +
    "Input should be taken from standard input and output should be given to standard output.\n" +
    "Note: If you are writing a function then after the function definition take input from " +
    "using `input()` function, call the function with specified parameters and finally print " +
    // The Direct strategy's "\G" is no escape in Python: a backslash before "Generate".
    "the output of the function.\n\\Generate Python3 code to solve the above mentioned problem:";
}

/** The program for `code`: as written, once per case, under {@linkcode MAPCODER_CASE_LIMITS}. */
export function mapcoderRequest(task: Task, code: string): ExecuteRequest {
  const check = task.check;
  if (check.kind !== "stdio") throw new TypeError(`Task "${task.id}" is not an APPS task`);
  return {
    language: "python",
    mode: "run",
    code: code.replaceAll("\r\n", "\n"),
    stdin: check.cases.map((c) => c.stdin),
    limits: MAPCODER_CASE_LIMITS,
  };
}

/** The verdict of one sample as MapCoder's judge gives it (see the module doc). */
export function mapcoderJudge(task: Task, execution: Execution): Execution {
  const check = task.check;
  if (check.kind !== "stdio") throw new TypeError(`Task "${task.id}" is not an APPS task`);
  const casesTotal = check.cases.length;
  if (task.meta.execEvalRefusal !== undefined || !execution.compiled || !execution.cases) {
    const status = execution.status === "passed" ? "failed" : execution.status;
    return { ...execution, casesPassed: 0, casesTotal, status };
  }
  const verdicts = check.cases.map((c, i) => caseVerdict(c, execution.cases![i]));
  const casesPassed = verdicts.filter((v) => v === "passed").length;
  const firstFailure = verdicts.find((v) => v !== "passed");
  return { ...execution, casesPassed, casesTotal, status: firstFailure ?? "passed" };
}

function caseVerdict(c: IoCase, result: CaseResult | undefined): ExecutionStatus {
  if (result === undefined) return "failed";
  if (result.exitCode !== 0 || (result.status !== "passed" && result.status !== "failed")) {
    return result.status === "passed" || result.status === "failed"
      ? "runtime_error"
      : result.status;
  }
  const expected = JSON.parse(c.stdout) as string[];
  const stdout = pyStrip(result.stdout);
  return expected.some((e) => execEvalOutputMatches(e.replaceAll("\r", ""), stdout))
    ? "passed"
    : "failed";
}

const YES_NO = new Set(["yes", "no", "true", "false"]);

/**
 * ExecEval's `validate_outputs(expected, actual)`: the texts, stripped and split on "\n", have
 * as many lines and each pair is equal once stripped; else their whitespace-separated tokens are
 * as many and pairwise equal, where two numbers are equal within 1e-12 (gmpy2 `mpfr` at 129
 * bits; here exact decimals) and yes/no/true/false compare without case.
 */
export function execEvalOutputMatches(expected: string, actual: string): boolean {
  const a = pyStrip(expected).split("\n");
  const b = pyStrip(actual).split("\n");
  if (a.length === b.length && a.every((line, i) => pyStrip(line) === pyStrip(b[i]!))) return true;
  const ta = pySplit(pyStrip(expected));
  const tb = pySplit(pyStrip(actual));
  if (ta.length !== tb.length) return false;
  return ta.every((x, i) => tokensMatch(x, tb[i]!));
}

function tokensMatch(x: string, y: string): boolean {
  const a = parseDecimal(x);
  const b = parseDecimal(y);
  if (a !== undefined && b !== undefined) return closeWithin1e12(a, b);
  const nx = YES_NO.has(x.toLowerCase()) ? x.toLowerCase() : x;
  const ny = YES_NO.has(y.toLowerCase()) ? y.toLowerCase() : y;
  return nx === ny;
}

/** A decimal number as `digits x 10^exp` (NaN and infinities as special values). */
type Decimal =
  | { readonly kind: "finite"; readonly digits: bigint; readonly exp: number }
  | { readonly kind: "nan" }
  | { readonly kind: "inf"; readonly negative: boolean };

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** What `mpfr(text, 129)` accepts in base 10, or `undefined` where it raises `ValueError`. */
function parseDecimal(text: string): Decimal | undefined {
  const special = /^([+-]?)(?:@?(inf|infinity|nan)@?)$/i.exec(text);
  if (special) {
    return special[2]!.toLowerCase() === "nan"
      ? { kind: "nan" }
      : { kind: "inf", negative: special[1] === "-" };
  }
  const m = DECIMAL.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return undefined;
  const exp = Number(m[4] ?? "0") - (m[3] ?? "").length;
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 100_000) return undefined;
  const digits = BigInt(`${m[2]}${m[3] ?? ""}` || "0") * (m[1] === "-" ? -1n : 1n);
  return { kind: "finite", digits, exp };
}

/**
 * `abs(a - b) > 1e-12` is false: NaN compares false both ways in Python, so a NaN on either side
 * (and inf - inf) counts as equal, as in ExecEval.
 */
function closeWithin1e12(a: Decimal, b: Decimal): boolean {
  if (a.kind === "nan" || b.kind === "nan") return true;
  if (a.kind === "inf" || b.kind === "inf") {
    // inf - inf is NaN (equal); inf - (-inf) and inf - x are infinite (not equal).
    return a.kind === "inf" && b.kind === "inf" && a.negative === b.negative;
  }
  const exp = Math.min(a.exp, b.exp);
  const scaled = (d: { digits: bigint; exp: number }) => d.digits * 10n ** BigInt(d.exp - exp);
  let diff = scaled(a) - scaled(b);
  if (diff < 0n) diff = -diff;
  // diff x 10^exp <= 10^-12  <=>  diff x 10^(exp + 12) <= 1
  const shift = exp + 12;
  return shift >= 0 ? diff * 10n ** BigInt(shift) <= 1n : diff <= 10n ** BigInt(-shift);
}

/** Python's `str()` of a value read from JSON, for the prompt. */
function pyStr(value: unknown): string {
  return typeof value === "string" ? value : pyRepr(value);
}

function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") {
    return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (typeof value === "object") {
    const items = Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`);
    return `{${items.join(", ")}}`;
  }
  return String(value);
}
