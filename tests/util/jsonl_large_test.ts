/**
 * Resuming a run whose `executions.jsonl` is larger than the longest string V8 can hold (about
 * 512 MiB): the whole-file read failed with "failed to allocate string", naming no file, and the
 * run could only be started over. Writes a 600 MiB file to a temporary folder (a few seconds).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { EXECUTIONS_FILE, judgeSamples } from "../../src/judge.ts";
import { iterateJsonl } from "../../src/util/jsonl.ts";
import type { Benchmark } from "../../benchmarks/benchmark.ts";
import type { Executor } from "../../sandbox/types.ts";
import type { Execution, Sample, SampleResult, Task } from "../../src/types.ts";

const RECORDS = 600;
const STDOUT_BYTES = 1024 * 1024;

/** Writes `RECORDS` stored results of about 1 MiB each, the way a flooding run stored them. */
async function writeLargeExecutions(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const flood = "0123456789abcdef".repeat(STDOUT_BYTES / 16);
  try {
    for (let i = 0; i < RECORDS; i++) {
      const execution: Execution = {
        status: i % 2 === 0 ? "passed" : "failed",
        compiled: true,
        casesPassed: 0,
        casesTotal: 0,
        exitCode: i % 2,
        wallMs: 1,
        cpuMs: 1,
        peakMemoryKb: 1,
        stdout: `start ${i}\n${flood}\nend ${i}`,
        stderr: "",
      };
      const record: SampleResult = { taskId: `toy/${i}`, index: 0, execution };
      const bytes = encoder.encode(JSON.stringify(record) + "\n");
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    }
  } finally {
    file.close();
  }
}

/** An executor that must not be asked for anything: every sample is stored already. */
const NO_EXECUTOR = {
  workers: 2,
  execute: () => Promise.reject(new Error("nothing should be executed on this resume")),
} as unknown as Executor;

Deno.test("resuming a run with a 600 MiB executions.jsonl", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-large-jsonl-" });
  const path = join(dir, EXECUTIONS_FILE);
  try {
    await writeLargeExecutions(path);
    assert.ok((await Deno.stat(path)).size > 600 * 1024 * 1024);

    await t.step("iterateJsonl() reads every record as a stream", async () => {
      let count = 0;
      for await (const { value } of iterateJsonl<SampleResult>(path)) {
        assert.equal(value.taskId, `toy/${count++}`);
      }
      assert.equal(count, RECORDS);
    });

    await t.step("judgeSamples() resumes without executing, storing outputs cut", async () => {
      const samples: Sample[] = Array.from(
        { length: RECORDS },
        (_, i) => ({ taskId: `toy/${i}`, index: 0, raw: "", code: "" }),
      );
      const tasks = new Map<string, Task>();
      const judged = await judgeSamples(samples, tasks, {} as Benchmark, NO_EXECUTOR, {
        runDir: dir,
        storedOutputBytes: 4096,
      });
      assert.equal(judged.executed, 0);
      assert.equal(judged.results.length, RECORDS);
      assert.equal(judged.results.filter((r) => r.execution.status === "passed").length, 300);
      const stdout = judged.results[7]!.execution.stdout;
      assert.ok(stdout.length <= 4096, `${stdout.length}`);
      assert.match(stdout, /^start 7\n0123/);
      assert.match(stdout, /\[\.\.\. \d+ of 1048590 bytes cut here \.\.\.\]/);
      assert.match(stdout, /cdef\nend 7$/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
