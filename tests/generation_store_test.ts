import assert from "node:assert/strict";
import { Hono } from "hono";
import { join } from "node:path";
import { getBenchmark } from "../benchmarks/mod.ts";
import { runBenchmark, type RunOptions } from "../src/run.ts";
import { fixturePath } from "./_shared.ts";

const mbpp = getBenchmark("mbpp");

/** An OpenAI-compatible completions server that counts the requests it answers. */
function fakeServer() {
  const prompts: string[] = [];
  const app = new Hono();
  app.post("/v1/completions", async (c) => {
    const body = await c.req.json() as { prompt: string; n: number };
    prompts.push(body.prompt);
    return c.json({
      choices: Array.from({ length: body.n }, (_, i) => ({
        index: i,
        text: `def f():\n    return ${i}\n`,
      })),
      usage: { prompt_tokens: 10, completion_tokens: 5 * body.n },
    });
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  return {
    prompts,
    url: `http://127.0.0.1:${server.addr.port}/v1`,
    close: () => server.shutdown(),
  };
}

Deno.test("the generations store: a rerun with only judging settings changed asks the model nothing", async (t) => {
  const dir = await Deno.makeTempDir();
  const server = fakeServer();
  try {
    const base: RunOptions = {
      model: "openai:tiny",
      backendOptions: { "base-url": server.url, retries: "0" },
      data: fixturePath("mbpp/mbpp_small.jsonl"),
      allowUnverified: true,
      split: "all",
      limit: 4,
      sampling: { n: 2, temperature: 0.8 },
      isolation: "none",
      workers: 2,
      reportsDir: join(dir, "reports"),
    };
    const asked = async (options: RunOptions) => {
      const before = server.prompts.length;
      const result = await runBenchmark(mbpp, options);
      return { result, requests: server.prompts.length - before };
    };
    const first = await asked({ ...base, k: [1] });
    await t.step("the first run asks once per task", () => {
      assert.equal(first.requests, 4);
      assert.equal(first.result.report.usage?.requests, 4);
    });
    await t.step("--k changed: same run folder, zero requests", async () => {
      const again = await asked({ ...base, k: [1, 2] });
      assert.equal(again.requests, 0);
      assert.equal(again.result.runDir, first.result.runDir);
      assert.equal(again.result.report.comparabilityKey, first.result.report.comparabilityKey);
      assert.equal(typeof again.result.report.metrics["pass@2"], "number");
    });
    await t.step("--timeout changed: another run folder and key, zero requests", async () => {
      const again = await asked({ ...base, limits: { wallMs: 5000 } });
      assert.equal(again.requests, 0);
      assert.notEqual(again.result.runDir, first.result.runDir);
      assert.notEqual(again.result.report.comparabilityKey, first.result.report.comparabilityKey);
      assert.equal(again.result.report.usage?.requests, 0);
    });
    await t.step(
      "--sanitize changed: the stored raw text is sanitized again, zero requests",
      async () => {
        const again = await asked({ ...base, sanitize: false });
        assert.equal(again.requests, 0);
      },
    );
    await t.step("--limit larger: only the new tasks are asked for", async () => {
      const more = await asked({ ...base, limit: 6 });
      assert.equal(more.requests, 2);
    });
    await t.step("other sampling: asked again", async () => {
      const other = await asked({ ...base, sampling: { n: 2, temperature: 0.2 } });
      assert.equal(other.requests, 4);
    });
    await t.step("a larger n asks only for the new indices", async () => {
      const bigger = await asked({ ...base, sampling: { n: 3, temperature: 0.8 } });
      assert.equal(bigger.requests, 4);
      assert.equal(bigger.result.report.metrics.samples, 12);
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
