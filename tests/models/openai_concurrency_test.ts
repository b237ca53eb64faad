/**
 * The `openai:` backend through the path the command line takes (`createModelBackend` with
 * `--backend` strings, then the generation stage): the concurrency setting is honoured end to
 * end, counted as requests in flight on a local server, and every retry is said on the log.
 *
 * @module
 */

import assert from "node:assert/strict";
import { generateSamples } from "../../src/generate.ts";
import { createModelBackend } from "../../src/models/registry.ts";
import type { Sampling } from "../../src/models/backend.ts";
import type { Task } from "../../src/types.ts";

const SAMPLING: Sampling = {
  n: 1,
  temperature: 0,
  topP: 1,
  topK: 0,
  maxTokens: 16,
  stop: [],
  seed: 0,
};

function tasks(count: number): Task[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `toy/${i}`,
    language: "python",
    prompt: `def f${i}():\n`,
    reference: "",
    check: { kind: "compile" },
    meta: {},
  }));
}

/** A server that answers after `delayMs`, counting requests in flight; `fail` answers 500 first. */
function fakeServer(delayMs: number, failFirst = 0) {
  let inFlight = 0;
  let maxInFlight = 0;
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    requests++;
    if (requests <= failFirst) {
      return Response.json({ error: { message: "warming up" } }, { status: 500 });
    }
    const body = await req.json() as { prompt: string; n: number };
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    inFlight--;
    const choices = Array.from({ length: body.n }, (_, index) => ({ index, text: "  return 1\n" }));
    return Response.json({ choices });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    stats: () => ({ maxInFlight, requests }),
    close: () => server.shutdown(),
  };
}

async function generate(model: string, options: Record<string, string>, count: number) {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-openai-concurrency-" });
  const logs: string[] = [];
  const backend = await createModelBackend(model, options, { log: (m) => logs.push(m) });
  try {
    const result = await generateSamples(tasks(count), backend, {
      runDir: dir,
      sampling: SAMPLING,
      prompt: (task) => task.prompt,
      toCode: (task, raw) => task.prompt + raw,
    });
    return { result, logs };
  } finally {
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openai: backend through the generation stage", async (t) => {
  await t.step("keeps --backend concurrency=64 requests in flight, not 4", async () => {
    const server = fakeServer(150);
    try {
      const { result } = await generate(
        "openai:tiny",
        { "base-url": server.baseUrl, concurrency: "64" },
        200,
      );
      assert.equal(result.samples.length, 200);
      assert.equal(server.stats().maxInFlight, 64);
    } finally {
      await server.close();
    }
  });

  await t.step("never exceeds a concurrency of 3", async () => {
    const server = fakeServer(30);
    try {
      await generate("openai:tiny", { "base-url": server.baseUrl, concurrency: "3" }, 20);
      assert.equal(server.stats().maxInFlight, 3);
    } finally {
      await server.close();
    }
  });

  await t.step("says each retry on the log: status, attempt and wait", async () => {
    const server = fakeServer(1, 2);
    try {
      const { result, logs } = await generate(
        "openai:tiny",
        { "base-url": server.baseUrl, concurrency: "1", backoff: "1" },
        1,
      );
      assert.equal(result.samples.length, 1);
      const url = `${server.baseUrl}/completions`;
      assert.equal(logs.length, 2);
      assert.match(
        logs[0]!,
        new RegExp(`^${url}: 500 Internal Server Error: "warming up": retry 1 of 6 in \\d+ ms$`),
      );
      assert.match(logs[1]!, /: retry 2 of 6 in \d+ ms$/);
    } finally {
      await server.close();
    }
  });
});
