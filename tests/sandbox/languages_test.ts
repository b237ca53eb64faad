/**
 * Every language of the executor's table, on the fixtures in `tests/fixtures/languages/<language>/`:
 * hello world, a compile error, a runtime error, a wrong and a right answer, and stdin echo, each
 * with its exact status. A language whose toolchain is absent is ignored, with the apt package to
 * install printed. Adding a language is one fixture folder (plus its row in the language table).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createExecutor } from "../../sandbox/mod.ts";
import { type Language, LANGUAGES } from "../../sandbox/languages.ts";
import type { Execution, ExecutionMode, ExecutionStatus } from "../../src/types.ts";
import { fixtureNames, readFixture } from "./_host.ts";
import { missingToolchain } from "./_toolchains.ts";

/** stdin cases of the echo fixture: each must come back unchanged, byte for byte. */
const ECHO_STDIN: readonly string[] = [
  "abc\n",
  "line one\nline two\n\nline four without newline",
  "",
  "héllo wörld ✓\n",
];

/** One fixture run and what it must give, the same for every language. */
interface FixtureCase {
  readonly name: string;
  /** Fixture file name without extension. */
  readonly file: string;
  readonly mode: ExecutionMode;
  readonly status: ExecutionStatus;
  readonly compiled: boolean;
  readonly stdin?: readonly string[];
  /** Expected stdout of each `run` case. */
  readonly stdout?: readonly string[];
}

const CASES: readonly FixtureCase[] = [
  {
    name: "hello world passes in run mode and prints its greeting",
    file: "hello",
    mode: "run",
    status: "passed",
    compiled: true,
    stdout: ["Hello, world!\n"],
  },
  {
    name: "hello world compiles",
    file: "hello",
    mode: "compile",
    status: "passed",
    compiled: true,
  },
  {
    name: "a compile error is compile_error in compile mode",
    file: "compile_error",
    mode: "compile",
    status: "compile_error",
    compiled: false,
  },
  {
    name: "a compile error is compile_error in test mode",
    file: "compile_error",
    mode: "test",
    status: "compile_error",
    compiled: false,
  },
  {
    name: "a runtime error still compiles",
    file: "runtime_error",
    mode: "compile",
    status: "passed",
    compiled: true,
  },
  {
    name: "a runtime error is runtime_error in run mode",
    file: "runtime_error",
    mode: "run",
    status: "runtime_error",
    compiled: true,
  },
  {
    name: "a wrong answer fails its assertion in test mode",
    file: "wrong_answer",
    mode: "test",
    status: "failed",
    compiled: true,
  },
  {
    name: "a right answer passes its assertion in test mode",
    file: "right_answer",
    mode: "test",
    status: "passed",
    compiled: true,
  },
  {
    name: "stdin is echoed back for each run case",
    file: "echo",
    mode: "run",
    status: "passed",
    compiled: true,
    stdin: ECHO_STDIN,
    stdout: ECHO_STDIN,
  },
];

/** The fixture files every language folder holds. */
const FIXTURE_FILES = [...new Set(CASES.map((c) => c.file))].sort();

function describe(execution: Execution): string {
  const { status, exitCode, wallMs, stdout, stderr } = execution;
  return JSON.stringify({
    status,
    exitCode,
    wallMs,
    stdout: stdout.slice(0, 300),
    stderr: stderr.slice(0, 600),
  });
}

function checkCase(language: Language, c: FixtureCase, execution: Execution): void {
  const seen = describe(execution);
  assert.equal(execution.status, c.status, `${language}/${c.file} (${c.mode}): ${seen}`);
  assert.equal(execution.compiled, c.compiled, `${language}/${c.file} compiled flag: ${seen}`);
  if (c.mode !== "run" || c.stdout === undefined) return;
  const cases = execution.cases ?? [];
  assert.equal(cases.length, c.stdout.length, `${language}/${c.file} case count: ${seen}`);
  assert.equal(execution.casesTotal, c.stdout.length);
  assert.equal(execution.casesPassed, c.stdout.length, `${language}/${c.file}: ${seen}`);
  cases.forEach((result, i) => {
    assert.equal(
      result.status,
      "passed",
      `${language}/${c.file} case ${i}: ${JSON.stringify(result)}`,
    );
    assert.equal(result.stdout, c.stdout?.[i], `${language}/${c.file} case ${i} stdout`);
  });
}

Deno.test("fixtures: every language of the table has one complete folder", () => {
  for (const language of Object.keys(LANGUAGES) as Language[]) {
    assert.deepEqual(
      fixtureNames("languages", language).sort(),
      FIXTURE_FILES,
      `tests/fixtures/languages/${language}/ must hold exactly ${FIXTURE_FILES.join(", ")}`,
    );
  }
});

for (const language of Object.keys(LANGUAGES) as Language[]) {
  const reason = missingToolchain(language);
  if (reason !== undefined) console.warn(`ignored: ${reason}`);
  Deno.test({
    name: `executor: ${language} fixtures get the right status`,
    ignore: reason !== undefined,
    async fn(t) {
      // Four workers: the cases of a language run at once, compilers mostly waiting on I/O.
      const executor = await createExecutor({ languages: [language], workers: 4 });
      try {
        // Start every case at once (the pool runs them in parallel), then check each in a step.
        const runs = CASES.map((c) => {
          const code = readFixture("languages", language, c.file);
          assert.ok(code !== undefined, `missing fixture ${language}/${c.file}`);
          const request = { language, mode: c.mode, code, ...(c.stdin ? { stdin: c.stdin } : {}) };
          return executor.execute(request);
        });
        for (const run of runs) run.catch(() => {}); // each is awaited (and reported) in its step
        for (const [i, c] of CASES.entries()) {
          await t.step(c.name, async () => checkCase(language, c, await runs[i]!));
        }
      } finally {
        await executor.close();
      }
    },
  });
}
