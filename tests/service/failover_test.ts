/**
 * Failover on loopback: three replicas behind haproxy (deploy/haproxy/haproxy.cfg), the 974 MBPP
 * gold programs sent through verl's own client, one replica SIGKILLed a third of the way in.
 * With the deployed proxy every program must come back `success`, as in-process; with the same
 * proxy configured without POST retries the programs the dead replica held must fail, which shows
 * that the test can fail.
 */

import assert from "node:assert/strict";
import { createExecutor } from "../../sandbox/mod.ts";
import {
  mbppPrograms,
  missingHaproxy,
  type ReplicaProcess,
  runClients,
  serviceClients,
  startHaproxy,
  startReplica,
} from "./_service.ts";

interface ManyResult {
  readonly results: Record<
    string,
    { result: boolean | number; status: string; api_request_error: string | null }
  >;
  readonly killed_at: number | null;
  readonly seconds: number;
}

const programs = mbppPrograms();
const clients = await serviceClients();
const reason = missingHaproxy() ??
  (programs === null ? "../shared/datasets/mbpp/mbpp.jsonl is absent" : undefined) ??
  ("reason" in clients ? clients.reason : undefined);
if (reason) console.log(`failover_test.ts is ignored: ${reason}`);

/** Sends every program through verl's client via a proxy over three fresh replicas, killing one. */
async function sendKillingOne(retries: boolean): Promise<ManyResult & { killed: ReplicaProcess }> {
  const replicas = await Promise.all([0, 1, 2].map(() => startReplica({ workers: 1 })));
  const proxy = await startHaproxy(replicas.map((r) => r.url), { retries });
  const killed = replicas[1]!;
  try {
    const input = programs!.map((p) => JSON.stringify(p)).join("\n");
    const kill = ["--kill-pid", String(killed.pid), "--kill-after", String(Math.floor(974 / 3))];
    const outcome = await runClients<ManyResult>(
      clients as Exclude<typeof clients, { reason: string }>,
      // A generous time limit: on a loaded machine MBPP's slowest program nears the default 10 s.
      ["many", proxy.url, "--threads", "12", "--timeout", "30", ...kill],
      input,
    );
    return { ...outcome, killed };
  } finally {
    await proxy.stop();
    for (const replica of replicas) replica.kill("SIGTERM");
    await Promise.all(replicas.map((r) => r.status));
  }
}

Deno.test({
  name: "three replicas behind haproxy: a SIGKILLed replica costs no verdict, 974 MBPP programs",
  ignore: reason !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    // The same time limit as the replicas get from verl's client below (--timeout 30).
    const limits = { wallMs: 30_000, cpuMs: 30_000 };
    const executor = await createExecutor({ languages: ["python"], limits });
    const inProcess = new Map<string, string>();
    try {
      await Promise.all(programs!.map(async ({ id, code }) => {
        const execution = await executor.execute({ language: "python", mode: "test", code });
        inProcess.set(id, execution.status);
      }));
    } finally {
      await executor.close();
    }
    await t.step("with POST retries every program is a success, as in-process", async () => {
      const outcome = await sendKillingOne(true);
      assert.equal(outcome.killed_at, Math.floor(974 / 3));
      assert.equal((await outcome.killed.status).signal, "SIGKILL");
      const verdicts = Object.entries(outcome.results);
      assert.equal(verdicts.length, 974);
      const failed = verdicts.filter(([, r]) => r.result !== true);
      assert.deepEqual(failed, []);
      for (const [id, r] of verdicts) {
        assert.equal(r.status === "success", inProcess.get(id) === "passed", `task ${id}`);
      }
      console.log(`974 programs in ${outcome.seconds.toFixed(1)} s through haproxy and verl`);
    });
    await t.step("without POST retries the same kill fails the programs in flight", async () => {
      const outcome = await sendKillingOne(false);
      assert.equal((await outcome.killed.status).signal, "SIGKILL");
      const failed = Object.values(outcome.results).filter((r) => r.result !== true);
      assert.ok(failed.length > 0, "no program failed: the kill did not hit work in flight");
      for (const r of failed) {
        assert.equal(r.status, "api_error");
        assert.match(r.api_request_error ?? "", /502/);
      }
      console.log(`without retries ${failed.length} of 974 programs failed (HTTP 502)`);
    });
  },
});
