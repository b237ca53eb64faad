import assert from "node:assert/strict";
import { createExecutor } from "../../sandbox/mod.ts";
import { SandboxService } from "../../sandbox/service/app.ts";

function post(service: SandboxService, path: string, body: unknown): Promise<Response> {
  return Promise.resolve(service.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  }));
}

Deno.test("SandboxService", async (t) => {
  const service = new SandboxService({ maxQueue: 0, podName: "pod-7" });
  await t.step("answers liveness at once and refuses work until the executor is up", async () => {
    const ping = await service.app.request("/v1/ping");
    assert.equal(await ping.text(), '"pong"');
    assert.equal((await service.app.request("/v1/ready")).status, 503);
    assert.equal((await service.app.request("/v1/info")).status, 503);
    const early = await post(service, "/run_code", { code: "print(1)", language: "python" });
    assert.equal(early.status, 504);
  });
  const executor = await createExecutor({ languages: ["python"], workers: 1 });
  try {
    await service.attach(executor);
    await t.step("is ready once the canary passed, and describes itself", async () => {
      const ready = await service.app.request("/v1/ready");
      assert.deepEqual(await ready.json(), { ready: true, state: "ready", reason: "" });
      const info = await (await service.app.request("/v1/info")).json();
      assert.deepEqual([info.workers, info.maxQueue, info.capacity, info.languages, info.pod], [
        1,
        0,
        1,
        ["python"],
        "pod-7",
      ]);
    });
    await t.step("/run_code validates the body as FastAPI does", async () => {
      const broken = await post(service, "/run_code", "{not json");
      assert.equal(broken.status, 422);
      assert.equal((await broken.json()).detail[0].type, "json_invalid");
      const noCode = await post(service, "/run_code", { language: "python" });
      assert.equal((await noCode.json()).detail[0].loc.join("."), "body.code");
      const unserved = await post(service, "/run_code", { code: "int main(){}", language: "cpp" });
      assert.equal((await unserved.json()).status, "SandboxError");
    });
    await t.step("a request beyond the capacity is a 504 at once, not a wait", async () => {
      const slow = post(service, "/run_code", {
        code: "import time\ntime.sleep(0.5)",
        language: "python",
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      const refused = await post(service, "/run_code", { code: "print(2)", language: "python" });
      assert.equal(refused.status, 504);
      assert.ok(performance.now() - started < 250);
      assert.match((await refused.json()).detail, /1 executions in hand of 1/);
      assert.equal((await (await slow).json()).status, "Success");
    });
    await t.step("/v1/execute streams one NDJSON line per request, errors included", async () => {
      const batch = await post(service, "/v1/execute", {
        requests: [{ language: "python", mode: "test", code: "assert 1 + 1 == 2" }],
      });
      assert.equal(batch.headers.get("content-type"), "application/x-ndjson");
      const lines = (await batch.text()).trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => [l.index, l.execution.status]), [[0, "passed"]]);
      const unprepared = await post(service, "/v1/execute", {
        requests: [{ language: "java", mode: "compile", code: "class A {}" }],
      });
      const [line] = (await unprepared.text()).trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(line.error.name, "ToolchainError");
      const tooBig = await post(service, "/v1/execute", {
        requests: [1, 2].map(() => ({ language: "python", mode: "run", code: "" })),
      });
      assert.equal(tooBig.status, 413);
      const invalid = await post(service, "/v1/execute", { requests: [{ mode: "run" }] });
      assert.equal(invalid.status, 422);
    });
    await t.step("drain() finishes the work in hand and refuses new work", async () => {
      const inHand = post(service, "/run_code", {
        code: "import time\ntime.sleep(0.3)\nprint('kept')",
        language: "python",
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const drained = service.drain();
      assert.equal((await service.app.request("/v1/ready")).status, 503);
      const late = await post(service, "/run_code", { code: "print(3)", language: "python" });
      assert.equal(late.status, 504);
      assert.equal(late.headers.get("connection"), "close");
      await drained;
      assert.equal((await (await inHand).json()).run_result.stdout, "kept\n");
      assert.deepEqual(
        [service.stats().inFlight, service.stats().refused > 0, service.state],
        [0, true, "draining"],
      );
    });
  } finally {
    await executor.close();
  }
});
