/**
 * One replica process under pressure and under SIGTERM: a burst larger than its queue is refused
 * with fast 504s that verl's client rides out, and a drain finishes the work in hand.
 */

import assert from "node:assert/strict";
import { runClients, serviceClients, startReplica } from "./_service.ts";

const clients = await serviceClients();
const noClients = "reason" in clients ? clients.reason : undefined;
if (noClients) console.log(`replica_test.ts: the verl step is ignored: ${noClients}`);

/** One `/run_code` call; its HTTP status, latency and body. */
async function runCode(url: string, code: string) {
  const started = performance.now();
  const response = await fetch(`${url}/run_code`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, language: "python" }),
  });
  const body = await response.json();
  return { status: response.status, ms: performance.now() - started, body };
}

async function stats(url: string) {
  return await (await fetch(`${url}/v1/stats`)).json() as {
    inFlight: number;
    capacity: number;
    refused: number;
  };
}

Deno.test({
  name: "a replica with 1 worker refuses a burst of 50 with fast 504s",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const replica = await startReplica({ workers: 1 });
    try {
      const { capacity } = await stats(replica.url);
      assert.equal(capacity, 17); // 1 worker + the default queue of 16 per worker
      await t.step("every request beyond the capacity is a 504 answered at once", async () => {
        const code = "import time\ntime.sleep(0.2)\nprint('done')";
        const answers = await Promise.all(
          Array.from({ length: 50 }, () => runCode(replica.url, code)),
        );
        const refused = answers.filter((a) => a.status === 504);
        const served = answers.filter((a) => a.status === 200);
        assert.equal(refused.length + served.length, 50);
        assert.ok(refused.length >= 50 - capacity, `only ${refused.length} refusals`);
        for (const a of served) assert.equal(a.body.run_result.stdout, "done\n");
        const slowestRefusal = Math.max(...refused.map((a) => a.ms));
        const fastestServed = Math.min(...served.map((a) => a.ms));
        assert.ok(slowestRefusal < 500, `a refusal took ${slowestRefusal.toFixed(0)} ms`);
        assert.ok(slowestRefusal < fastestServed, "a refusal waited for an execution");
        console.log(
          `${refused.length} refusals, slowest ${slowestRefusal.toFixed(1)} ms; ` +
            `${served.length} served, fastest ${fastestServed.toFixed(0)} ms`,
        );
      });
      await t.step({
        name: "verl's client, 50 at once, retries the 504s and ends with no error",
        ignore: noClients !== undefined,
        fn: async () => {
          const before = (await stats(replica.url)).refused;
          const programs = Array.from({ length: 50 }, (_, i) => ({
            id: String(i),
            code: `import time\ntime.sleep(0.01)\nprint(${i})`,
          }));
          const outcome = await runClients<{ results: Record<string, { result: unknown }> }>(
            clients as Exclude<typeof clients, { reason: string }>,
            ["many", replica.url, "--threads", "50"],
            programs.map((p) => JSON.stringify(p)).join("\n"),
          );
          const results = Object.values(outcome.results).map((r) => r.result);
          assert.deepEqual(results, Array(50).fill(true));
          const refused = (await stats(replica.url)).refused - before;
          assert.ok(refused > 0, "the burst was never refused: it did not test back-pressure");
          console.log(`verl: 50 of 50 success after ${refused} refusals (HTTP 504)`);
        },
      });
    } finally {
      replica.kill("SIGKILL");
      await replica.status;
    }
  },
});

Deno.test({
  name: "SIGTERM drains a replica: the work in hand finishes, new work is refused",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const replica = await startReplica({ workers: 2 });
    try {
      const code = "import time\ntime.sleep(1)\nprint('finished')";
      const inHand = Array.from({ length: 6 }, () => runCode(replica.url, code));
      while ((await stats(replica.url)).inFlight < 6) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      replica.kill("SIGTERM");
      // The signal arrives asynchronously: readiness turns to 503 "draining" within moments.
      let state = "";
      for (let i = 0; i < 100 && state !== "draining"; i++) {
        const ready = await fetch(`${replica.url}/v1/ready`);
        const body = await ready.json();
        state = ready.status === 503 ? body.state : "";
        if (state !== "draining") await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(state, "draining");
      const late = await runCode(replica.url, "print('late')");
      assert.equal(late.status, 504);
      const answers = await Promise.all(inHand);
      for (const answer of answers) {
        assert.equal(answer.status, 200);
        assert.equal(answer.body.status, "Success");
        assert.equal(answer.body.run_result.stdout, "finished\n");
      }
      const status = await replica.status;
      assert.equal(status.code, 0);
      assert.ok(replica.log.some((line) => line.includes("drained and stopped")));
    } finally {
      replica.kill("SIGKILL");
    }
  },
});
