/**
 * Every `deno task` that runs a script (`deno run ... FILE.ts`, read from `deno.json`, so a
 * command added later is held to the same rules: the commands of `src/cli/` and the experiments
 * under `tests/`): `--help` prints its usage and exits 0, `--version` prints the
 * version, a mistyped option is named with the one meant on stderr with exit status 2, and no
 * error prints a stack trace. Then the command-line faults of issue 14, each as a user meets them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import denoJson from "../../deno.json" with { type: "json" };
import { fixturePath } from "../_shared.ts";
import { getBenchmark } from "../../benchmarks/mod.ts";
import { runBenchmark } from "../../src/run.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TASKS = Object.entries(denoJson.tasks as Record<string, string>)
  .filter(([, command]) => /^deno run .*\.ts$/.test(command))
  .map(([name]) => name);

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `deno task <name> ...args` from the repository root; `deno task`'s own echo line dropped. */
async function task(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Outcome> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  // Deno's own note while another `deno task` holds node_modules' lock (these run at once) is
  // not the command's output.
  const stderr = decode(output.stderr).replace(/^Blocking waiting for file lock on [^\n]*\n/gm, "");
  return { code: output.code, stdout: decode(output.stdout), stderr };
}

/** A stack frame line, as Deno prints one. */
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

Deno.test("every deno task command", async (t) => {
  assert.ok(TASKS.length >= 8, `${TASKS}`);
  const outcomes = await Promise.all(TASKS.map(async (name) => ({
    name,
    help: await task(name, ["--help"]),
    typo: await task(name, ["--hlep"]),
  })));
  for (const { name, help, typo } of outcomes) {
    await t.step(`${name} --help prints its usage and exits 0`, () => {
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^Usage: deno task ${name.replace(":", "\\:")} `));
      assert.ok(help.stdout.includes("\nExit status:\n  0   success\n"), help.stdout);
      assert.doesNotMatch(help.stderr, STACK);
    });
    await t.step(`${name} --hlep is named on stderr with the option meant, exit 2`, () => {
      assert.equal(typo.code, 2, typo.stderr);
      assert.equal(typo.stdout, "");
      assert.match(typo.stderr, /^error: unknown option --hlep \(did you mean --help\?\)\nUsage: /);
      assert.doesNotMatch(typo.stderr, STACK);
    });
  }
  await t.step("--version prints the version", async () => {
    const { code, stdout } = await task("check", ["--version"]);
    assert.equal(code, 0);
    assert.match(stdout, /^ppocoder \d+\.\d+\.\d+ \(commit /);
  });
});

Deno.test("deno task bench on a user's mistakes", async (t) => {
  const data = fixturePath("mbpp/mbpp_small.jsonl");
  const reports = await Deno.makeTempDir({ prefix: "ppocoder-cli-" });
  const bench = (...args: string[]) =>
    task("bench", ["mbpp", "--reports", reports, "--allow-unverified", ...args], {
      // Before, a missing --data silently fell back to this copy.
      PPOCODER_DATA: fixturePath("."),
    });
  try {
    await t.step("a typo names the option meant", async () => {
      const { code, stderr } = await bench("--modle", "reference");
      assert.equal(code, 2);
      assert.match(stderr, /^error: unknown option --modle \(did you mean --model\?\)\n/);
    });
    await t.step("a --data that does not exist is an error before anything else", async () => {
      const { code, stderr } = await bench("--data", "does/not/exist");
      assert.equal(code, 2, stderr);
      assert.match(
        stderr,
        /^error: option --data names "does\/not\/exist", which does not exist: pass the dataset file/,
      );
      assert.deepEqual([...Deno.readDirSync(reports)], []);
    });
    await t.step("a --backend option on a backend that takes none is refused", async () => {
      const { code, stderr } = await bench("--data", data, "--backend", "timeout=5");
      assert.equal(code, 1);
      assert.match(
        stderr,
        /\nerror: Cannot use --backend timeout=5 with the reference backend as it takes no options: remove it/,
      );
      assert.doesNotMatch(stderr, STACK);
    });
    await t.step("an unknown backend or backend option names the one meant", async () => {
      const backend = await bench("--data", data, "--model", "opnai:gpt");
      assert.equal(backend.code, 1);
      assert.match(
        backend.stderr,
        /\nerror: Cannot use model "opnai:gpt" as "opnai" is not a known backend \(did you mean openai\?\): use one of /,
      );
      const option = await bench(
        "--data",
        data,
        "--model",
        "openai:gpt",
        "--backend",
        "concurency=64",
      );
      assert.equal(option.code, 1);
      assert.match(
        option.stderr,
        /\nerror: Cannot use --backend concurency=64 with the openai backend as it knows only: api, .* \(did you mean concurrency\?\)\n$/,
      );
    });
    await t.step("runBenchmark() refuses a data path that does not exist, first", async () => {
      await assert.rejects(
        runBenchmark(getBenchmark("mbpp"), { data: "does/not/exist", reportsDir: reports }),
        {
          name: "NotFound",
          message: `Cannot read the dataset as --data "does/not/exist" does not exist: pass the ` +
            `dataset file or the folder that holds it, or leave --data out to use ` +
            `$PPOCODER_DATA, the cache or a download`,
        },
      );
    });
    await t.step("an unknown benchmark names the one meant", async () => {
      const { code, stderr } = await task("bench", ["mbp"]);
      assert.equal(code, 2);
      assert.match(stderr, /^error: unknown benchmark "mbp" \(did you mean mbpp\?\): use one of /);
    });
    await t.step("error hints name real backend options", async () => {
      const { stdout } = await task("bench", ["--help"]);
      assert.doesNotMatch(stdout, /--api-key|--api chat|--retries/);
      assert.match(stdout, /--backend KEY=VALUE/);
    });
  } finally {
    await Deno.remove(reports, { recursive: true });
  }
});

Deno.test("deno task serve on a user's mistakes", async (t) => {
  await t.step("--reports that does not exist is an error, not a silent empty board", async () => {
    const { code, stderr } = await task("serve", ["--reports", "no/such/dir", "--port", "0"]);
    assert.equal(code, 2);
    assert.match(stderr, /^error: option --reports names "no\/such\/dir", which does not exist: /);
  });
  await t.step("a busy port is one line that says what to do, no stack trace", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    try {
      const { code, stderr } = await task("serve", [
        "--reports",
        fixturePath("reports"),
        "--port",
        String(port),
      ]);
      assert.equal(code, 1);
      assert.equal(
        stderr.trim(),
        `error: Cannot listen on 127.0.0.1:${port} as the address is in use: stop the server ` +
          `that holds it, or pass --port N (--port 0 picks a free port)`,
      );
    } finally {
      listener.close();
    }
  });
});
