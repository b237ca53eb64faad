import assert from "node:assert/strict";
import { Hono } from "hono";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixturePath } from "../_shared.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Answered requests before the server stops answering (the rest hang until the test ends). */
const ANSWERED_BEFORE_KILL = 3;
const N = 2;

/** `deno task bench mbpp --model openai:tiny` against `baseUrl`, writing under `reportsDir`. */
function benchCommand(baseUrl: string, reportsDir: string): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    cwd: ROOT,
    args: [
      "run",
      "--allow-all",
      "src/cli/bench.ts",
      "mbpp",
      "--model",
      "openai:tiny",
      "--backend",
      `base-url=${baseUrl}`,
      "--backend",
      "retries=0",
      "--data",
      fixturePath("mbpp/mbpp_small.jsonl"),
      "--allow-unverified",
      "--split",
      "all",
      "--n",
      String(N),
      "--temperature",
      "0.8",
      "--sandbox",
      "none",
      "--reports",
      reportsDir,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  });
}

async function findFile(dir: string, name: string): Promise<string | undefined> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isFile && entry.name === name) return path;
    if (entry.isDirectory) {
      const found = await findFile(path, name);
      if (found) return found;
    }
  }
  return undefined;
}

async function lineCount(path: string | undefined): Promise<number> {
  if (path === undefined) return 0;
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l.trim() !== "").length;
}

Deno.test({
  name: "bench with openai: resumes a killed run without requesting any generation twice",
  async fn() {
    const reportsDir = await Deno.makeTempDir({ prefix: "ppocoder_resume_" });
    const stop = new AbortController();
    const requests: { run: number; prompt: string }[] = [];
    let run = 1;
    let answered = 0;
    const app = new Hono();
    app.post("/v1/completions", async (c) => {
      const body = await c.req.json() as { prompt: string; n: number };
      requests.push({ run, prompt: body.prompt });
      if (run === 1 && answered >= ANSWERED_BEFORE_KILL) {
        await new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
        return c.text("too late", 503);
      }
      answered++;
      return c.json({
        choices: Array.from(
          { length: body.n },
          (_, i) => ({ index: i, text: `def f():\n    return ${i}\n` }),
        ),
        usage: { prompt_tokens: 10, completion_tokens: 5 * body.n },
      });
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
    const baseUrl = `http://127.0.0.1:${server.addr.port}/v1`;
    try {
      // Run 1: killed once the answered generations are on disk.
      const child = benchCommand(baseUrl, reportsDir).spawn();
      let exited = false;
      child.status.then(() => exited = true);
      const deadline = Date.now() + 60_000;
      let generations: string | undefined;
      while (await lineCount(generations) < ANSWERED_BEFORE_KILL * N) {
        if (exited || Date.now() > deadline) {
          if (!exited) child.kill("SIGKILL");
          const output = await child.output();
          assert.fail(
            `run 1 ${exited ? "ended" : "stored nothing within 60 s"} before the kill: ` +
              new TextDecoder().decode(output.stderr),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        generations ??= await findFile(reportsDir, "generations.jsonl");
      }
      child.kill("SIGKILL");
      const killed = await child.output();
      assert.equal(killed.success, false);
      assert.ok(
        requests.length > ANSWERED_BEFORE_KILL,
        "run 1 had no request in flight when killed",
      );
      const answeredInRun1 = new Set(requests.slice(0, ANSWERED_BEFORE_KILL).map((r) => r.prompt));
      assert.equal(answeredInRun1.size, ANSWERED_BEFORE_KILL);

      // Run 2: the same command resumes and asks only for what run 1 did not store.
      run = 2;
      const resumed = await benchCommand(baseUrl, reportsDir).output();
      const stderr = new TextDecoder().decode(resumed.stderr);
      assert.equal(resumed.success, true, stderr);
      const run2 = requests.filter((r) => r.run === 2).map((r) => r.prompt);
      assert.deepEqual(
        run2.filter((p) => answeredInRun1.has(p)),
        [],
        "a stored generation was requested again",
      );
      assert.equal(new Set(run2).size, run2.length, "run 2 asked for a task twice");

      const records = (await Deno.readTextFile(generations!)).trim().split("\n")
        .map((l) => JSON.parse(l) as { taskId: string; index: number });
      const keys = records.map((r) => `${r.taskId}#${r.index}`);
      assert.equal(new Set(keys).size, keys.length, "generations.jsonl holds a sample twice");
      const tasks = new Set(records.map((r) => r.taskId));
      assert.equal(records.length, tasks.size * N);
      assert.equal(run2.length, tasks.size - ANSWERED_BEFORE_KILL);
    } finally {
      stop.abort();
      await server.shutdown();
      await Deno.remove(reportsDir, { recursive: true });
    }
  },
});
