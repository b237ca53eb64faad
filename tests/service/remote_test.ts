/**
 * The remote executor: verdicts equal to the in-process executor's, a replica that dies mid-batch
 * costs no execution, no replica at all is an error rather than a verdict, and
 * `bench --sandbox-url` over two replicas, and `--shard` with `deno task merge`, write the
 * in-process single run's report.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { createExecutor, SandboxUnavailableError } from "../../sandbox/mod.ts";
import { createRemoteExecutor } from "../../sandbox/remote.ts";
import { serveSandbox } from "../../sandbox/service/serve.ts";
import { BENCH, benchArgs } from "../../src/cli/bench.ts";
import { parseCommand } from "../../src/cli/_args.ts";
import { findShardRuns, mergeShards } from "../../src/cli/merge.ts";
import { groupShards } from "../../src/report/shards.ts";
import { runBenchmark } from "../../src/run.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";
import { startReplica } from "./_service.ts";
import type { ExecuteRequest } from "../../sandbox/types.ts";
import type { Language } from "../../sandbox/languages.ts";
import type { Execution } from "../../src/types.ts";
import type { Report } from "../../src/report/schema.ts";

const LANGUAGES: Language[] = ["python", "cpp", "c"];
const EXT: Record<string, string> = { python: ".py", cpp: ".cpp", c: ".c" };

function fixture(language: Language, name: string): string {
  return readFileSync(fixturePath(`languages/${language}/${name}${EXT[language]}`), "utf8");
}

/** Every fixture of every language in the modes that tell them apart. */
function requests(): ExecuteRequest[] {
  return LANGUAGES.flatMap((language) => [
    { language, mode: "test", code: fixture(language, "right_answer") },
    { language, mode: "test", code: fixture(language, "wrong_answer") },
    { language, mode: "run", code: fixture(language, "runtime_error") },
    { language, mode: "run", code: fixture(language, "compile_error") },
    { language, mode: "compile", code: fixture(language, "compile_error") },
    { language, mode: "run", code: fixture(language, "echo"), stdin: ["a\n", "", "b c"] },
  ]);
}

/** What must not differ between two executors: everything but times and memory. */
function verdict(execution: Execution) {
  return {
    status: execution.status,
    compiled: execution.compiled,
    cases: [execution.casesPassed, execution.casesTotal],
    exitCode: execution.exitCode,
    signal: execution.signal ?? null,
    stdout: execution.stdout,
    perCase: execution.cases?.map((c) => [c.status, c.exitCode, c.stdout]),
  };
}

Deno.test({
  name: "createRemoteExecutor() judges as the in-process executor does",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const replicas = [0, 1].map(() =>
      serveSandbox({ port: 0, log: () => {}, executor: { languages: LANGUAGES, workers: 1 } })
    );
    const local = await createExecutor({ languages: LANGUAGES, workers: 2 });
    try {
      await Promise.all(replicas.map((r) => r.ready));
      const remote = await createRemoteExecutor({
        urls: replicas.map((r) => `http://127.0.0.1:${r.port}`),
        languages: LANGUAGES,
      });
      assert.equal(remote.workers, 2);
      assert.deepEqual(remote.limits, local.limits);
      assert.deepEqual(remote.toolchains, local.toolchains);
      assert.match(remote.notes![0]!, /^remote: judged by the sandbox service at http/);
      const all = requests();
      const [here, there] = await Promise.all([
        Promise.all(all.map((r) => local.execute(r))),
        Promise.all(all.map((r) => remote.execute(r))),
      ]);
      assert.deepEqual(there.map(verdict), here.map(verdict));
      await assert.rejects(remote.execute({ language: "java", mode: "compile", code: "" }), {
        name: "ToolchainError",
      });
      await remote.close();
    } finally {
      await local.close();
      await Promise.all(replicas.map((r) => r.stop()));
    }
  },
});

Deno.test({
  name: "createRemoteExecutor() resends what a SIGKILLed replica held, fails with no replica",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const replicas = await Promise.all([0, 1].map(() => startReplica({ workers: 1 })));
    try {
      const logs: string[] = [];
      const remote = await createRemoteExecutor({
        urls: replicas.map((r) => r.url),
        unavailableMs: 2_000,
        log: (message) => logs.push(message),
      });
      await t.step("a replica killed mid-batch costs no execution", async () => {
        const code = (i: number) => `import time\ntime.sleep(0.05)\nprint(${i})`;
        let finished = 0;
        const runs = Array.from({ length: 40 }, async (_, i) => {
          const execution = await remote.execute({
            language: "python",
            mode: "run",
            code: code(i),
          });
          if (++finished === 10) replicas[0]!.kill("SIGKILL");
          return execution;
        });
        const executions = await Promise.all(runs);
        assert.deepEqual(
          executions.map((e) => [e.status, e.stdout]),
          executions.map((_, i) => [
            "passed",
            `${i}\n`,
          ]),
        );
        assert.equal((await replicas[0]!.status).signal, "SIGKILL");
        assert.ok(logs.some((l) => l.includes(replicas[0]!.url)), logs.join("\n"));
      });
      await t.step(
        "with every replica gone, executions fail with SandboxUnavailableError",
        async () => {
          replicas[1]!.kill("SIGKILL");
          await replicas[1]!.status;
          await assert.rejects(
            remote.execute({ language: "python", mode: "run", code: "print(1)" }),
            (error: Error) =>
              error instanceof SandboxUnavailableError &&
              /no sandbox service replica has answered for \d+ s/.test(error.message),
          );
        },
      );
      await remote.close();
    } finally {
      for (const replica of replicas) replica.kill("SIGKILL");
    }
  },
});

const MBPP = "datasets/mbpp/mbpp.jsonl";
if (!hasShared(MBPP)) {
  console.log(`the bench steps of remote_test.ts are ignored: ${MBPP} is absent`);
}

/** What two runs of the same thing must share. */
function comparable(report: Report) {
  const { shard: _, ...config } = report.config;
  return {
    id: report.id,
    key: report.comparabilityKey,
    keyFields: report.keyFields,
    config,
    metrics: report.metrics,
    byGroup: report.metricsByGroup,
    statusCounts: report.statusCounts,
    tasks: report.tasks,
  };
}

Deno.test({
  name: "bench --sandbox-url over two replicas, and --shard with merge, equal the in-process run",
  ignore: !hasShared(MBPP),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const root = await Deno.makeTempDir({ prefix: "ppocoder-remote-bench-" });
    const replicas = [0, 1].map(() =>
      serveSandbox({ port: 0, log: () => {}, executor: { languages: ["python"], workers: 1 } })
    );
    try {
      await Promise.all(replicas.map((r) => r.ready));
      const urls = replicas.map((r) => `http://127.0.0.1:${r.port}`).join(",");
      const bench = async (reports: string, ...extra: string[]) => {
        const args = ["mbpp", "--model", "reference", "--k", "1", "--limit", "90"];
        const parsed = parseCommand(BENCH, [
          ...args,
          "--data",
          sharedPath("datasets/mbpp"),
          "--reports",
          join(root, reports),
          ...extra,
        ]);
        if (typeof parsed === "string") throw new Error(`unexpected ${parsed}`);
        return await runBenchmark(getBenchmark("mbpp"), (await benchArgs(parsed)).options);
      };
      const single = await bench("local");
      await t.step("--sandbox-url: same key, folder and per-task outcomes", async () => {
        const remote = await bench("remote", "--sandbox-url", urls);
        assert.deepEqual(comparable(remote.report), comparable(single.report));
        assert.match(remote.report.provenance.isolation.notes!.join("\n"), /^remote: /m);
      });
      await t.step("--shard 0/3, 1/3, 2/3 then merge: the single run's report", async () => {
        for (const shard of ["0/3", "1/3", "2/3"]) {
          const run = await bench("shards", "--shard", shard, "--sandbox-url", urls);
          assert.equal(run.report.config.taskCount, 30);
          assert.notEqual(run.report.comparabilityKey, single.report.comparabilityKey);
        }
        const [group] = groupShards(await findShardRuns([join(root, "shards")]));
        const merged = await mergeShards(group!, { reportsDir: join(root, "merged") });
        assert.deepEqual(comparable(merged.report), comparable(single.report));
        assert.equal(merged.report.throughput.executions, 90);
      });
      await t.step("merge refuses an incomplete set of shards", async () => {
        const runs = await findShardRuns([join(root, "shards")]);
        const withoutFirst = runs.filter((run) => run.report.config.shard!.index !== 0);
        assert.throws(() => groupShards(withoutFirst), {
          name: "RangeError",
          message: /shards are missing or repeated: missing 0, repeated none/,
        });
      });
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await Deno.remove(root, { recursive: true });
    }
  },
});
