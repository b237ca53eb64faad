import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { clipExecution, clipText, shareBudget } from "../../src/util/clip_output.ts";
import { join } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { runBenchmark } from "../../src/run.ts";
import { readJsonl } from "../../src/util/jsonl.ts";
import type { Execution, SampleResult } from "../../src/types.ts";
import { fixturePath } from "../_shared.ts";

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

Deno.test("runBenchmark() stores flooding output within the per-sample budget", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-flood-" });
  try {
    // Each sample writes 1 MiB to stdout and to stderr before its function is defined: before,
    // every step kept up to the output limit of both, and 24 samples wrote about 48 MB.
    const flood = "import sys\nsys.stdout.write('o' * 1048000 + 'END-OUT')\n" +
      "sys.stderr.write('e' * 1048000 + 'END-ERR')\n";
    const tasks = (await Deno.readTextFile(fixturePath("mbpp/mbpp_small.jsonl"))).trim().split("\n")
      .map((line) => JSON.parse(line) as { task_id: number; code: string });
    const samples = join(dir, "samples.jsonl");
    await Deno.writeTextFile(
      samples,
      tasks.flatMap((t) =>
        [0, 1, 2].map(() => JSON.stringify({ task_id: t.task_id, solution: flood + t.code }))
      ).join("\n") + "\n",
    );
    const { runDir, report } = await runBenchmark(getBenchmark("mbpp"), {
      model: `samples:${samples}`,
      data: fixturePath("mbpp/mbpp_small.jsonl"),
      allowUnverified: true,
      split: "all",
      k: [1],
      workers: 2,
      limits: { wallMs: 10_000, outputBytes: 2 * 1024 * 1024 },
      reportsDir: join(dir, "reports"),
    });
    assert.equal(report.statusCounts.passed, 24);
    const size = (await Deno.stat(join(runDir, "executions.jsonl"))).size;
    assert.ok(size < 24 * 40 * 1024, `executions.jsonl is ${size} bytes`);
    const [first] = await readJsonl<SampleResult>(join(runDir, "executions.jsonl"));
    assert.match(
      first!.execution.stdout,
      /^o+\n\[\.\.\. \d+ of 1048007 bytes cut here \.\.\.\]\no+END-OUT$/,
    );
    assert.match(first!.execution.stderr, /of 1048007 bytes cut here[\s\S]*END-ERR$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
