/**
 * The hostile-input suite: programs from `tests/fixtures/hostile/<language>/` (and a few generated
 * here) that try to break the executor. Each gets its exact status, leaves no process or file on
 * the host, and the next ordinary execution of the same language still passes.
 *
 * A case runs for every language that has its fixture file and whose toolchain is present; all
 * languages of a case run at once, each checked in its own step.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExecutor } from "../../sandbox/mod.ts";
import { type Language, LANGUAGES } from "../../sandbox/languages.ts";
import type { Executor, ExecutorOptions, Limits } from "../../sandbox/types.ts";
import type { Execution, ExecutionMode, ExecutionStatus } from "../../src/types.ts";
import {
  descendantsOf,
  escapedProcesses,
  eventually,
  findFiles,
  markerPrefix,
  newMarker,
  processesWith,
  readFixture,
  REPO_DIR,
} from "./_host.ts";
import { missingToolchain } from "./_toolchains.ts";

/** Small limits keep the suite fast; every hostile case runs under them or tighter ones. */
const LIMITS: Partial<Limits> = {
  wallMs: 2000,
  cpuMs: 2000,
  memoryMb: 256,
  processes: 64,
  outputBytes: 64 * 1024,
};
/**
 * How far past its wall limit a run may be reported to have run: killing and reaping, on a
 * 2-core machine that is busy with the other languages of the case.
 */
const WALL_SLACK_MS = 1500;
/** Concurrent executions: hostile programs mostly sleep, spin or get killed. */
const WORKERS = 8;
/** Where stray files would land on the host. */
const HOST_DIRS = [...new Set([REPO_DIR, tmpdir(), "/tmp", "/var/tmp", "/dev/shm"])];
const ESCAPED_AT_START = new Set(escapedProcesses());

/**
 * Sandboxed processes that outlived their executor and were not there when the suite began,
 * after up to 3 s: test files run in parallel, and a sandbox of another file's executor may be
 * dying at the moment we look (its Deno process gone, its bwrap not yet killed). A process that
 * really escaped is still there after that.
 */
async function newlyEscaped(): Promise<string[]> {
  const escaped = () => escapedProcesses().filter((process) => !ESCAPED_AT_START.has(process));
  await eventually(() => escaped().length === 0, 3000);
  return escaped();
}

const LANGUAGE_NAMES = Object.keys(LANGUAGES) as Language[];
const AVAILABLE = LANGUAGE_NAMES.filter((language) => {
  const reason = missingToolchain(language);
  if (reason !== undefined) console.warn(`ignored in the hostile suite: ${reason}`);
  return reason === undefined;
});

/** Available languages that have `tests/fixtures/hostile/<language>/<fixture>`. */
function languagesWith(fixture: string): Language[] {
  return AVAILABLE.filter((language) => readFixture("hostile", language, fixture) !== undefined);
}

function hostileCode(language: Language, fixture: string, marker: string): string {
  const code = readFixture("hostile", language, fixture, marker);
  assert.ok(code !== undefined, `missing fixture hostile/${language}/${fixture}`);
  return code;
}

function helloCode(language: Language): string {
  const code = readFixture("languages", language, "hello");
  assert.ok(code !== undefined, `missing fixture languages/${language}/hello`);
  return code;
}

function describe(execution: Execution): string {
  const { status, exitCode, wallMs, cpuMs, peakMemoryKb } = execution;
  const stdout = execution.stdout.slice(0, 200);
  const stderr = execution.stderr.slice(0, 600);
  return JSON.stringify({ status, exitCode, wallMs, cpuMs, peakMemoryKb, stdout, stderr });
}

function assertStatus(execution: Execution, expected: readonly ExecutionStatus[], what: string) {
  assert.ok(
    expected.includes(execution.status),
    `${what}: expected ${expected.join(" or ")}, got ${describe(execution)}`,
  );
}

/** Runs `fn` with a fresh executor for `languages`, closed afterwards. */
async function withExecutor(
  languages: readonly Language[],
  fn: (executor: Executor) => Promise<void>,
  options: ExecutorOptions = {},
): Promise<void> {
  const executor = await createExecutor({ workers: WORKERS, ...options, languages });
  try {
    await fn(executor);
  } finally {
    await executor.close();
  }
}

/**
 * Runs `check(language)` for every language at once and reports each in its own step, so that
 * the slowest language, not the sum, sets the time a case takes.
 */
async function stepPerLanguage(
  t: Deno.TestContext,
  languages: readonly Language[],
  check: (language: Language) => Promise<void>,
): Promise<void> {
  const runs = languages.map((language) => check(language));
  for (const run of runs) run.catch(() => {}); // each is awaited (and reported) in its step
  for (const [i, language] of languages.entries()) {
    await t.step(language, () => runs[i]!);
  }
}

/** The next ordinary execution of `language` passes: hello world prints its greeting. */
async function assertHealthy(executor: Executor, language: Language): Promise<number> {
  const start = performance.now();
  const execution = await executor.execute({ language, mode: "run", code: helloCode(language) });
  assertStatus(execution, ["passed"], `${language} hello world after the hostile case`);
  assert.equal(execution.stdout, "Hello, world!\n");
  return performance.now() - start;
}

/** No process carrying `marker` is alive (zombies aside) shortly after its execution ended. */
async function assertNoneLeft(marker: string): Promise<void> {
  await eventually(() => processesWith(marker).length === 0, 300);
  assert.deepEqual(processesWith(marker), [], `processes left behind by ${marker}`);
}

/** Results of a probe fixture (one line per command), checked against `expected` (undefined = any). */
function assertProbe(
  execution: Execution,
  commands: readonly (readonly [string, string | undefined])[],
  what: string,
): string[] {
  assertStatus(execution, ["passed"], what);
  const lines = execution.stdout.split("\n").slice(0, commands.length);
  assert.equal(
    lines.length,
    commands.length,
    `${what}: one line per command: ${describe(execution)}`,
  );
  commands.forEach(([command, expected], i) => {
    if (expected !== undefined) assert.equal(lines[i], expected, `${what}: "${command}"`);
  });
  return lines;
}

function probeInput(commands: readonly (readonly [string, string | undefined])[]): string {
  return commands.map(([command]) => command + "\n").join("");
}

// ---------------------------------------------------------------------------------------------
// Cases that share one shape: run the fixture, expect a status, then hello world passes.

interface HostileCase {
  readonly fixture: string;
  readonly title: string;
  readonly mode?: ExecutionMode;
  readonly limits?: Partial<Limits>;
  /** Limits of the compile step, for the executor of the case. */
  readonly compileLimits?: Partial<Limits>;
  readonly statuses: readonly ExecutionStatus[];
  /** Largest `wallMs` the run may report (the run's own, compile excluded). */
  readonly maxWallMs?: number;
  /** Largest time the test may wait for the execution, compile and queueing included. */
  readonly maxElapsedMs?: number;
  /** Largest time the hello world after the case may take, queueing included. */
  readonly maxHelloMs?: number;
  readonly check?: (execution: Execution) => void;
  /** Checks after the whole case, once every language is done. */
  readonly after?: () => Promise<void>;
}

function assertOutputCapped(execution: Execution): void {
  const limit = LIMITS.outputBytes!;
  const bytes = (text: string) => new TextEncoder().encode(text).length;
  assert.ok(bytes(execution.stdout) <= limit, `stdout kept ${bytes(execution.stdout)} bytes`);
  assert.ok(bytes(execution.stderr) <= limit, `stderr kept ${bytes(execution.stderr)} bytes`);
}

let ownBeforeForkBomb = 0;

const CASES: readonly HostileCase[] = [
  {
    fixture: "infinite_loop",
    title: "an infinite loop is a timeout",
    statuses: ["timeout"],
    maxWallMs: LIMITS.wallMs! + WALL_SLACK_MS,
  },
  {
    fixture: "thread_burn",
    title: "a CPU burn in 16 threads is a timeout at the wall limit",
    // CPU time is plentiful, so that it is the wall limit that has to stop the threads.
    limits: { cpuMs: 60_000 },
    statuses: ["timeout"],
    maxWallMs: LIMITS.wallMs! + WALL_SLACK_MS,
  },
  {
    fixture: "memory_hog",
    title: "a memory hog is a memory_limit",
    limits: { wallMs: 5000, cpuMs: 5000 },
    statuses: ["memory_limit"],
  },
  {
    fixture: "fork_bomb",
    title: "a fork bomb is contained and the host keeps its process count",
    limits: { processes: 32 },
    statuses: ["timeout", "runtime_error"],
    // Containment, not punctuality: killing and reaping the bomb may take a little longer.
    maxWallMs: LIMITS.wallMs! + 3000,
    maxHelloMs: 5000,
    async after() {
      // Only this test's own processes: its descendants (the executor's workers and sandboxes
      // among them; coarse, as a bomb that got out would leave hundreds), and anything carrying
      // its markers (a bomb renames itself, and every fork inherits the name, even one that got
      // out). Other jobs on the machine, sandboxing or not, start and end processes meanwhile.
      const own = () => descendantsOf().length;
      const back = await eventually(() => own() <= ownBeforeForkBomb + 64, 3000);
      assert.ok(back, `processes of this test: ${ownBeforeForkBomb} before, ${own()} after`);
      await eventually(() => processesWith(markerPrefix()).length === 0, 3000);
      assert.deepEqual(processesWith(markerPrefix()), [], "fork bomb processes left behind");
    },
  },
  {
    fixture: "output_flood",
    title: "an output flood is an output_limit",
    limits: { wallMs: 5000, cpuMs: 5000 },
    statuses: ["output_limit"],
    check: assertOutputCapped,
  },
  {
    fixture: "stderr_flood",
    title: "a stderr flood is an output_limit",
    limits: { wallMs: 5000, cpuMs: 5000 },
    statuses: ["output_limit"],
    check: assertOutputCapped,
  },
  {
    fixture: "signal_ignore",
    title: "a program that ignores SIGTERM and SIGINT is still killed at the wall limit",
    statuses: ["timeout"],
    maxWallMs: LIMITS.wallMs! + WALL_SLACK_MS,
  },
  {
    fixture: "compiler_bomb",
    title: "a compiler bomb is stopped within the limits",
    mode: "compile",
    compileLimits: { wallMs: 4000, cpuMs: 4000, memoryMb: 512 },
    statuses: ["compile_error", "timeout", "memory_limit"],
    maxElapsedMs: 4000 + 3000,
  },
];

/** Runs case `c` in `language`, then checks its status, its wall time and what it left behind. */
async function checkCase(executor: Executor, c: HostileCase, language: Language): Promise<void> {
  const marker = newMarker();
  const code = hostileCode(language, c.fixture, marker);
  const limits = { ...LIMITS, ...c.limits };
  const start = performance.now();
  const execution = await executor.execute({ language, mode: c.mode ?? "run", code, limits });
  const elapsedMs = Math.round(performance.now() - start);
  assertStatus(execution, c.statuses, `${language} ${c.fixture}`);
  const runWallMs = execution.cases?.[0]?.wallMs ?? execution.wallMs;
  if (c.maxWallMs !== undefined) {
    assert.ok(runWallMs <= c.maxWallMs, `the run took ${runWallMs} ms > ${c.maxWallMs}`);
  }
  if (c.maxElapsedMs !== undefined) {
    assert.ok(
      elapsedMs <= c.maxElapsedMs,
      `the execution took ${elapsedMs} ms > ${c.maxElapsedMs}`,
    );
  }
  c.check?.(execution);
  await assertNoneLeft(marker);
  const helloMs = Math.round(await assertHealthy(executor, language));
  if (c.maxHelloMs !== undefined) {
    assert.ok(helloMs <= c.maxHelloMs, `hello world took ${helloMs} ms > ${c.maxHelloMs}`);
  }
}

for (const c of CASES) {
  const languages = languagesWith(c.fixture);
  Deno.test({
    name: `hostile: ${c.title}`,
    ignore: languages.length === 0,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      ownBeforeForkBomb = descendantsOf().length;
      const options = c.compileLimits ? { compileLimits: c.compileLimits } : {};
      await withExecutor(languages, async (executor) => {
        await stepPerLanguage(t, languages, (language) => checkCase(executor, c, language));
        if (c.after) await t.step("the host is healthy afterwards", c.after);
      }, options);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Cases with their own shape.

const PROBE_LANGUAGES = languagesWith("probe");
const HOME = Deno.env.get("HOME") ?? "/root";

Deno.test({
  name: "hostile: writes outside the work dir fail and nothing appears on the host",
  ignore: PROBE_LANGUAGES.length === 0,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withExecutor(PROBE_LANGUAGES, async (executor) => {
      await stepPerLanguage(t, PROBE_LANGUAGES, async (language) => {
        const m = newMarker();
        const outside = [`/etc/${m}`, `/usr/${m}`, `${REPO_DIR}/${m}`, `${REPO_DIR}/tests/${m}`];
        const private_ = [`/tmp/${m}`, `/var/tmp/${m}`, `/dev/shm/${m}`, `${HOME}/${m}`];
        const commands: [string, string | undefined][] = [
          [`write inside-${m} x`, "ok"], // the work dir itself is writable
          [`read inside-${m}`, "content:x"],
          ...outside.map((path): [string, string] => [`write ${path} x`, "error"]),
          // These may be private, writable copies inside the sandbox; the host must not see them.
          ...private_.map((path): [string, undefined] => [`write ${path} x`, undefined]),
        ];
        const code = hostileCode(language, "probe", m);
        const stdin = [probeInput(commands)];
        const execution = await executor.execute({
          language,
          mode: "run",
          code,
          stdin,
          limits: LIMITS,
        });
        assertProbe(execution, commands, `${language} probe`);
        for (const path of [...outside, ...private_]) {
          assert.ok(!existsSync(path), `${path} appeared on the host`);
        }
        assert.deepEqual(findFiles(HOST_DIRS, m), [], "files left on the host");
        await assertHealthy(executor, language);
      });
    });
  },
});

Deno.test({
  name: "hostile: an execution cannot read another execution's files or the host's /tmp",
  ignore: PROBE_LANGUAGES.length === 0,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const hostSecret = join(tmpdir(), `${newMarker()}-host-secret`);
    writeFileSync(hostSecret, "host secret\n");
    try {
      // Twice as many workers as languages, so that each writer and its reader overlap.
      await withExecutor(PROBE_LANGUAGES, async (executor) => {
        await t.step("one after the other", async (t) => {
          await stepPerLanguage(t, PROBE_LANGUAGES, async (language) => {
            const s = `secret-${newMarker()}`;
            const code = hostileCode(language, "probe", s);
            const writes: [string, string | undefined][] = [
              ["cwd", undefined],
              [`write ${s} ${s}`, "ok"],
              [`write /tmp/${s} ${s}`, undefined],
              [`write /dev/shm/${s} ${s}`, undefined],
              [`read ${s}`, `content:${s}`],
            ];
            const stdin = [probeInput(writes)];
            const writer = await executor.execute({
              language,
              mode: "run",
              code,
              stdin,
              limits: LIMITS,
            });
            const [cwd] = assertProbe(writer, writes, `${language} writer`);
            const reads: [string, string][] = [
              [`read ${s}`, "error"],
              [`read /tmp/${s}`, "error"],
              [`read /dev/shm/${s}`, "error"],
              [`read ${cwd}/${s}`, "error"],
              [`read ${hostSecret}`, "error"],
            ];
            const readStdin = [probeInput(reads)];
            const reader = await executor.execute({
              language,
              mode: "run",
              code,
              stdin: readStdin,
              limits: LIMITS,
            });
            assertProbe(reader, reads, `${language} reader`);
            assert.deepEqual(findFiles(HOST_DIRS, s), [], "the secret is on the host");
          });
        });
        await t.step("at the same time", async (t) => {
          await stepPerLanguage(t, PROBE_LANGUAGES, async (language) => {
            const s = `secret-${newMarker()}`;
            const code = hostileCode(language, "probe", s);
            const limits = { ...LIMITS, wallMs: 6000 };
            const writes: [string, string][] = [
              [`write ${s} ${s}`, "ok"],
              [`write /tmp/${s} ${s}`, "ok"],
              ["sleep 1500", "slept"],
              [`read ${s}`, `content:${s}`],
            ];
            const reads: [string, string][] = [
              ["sleep 500", "slept"],
              [`read ${s}`, "error"],
              [`read /tmp/${s}`, "error"],
            ];
            const [writer, reader] = await Promise.all([
              executor.execute({
                language,
                mode: "run",
                code,
                stdin: [probeInput(writes)],
                limits,
              }),
              executor.execute({ language, mode: "run", code, stdin: [probeInput(reads)], limits }),
            ]);
            assertProbe(writer, writes, `${language} writer`);
            assertProbe(reader, reads, `${language} reader`);
          });
        });
      }, { workers: 2 * PROBE_LANGUAGES.length });
    } finally {
      rmSync(hostSecret, { force: true });
    }
  },
});

function hostIPv4(): string | undefined {
  return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    ?.address;
}

Deno.test({
  name: "hostile: network connects fail, loopback to a server of the test included",
  ignore: PROBE_LANGUAGES.length === 0,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
    const { port } = listener.addr;
    let accepted = 0;
    const serving = (async () => {
      for await (const conn of listener) {
        accepted++;
        conn.close();
      }
    })();
    try {
      const targets = ["127.0.0.1", hostIPv4(), "1.1.1.1"].filter((ip) => ip !== undefined);
      await withExecutor(PROBE_LANGUAGES, async (executor) => {
        await stepPerLanguage(t, PROBE_LANGUAGES, async (language) => {
          const commands = targets.map((
            ip,
          ): [string, string] => [`connect ${ip} ${port}`, "error"]);
          const code = hostileCode(language, "probe", "");
          const stdin = [probeInput(commands)];
          const limits = { ...LIMITS, wallMs: 5000 };
          const execution = await executor.execute({ language, mode: "run", code, stdin, limits });
          assertProbe(execution, commands, `${language} probe`);
          await assertHealthy(executor, language);
        });
      });
      await t.step("the server saw no connection, and does see the test's own", async () => {
        assert.equal(accepted, 0, "connections from inside the sandbox");
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        assert.ok(await eventually(() => accepted === 1, 2000), "the server works");
      });
    } finally {
      listener.close();
      await serving.catch(() => {});
    }
  },
});

const CHILD_LANGUAGES = languagesWith("sleeping_child").filter((l) => PROBE_LANGUAGES.includes(l));

Deno.test({
  name: "hostile: a sleeping child left behind is dead before the next execution",
  ignore: CHILD_LANGUAGES.length === 0,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withExecutor(CHILD_LANGUAGES, async (executor) => {
      await stepPerLanguage(t, CHILD_LANGUAGES, async (language) => {
        // The child sleeps a second, then writes late-<marker>.txt into its cwd and /tmp.
        const m = newMarker();
        const code = hostileCode(language, "sleeping_child", m);
        const limits = { ...LIMITS, wallMs: 4000 };
        const parent = await executor.execute({ language, mode: "run", code, limits });
        assertStatus(parent, ["passed"], `${language} sleeping_child`);
        assert.equal(parent.stdout, "spawned\n");
        await assertNoneLeft(m);
        const next: [string, string][] = [
          [`write mine-${m}.txt original`, "ok"],
          ["sleep 1500", "slept"],
          [`read mine-${m}.txt`, "content:original"],
          [`read late-${m}.txt`, "error"],
          [`read /tmp/late-${m}.txt`, "error"],
        ];
        const probe = hostileCode(language, "probe", m);
        const stdin = [probeInput(next)];
        const after = await executor.execute({ language, mode: "run", code: probe, stdin, limits });
        assertProbe(after, next, `${language} next execution`);
        assert.deepEqual(findFiles(HOST_DIRS, `late-${m}`), [], "the child wrote on the host");
      });
    });
  },
});

/** Hello world followed by about 20 MB of comment lines. */
function giantSource(language: Language): string {
  const comment = language === "python" ? "#" : "//";
  const line = `${comment} ${"giant source line ".repeat(5)}\n`;
  return helloCode(language) + "\n" + line.repeat(Math.ceil(20_000_000 / line.length));
}

/** Languages of the giant-source case: an interpreter, the JVM, and native compilers. */
const GIANT_LANGUAGES = AVAILABLE.filter((language) =>
  ["python", "c", "cpp", "java", "javascript", "go", "rust"].includes(language)
);

Deno.test({
  name: "hostile: a 20 MB source file gets a clean status",
  ignore: GIANT_LANGUAGES.length === 0,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withExecutor(GIANT_LANGUAGES, async (executor) => {
      await stepPerLanguage(t, GIANT_LANGUAGES, async (language) => {
        const execution = await executor.execute({
          language,
          mode: "run",
          code: giantSource(language),
        });
        assertStatus(execution, ["passed", "compile_error"], `${language} giant source`);
        if (execution.status === "passed") assert.equal(execution.stdout, "Hello, world!\n");
        await assertHealthy(executor, language);
      });
    });
  },
});

/** 4 KiB of fixed pseudo-random bytes (NUL included), as a string of code points 0-255. */
function binaryGarbage(): string {
  let state = 0x2545f491;
  const bytes: number[] = [0, 1, 2, 0xff, 0xfe];
  while (bytes.length < 4096) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes.push(state >>> 24);
  }
  return String.fromCharCode(...bytes);
}

/** Languages where any text outside a tag is inline output: the garbage goes inside the tag. */
const GARBAGE_PREFIX: Partial<Record<Language, string>> = { php: "<?php\n" };

Deno.test({
  name: "hostile: binary garbage as source is a compile_error",
  ignore: AVAILABLE.length === 0,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withExecutor(AVAILABLE, async (executor) => {
      await stepPerLanguage(t, AVAILABLE, async (language) => {
        const code = (GARBAGE_PREFIX[language] ?? "") + binaryGarbage();
        const execution = await executor.execute({
          language,
          mode: "compile",
          code,
          limits: LIMITS,
        });
        assertStatus(execution, ["compile_error"], `${language} binary garbage`);
        assert.equal(execution.compiled, false);
        await assertHealthy(executor, language);
      });
    });
  },
});

Deno.test("hostile: no process of the suite is left on the host", async () => {
  assert.deepEqual(processesWith(markerPrefix()), [], "processes with a marker of this suite");
  assert.deepEqual(await newlyEscaped(), [], "sandboxed processes without an executor");
});
