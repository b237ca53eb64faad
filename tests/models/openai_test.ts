import assert from "node:assert/strict";
import { Hono } from "hono";
import type { Context } from "hono";
import { OpenAiBackend, OpenAiError, parseRetryAfter } from "../../src/models/openai.ts";
import type { GenerationRequest, Sampling } from "../../src/models/backend.ts";
import type { Task } from "../../src/types.ts";

/** One request the test server saw. */
interface Seen {
  readonly scenario: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly authorization: string | null;
  readonly at: number;
}

interface Stats {
  maxInFlight: number;
}

const SAMPLING: Sampling = {
  n: 1,
  temperature: 0.7,
  topP: 0.9,
  topK: 0,
  maxTokens: 32,
  stop: ["\ndef "],
  seed: 7,
};

const TASK = { id: "toy/1", language: "python" } as Task;

function request(indices: number[], sampling: Partial<Sampling> = {}): GenerationRequest {
  return {
    task: TASK,
    prompt: "def add(a, b):\n",
    sampling: { ...SAMPLING, n: indices.length, ...sampling },
    indices,
  };
}

function completion(c: Context, body: Record<string, unknown>, choices: number) {
  const chat = c.req.path.endsWith("/chat/completions");
  return c.json({
    id: "x",
    choices: Array.from({ length: choices }, (_, i) => ({
      index: i,
      ...(chat
        ? { message: { role: "assistant", content: `chat ${i} seed ${body.seed}` } }
        : { text: `text ${i} seed ${body.seed}` }),
      finish_reason: "stop",
    })).reverse(),
    usage: { prompt_tokens: 5, completion_tokens: 4 * choices, total_tokens: 5 + 4 * choices },
  });
}

/**
 * A local OpenAI-compatible server on 127.0.0.1 with an ephemeral port. The first path segment
 * picks a behaviour: `ok`, `one` (ignores n), `flaky429`, `flaky500`, `down500`, `hang`,
 * `unauthorized`, `bad`, `notjson`, `slow`.
 */
async function withServer(
  fn: (base: (scenario: string) => string, seen: Seen[], stats: Stats) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const stats: Stats = { maxInFlight: 0 };
  const stop = new AbortController();
  const counts = new Map<string, number>();
  let inFlight = 0;
  const app = new Hono();
  app.post("/:scenario/v1/*", async (c) => {
    const scenario = c.req.param("scenario");
    const body = await c.req.json() as Record<string, unknown>;
    seen.push({
      scenario,
      path: c.req.path,
      body,
      authorization: c.req.header("authorization") ?? null,
      at: Date.now(),
    });
    const count = (counts.get(scenario) ?? 0) + 1;
    counts.set(scenario, count);
    const n = Number(body.n ?? 1);
    switch (scenario) {
      case "ok":
        return completion(c, body, n);
      case "one":
        return completion(c, body, 1);
      case "flaky429":
        return count === 1
          ? c.json({ error: { message: "Rate limit reached" } }, 429, { "retry-after": "1" })
          : completion(c, body, n);
      case "flaky500":
        return count <= 2 ? c.text("upstream crashed", 500) : completion(c, body, n);
      case "down500":
        return c.json({ error: { message: "model is loading" } }, 503);
      case "hang":
        // Answers only when the server shuts down, long after the client gave up.
        await new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
        return c.text("too late");
      case "unauthorized":
        return c.json({
          error: { message: "Incorrect API key provided", type: "invalid_request_error" },
        }, 401);
      case "bad":
        return c.json({
          object: "error",
          message: "This model's maximum context length is 2048 tokens",
        }, 400);
      case "notjson":
        return c.text("<html>proxy page</html>");
      case "slow": {
        inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 30));
        inFlight--;
        return completion(c, body, n);
      }
    }
    return c.text("unknown scenario", 404);
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const base = (scenario: string) => `http://127.0.0.1:${server.addr.port}/${scenario}/v1`;
  try {
    await fn(base, seen, stats);
  } finally {
    stop.abort();
    await server.shutdown();
  }
}

/** Fails the test if `promise` takes longer than `ms`. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

const FAST = { backoffMs: 1, maxBackoffMs: 2000, timeoutMs: 2000 } as const;

Deno.test("OpenAiBackend.generate()", async (t) => {
  await withServer(async (base, seen, stats) => {
    await t.step("asks /v1/completions for n samples and maps choices to indices", async () => {
      const backend = new OpenAiBackend("tiny", {
        baseUrl: base("ok"),
        apiKey: "sk-test",
        ...FAST,
      });
      const generations = await within(2000, backend.generate(request([2, 3, 5])));
      assert.deepEqual(generations, [
        { index: 2, raw: "text 0 seed 7", promptTokens: 5 },
        { index: 3, raw: "text 1 seed 7", promptTokens: 5 },
        { index: 5, raw: "text 2 seed 7", promptTokens: 5 },
      ]);
      const last = seen.at(-1)!;
      assert.equal(last.path, "/ok/v1/completions");
      assert.equal(last.authorization, "Bearer sk-test");
      assert.deepEqual(last.body, {
        model: "tiny",
        prompt: "def add(a, b):\n",
        max_tokens: 32,
        temperature: 0.7,
        top_p: 0.9,
        stop: ["\ndef "],
        n: 3,
        seed: 7,
      });
      assert.deepEqual(backend.usage(), { promptTokens: 5, completionTokens: 12, requests: 1 });
      assert.deepEqual(backend.identity, {
        backend: "openai",
        id: "tiny",
        settings: { api: "completions", baseUrl: base("ok") },
      });
    });

    await t.step("asks /v1/chat/completions with the system prompt and top_k", async () => {
      const backend = new OpenAiBackend("tiny", {
        baseUrl: base("ok"),
        api: "chat",
        systemPrompt: "Answer with code only.",
        ...FAST,
      });
      const generations = await within(
        2000,
        backend.generate(request([0], { topK: 40, stop: [] })),
      );
      assert.deepEqual(generations, [{
        index: 0,
        raw: "chat 0 seed 7",
        promptTokens: 5,
        completionTokens: 4,
      }]);
      const last = seen.at(-1)!;
      assert.equal(last.path, "/ok/v1/chat/completions");
      assert.equal(last.authorization, null);
      assert.deepEqual(last.body.messages, [
        { role: "system", content: "Answer with code only." },
        { role: "user", content: "def add(a, b):\n" },
      ]);
      assert.equal(last.body.top_k, 40);
      assert.equal("stop" in last.body, false);
    });

    await t.step("falls back to one request per sample when the server ignores n", async () => {
      const before = seen.length;
      const backend = new OpenAiBackend("tiny", { baseUrl: base("one"), ...FAST });
      const generations = await within(2000, backend.generate(request([0, 1, 2])));
      assert.deepEqual(generations.map((g) => [g.index, g.raw]), [
        [0, "text 0 seed 7"],
        [1, "text 0 seed 8"],
        [2, "text 0 seed 9"],
      ]);
      assert.deepEqual(seen.slice(before).map((s) => [s.body.n, s.body.seed]), [[3, 7], [1, 8], [
        1,
        9,
      ]]);
      assert.equal(backend.usage().requests, 3);
    });

    await t.step("waits as Retry-After says after a 429, then succeeds", async () => {
      const before = seen.length;
      const logs: string[] = [];
      const backend = new OpenAiBackend("tiny", {
        baseUrl: base("flaky429"),
        log: (m) => logs.push(m),
        ...FAST,
      });
      const generations = await within(4000, backend.generate(request([0])));
      assert.equal(generations[0]?.raw, "text 0 seed 7");
      const attempts = seen.slice(before);
      assert.equal(attempts.length, 2);
      assert.ok(attempts[1]!.at - attempts[0]!.at >= 900, "the retry came before Retry-After: 1");
      assert.deepEqual(logs, [
        `${
          base("flaky429")
        }/completions: 429 Too Many Requests: "Rate limit reached": retry 1 of 6 in 1000 ms`,
      ]);
    });

    await t.step("retries 500s with backoff, then succeeds", async () => {
      const before = seen.length;
      const backend = new OpenAiBackend("tiny", { baseUrl: base("flaky500"), ...FAST });
      const generations = await within(2000, backend.generate(request([0])));
      assert.equal(generations[0]?.raw, "text 0 seed 7");
      assert.equal(seen.length - before, 3);
      assert.equal(backend.usage().requests, 3);
    });

    await t.step("gives up on a server that keeps answering 503, with a clear error", async () => {
      const before = seen.length;
      const backend = new OpenAiBackend("tiny", {
        baseUrl: base("down500"),
        maxRetries: 2,
        ...FAST,
      });
      await within(
        2000,
        assert.rejects(backend.generate(request([0])), {
          name: "OpenAiError",
          message:
            `Cannot generate with "openai:tiny" as "${base("down500")}/completions" failed 3 ` +
            `times, last: 503 Service Unavailable: "model is loading": check that the server is ` +
            `up and not overloaded, or raise --backend timeout=MS and --backend retries=N`,
        }),
      );
      assert.equal(seen.length - before, 3);
    });

    await t.step("times out on a server that hangs, retries, then fails clearly", async () => {
      const before = seen.length;
      const backend = new OpenAiBackend("tiny", {
        baseUrl: base("hang"),
        timeoutMs: 100,
        maxRetries: 1,
        backoffMs: 1,
      });
      const started = Date.now();
      await within(
        2000,
        assert.rejects(backend.generate(request([0])), {
          name: "OpenAiError",
          message: `Cannot generate with "openai:tiny" as "${base("hang")}/completions" failed 2 ` +
            `times, last: no answer within 100 ms: check that the server is up and not ` +
            `overloaded, or raise --backend timeout=MS and --backend retries=N`,
        }),
      );
      assert.ok(Date.now() - started >= 200);
      assert.equal(seen.length - before, 2);
    });

    await t.step("fails at once on 401 with the server's message and what to do", async () => {
      const before = seen.length;
      const backend = new OpenAiBackend("tiny", {
        baseUrl: base("unauthorized"),
        apiKey: "wrong",
        ...FAST,
      });
      const error = await within(1000, backend.generate(request([0])).catch((e) => e));
      assert.ok(error instanceof OpenAiError);
      assert.equal(error.status, 401);
      assert.equal(
        error.message,
        `Cannot generate with "openai:tiny" as "${
          base("unauthorized")
        }/completions" answered 401 ` +
          `Unauthorized: "Incorrect API key provided": set OPENAI_API_KEY (or --backend api-key=KEY) to a key ` +
          `this server accepts`,
      );
      assert.equal(seen.length - before, 1);
    });

    await t.step("fails at once on 400 with the server's message and what to do", async () => {
      const backend = new OpenAiBackend("tiny", { baseUrl: base("bad"), ...FAST });
      await within(
        1000,
        assert.rejects(backend.generate(request([0])), {
          name: "OpenAiError",
          message:
            `Cannot generate with "openai:tiny" as "${base("bad")}/completions" answered 400 ` +
            `Bad Request: "This model's maximum context length is 2048 tokens": check the settings ` +
            `this server accepts (n, seed, stop, top_k), the prompt length against the model's ` +
            `context, and --backend api=chat or api=completions`,
        }),
      );
    });

    await t.step("fails clearly on a body that is not JSON", async () => {
      const backend = new OpenAiBackend("tiny", { baseUrl: base("notjson"), ...FAST });
      await assert.rejects(backend.generate(request([0])), {
        name: "OpenAiError",
        message:
          `Cannot generate with "openai:tiny" as "${base("notjson")}/completions" answered ` +
          `with a body that is not JSON: "<html>proxy page</html>"`,
      });
    });

    await t.step("keeps at most `concurrency` requests in flight", async () => {
      const backend = new OpenAiBackend("tiny", { baseUrl: base("slow"), concurrency: 2, ...FAST });
      const all = await within(
        3000,
        Promise.all(Array.from({ length: 6 }, (_, i) => backend.generate(request([i])))),
      );
      assert.equal(all.length, 6);
      assert.equal(stats.maxInFlight, 2);
    });

    await t.step("reads OPENAI_BASE_URL and OPENAI_API_KEY when no option is given", async () => {
      const saved = [Deno.env.get("OPENAI_BASE_URL"), Deno.env.get("OPENAI_API_KEY")];
      Deno.env.set("OPENAI_BASE_URL", `${base("ok")}/`);
      Deno.env.set("OPENAI_API_KEY", "sk-env");
      try {
        const backend = new OpenAiBackend("tiny", FAST);
        await within(1000, backend.generate(request([0])));
        assert.equal(seen.at(-1)!.authorization, "Bearer sk-env");
        assert.equal(backend.identity.settings.baseUrl, base("ok"));
      } finally {
        for (const [name, value] of [["OPENAI_BASE_URL", saved[0]], ["OPENAI_API_KEY", saved[1]]]) {
          if (value === undefined) Deno.env.delete(name!);
          else Deno.env.set(name!, value);
        }
      }
    });
  });

  await t.step("reports a refused connection after one retry, naming the address", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close(); // nothing listens there now
    const logs: string[] = [];
    // The default retries (6) and backoff (1 s doubling) took 48.7 s before this was reported.
    const backend = new OpenAiBackend("tiny", {
      baseUrl: `http://127.0.0.1:${port}/v1`,
      log: (m) => logs.push(m),
    });
    const started = Date.now();
    const error = await within(3000, backend.generate(request([0])).catch((e) => e));
    assert.ok(Date.now() - started < 3000);
    assert.ok(error instanceof OpenAiError);
    const url = `http://127.0.0.1:${port}/v1/completions`;
    assert.match(
      error.message,
      new RegExp(
        `^Cannot generate with "openai:tiny" as "${url}" refused the connection 2 times ` +
          `\\(network error: .*[Cc]onnection refused.*\\): nothing listens at that address; start ` +
          `the server, or point --backend base-url=URL \\(or \\$OPENAI_BASE_URL\\) at it$`,
      ),
    );
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, new RegExp(`^${url}: network error: .*: retry 1 of 6 in \\d+ ms$`));
  });
});

Deno.test("OpenAiBackend() rejects an unknown api", () => {
  assert.throws(() => new OpenAiBackend("m", { api: "embeddings" as "chat" }), {
    name: "RangeError",
    message: 'Cannot use the OpenAI API "embeddings" as it must be "chat" or "completions": ' +
      "pass --backend api=chat or --backend api=completions",
  });
});

Deno.test("parseRetryAfter()", async (t) => {
  await t.step("reads delay-seconds", () => assert.equal(parseRetryAfter("2"), 2000));
  await t.step("reads an HTTP date", () => {
    const ms = parseRetryAfter(new Date(Date.now() + 5000).toUTCString())!;
    assert.ok(ms > 3000 && ms <= 5000, `${ms}`);
  });
  await t.step("ignores what it cannot read", () => {
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter("soon"), undefined);
  });
});
