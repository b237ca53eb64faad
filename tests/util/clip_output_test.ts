import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { clipExecution, clipText, shareBudget } from "../../src/util/clip_output.ts";
import type { Execution } from "../../src/types.ts";

const bytes = (text: string) => Buffer.byteLength(text, "utf8");

Deno.test("clipText()", async (t) => {
  await t.step("returns text within the budget as it is", () => {
    assert.equal(clipText("short", 5), "short");
  });
  await t.step("keeps the head and the tail with the byte counts between", () => {
    const text = `HEAD${"-".repeat(100_000)}TAIL`;
    const clipped = clipText(text, 200);
    assert.ok(bytes(clipped) <= 200, `${bytes(clipped)}`);
    assert.match(clipped, /^HEAD-+\n\[\.\.\. (\d+) of 100008 bytes cut here \.\.\.\]\n-+TAIL$/);
    const cut = Number(/\[\.\.\. (\d+) of/.exec(clipped)![1]);
    const kept = clipped.replace(/\n\[\.\.\..*\.\.\.\]\n/, "");
    assert.equal(bytes(kept) + cut, 100_008);
  });
  await t.step("cuts on character boundaries", () => {
    const clipped = clipText("é".repeat(1000) + "ü".repeat(1000), 101);
    assert.ok(!clipped.includes("\ufffd"));
    assert.match(clipped, /^é+\n\[\.\.\. \d+ of 4000 bytes cut here \.\.\.\]\nü+$/);
    assert.ok(bytes(clipped) <= 101);
  });
});

Deno.test("shareBudget()", async (t) => {
  await t.step("gives small texts their size and splits the rest evenly", () => {
    assert.deepEqual(shareBudget([100, 5_000_000, 40, 9_000_000], 1000), [100, 430, 40, 430]);
  });
  await t.step("gives every text its size when all fit", () => {
    assert.deepEqual(shareBudget([1, 2, 3], 100), [1, 2, 3]);
  });
});

Deno.test("clipExecution()", async (t) => {
  const execution: Execution = {
    status: "output_limit",
    compiled: true,
    casesPassed: 0,
    casesTotal: 2,
    exitCode: null,
    wallMs: 12,
    cpuMs: 10,
    peakMemoryKb: 9000,
    stdout: "y\n".repeat(500_000),
    stderr: "Traceback (most recent call last):\n  ...\nAssertionError\n",
    cases: [
      { status: "passed", exitCode: 0, stdout: "1\n", stderr: "", wallMs: 1 },
      {
        status: "output_limit",
        exitCode: null,
        stdout: "z".repeat(2_000_000),
        stderr: "",
        wallMs: 9,
      },
    ],
  };
  await t.step("keeps a short traceback whole beside a flooding stream", () => {
    const clipped = clipExecution(execution, 32 * 1024);
    assert.equal(clipped.stderr, execution.stderr);
    assert.equal(clipped.cases![0]!.stdout, "1\n");
    const total = [
      clipped.stdout,
      clipped.stderr,
      ...clipped.cases!.flatMap((c) => [c.stdout, c.stderr]),
    ]
      .reduce((n, text) => n + bytes(text), 0);
    assert.ok(total <= 32 * 1024, `${total}`);
    assert.match(clipped.stdout, /of 1000000 bytes cut here/);
    assert.match(clipped.cases![1]!.stdout, /of 2000000 bytes cut here/);
  });
  await t.step("leaves the verdict fields alone", () => {
    const { stdout: _a, stderr: _b, cases: _c, ...verdict } = clipExecution(execution, 1024);
    const { stdout: _d, stderr: _e, cases: _f, ...before } = execution;
    assert.deepEqual(verdict, before);
  });
  await t.step("returns the same object when everything fits", () => {
    const small = { ...execution, stdout: "ok", cases: [] };
    assert.equal(clipExecution(small), small);
  });
});
