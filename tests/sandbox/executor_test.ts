/**
 * The executor on Python, one status at a time, plus `run` mode, the isolation guarantees, the
 * errors for a missing toolchain or bubblewrap, a launcher that dies, and a hello world per
 * present toolchain. (The thorough per-language and hostile suites are `languages_test.ts` and
 * `hostile_test.ts`.)
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  createExecutor,
  type Executor,
  type Language,
  LANGUAGES,
  resolveToolchain,
  SandboxUnavailableError,
  ToolchainError,
} from "../../sandbox/mod.ts";
import type { Execution } from "../../src/types.ts";
import { missingToolchain } from "./_toolchains.ts";

const LIMITS = { wallMs: 3000, cpuMs: 3000, memoryMb: 256, outputBytes: 64 * 1024 };

function seen(execution: Execution): string {
  const { status, exitCode, wallMs, stdout, stderr } = execution;
  return JSON.stringify({
    status,
    exitCode,
    wallMs,
    stdout: stdout.slice(0, 200),
    stderr: stderr.slice(-400),
  });
}

async function withExecutor(
  options: Parameters<typeof createExecutor>[0],
  fn: (executor: Executor) => Promise<void>,
): Promise<void> {
  const executor = await createExecutor({ limits: LIMITS, ...options });
  try {
    await fn(executor);
  } finally {
    await executor.close();
  }
}

function commandLine(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Children of `pid`, whichever of its threads started them. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
      if (text) children.push(...text.split(" ").map(Number));
    }
  } catch {
    // gone meanwhile
  }
  return children;
}

/** Every process below `pid`. */
function descendantsOf(pid: number): number[] {
  const children = childrenOf(pid);
  return [...children, ...children.flatMap(descendantsOf)];
}

function processName(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "";
  }
}

/** Kills the first of `find()` with SIGKILL, looking again for up to 2 s; whether it did. */
async function eventuallyKill(find: () => number[]): Promise<boolean> {
  const deadline = performance.now() + 2000;
  while (performance.now() < deadline) {
    for (const pid of find()) {
      try {
        Deno.kill(pid, "SIGKILL");
        return true;
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Processes on the host whose command line contains `marker`. */
function hostProcessesWith(marker: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (cmdline.includes(marker) && !/\) Z /.test(stat)) found.push(`${entry.name}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

// These two run first: they need this process not to have found bwrap or PHP yet.
Deno.test("createExecutor() names the fix when bwrap is not on PATH", async () => {
  const path = Deno.env.get("PATH") ?? "";
  Deno.env.set("PATH", "/nonexistent");
  try {
    await assert.rejects(() => createExecutor({ languages: [] }), (error: unknown) => {
      assert.ok(error instanceof SandboxUnavailableError, String(error));
      assert.equal(
        error.message,
        'Cannot isolate executions as "bwrap" is not on PATH: install it ' +
          '("apt-get install bubblewrap") or pass --sandbox none to run without isolation',
      );
      return true;
    });
  } finally {
    Deno.env.set("PATH", path);
  }
});

Deno.test("resolveToolchain() names the apt package of a missing tool", async () => {
  const path = Deno.env.get("PATH") ?? "";
  Deno.env.set("PATH", "/nonexistent");
  try {
    await assert.rejects(() => resolveToolchain("php"), (error: unknown) => {
      assert.ok(error instanceof ToolchainError, String(error));
      assert.equal(
        error.message,
        'Cannot run "php" code as "php" is not on PATH: install it with "apt-get install php-cli" ' +
          'or leave "php" out of the languages',
      );
      assert.equal(error.apt, "php-cli");
      return true;
    });
  } finally {
    Deno.env.set("PATH", path);
  }
});

Deno.test("createExecutor() rejects a limit that is not a positive integer", async () => {
  await assert.rejects(() => createExecutor({ limits: { wallMs: 0 } }), {
    name: "RangeError",
    message: 'Cannot use the limit "wallMs" as it must be a positive integer: current value is 0',
  });
});

Deno.test("execute() on Python in test mode", async (t) => {
  await withExecutor({ workers: 2 }, async (executor) => {
    const cases: [string, string, Execution["status"], boolean][] = [
      [
        "passes when its asserts hold",
        "assert sorted([3, 1]) == [1, 3]\nprint('ok')",
        "passed",
        true,
      ],
      ["fails on a failed assert", "assert 1 + 1 == 3", "failed", true],
      ["fails on a non-zero exit", "import sys\nsys.exit(2)", "failed", true],
      ["passes on exit(0) and quit()", "exit(0)", "passed", true],
      ["is a runtime_error on another exception", "[][1]", "runtime_error", true],
      ["is a compile_error on a syntax error", "def f(:\n  pass", "compile_error", false],
      ["is a compile_error on a NUL byte", "x = 1\0", "compile_error", false],
      [
        "is a runtime_error when killed by a signal",
        "import os\nos.kill(os.getpid(), 15)",
        "runtime_error",
        true,
      ],
    ];
    const runs = cases.map(([, code]) =>
      executor.execute({ language: "python", mode: "test", code })
    );
    for (const [i, [name, , status, compiled]] of cases.entries()) {
      await t.step(name, async () => {
        const execution = await runs[i]!;
        assert.equal(execution.status, status, seen(execution));
        assert.equal(execution.compiled, compiled);
      });
    }
    await t.step("runs the program as __main__, as python3 main.py would", async () => {
      const code = "# -*- coding: utf-8 -*-\nimport os, sys\n" +
        "assert __name__ == '__main__' and __file__ == '/box/main.py', (__name__, __file__)\n" +
        "assert sys.argv == ['/box/main.py'] and sys.path[0] == '/box', sys.argv\n" +
        "assert os.environ['HOME'] == '/box' and os.environ['TMPDIR'] == '/box/tmp'\n" +
        "assert 'PYTHONHASHSEED' not in os.environ\n" +
        "import pickle\nclass C: pass\nassert type(pickle.loads(pickle.dumps(C()))) is C\n" +
        "print('é')";
      const execution = await executor.execute({ language: "python", mode: "test", code });
      assert.equal(execution.status, "passed", seen(execution));
      assert.equal(execution.stdout, "é\n");
    });
    await t.step("reports the traceback of the program only", async () => {
      const execution = await executor.execute({
        language: "python",
        mode: "test",
        code: "def f():\n    assert False, 'boom'\nf()",
      });
      assert.match(execution.stderr, /File "\/box\/main\.py", line 3, in <module>/);
      assert.match(execution.stderr, /AssertionError: boom\n$/);
      assert.doesNotMatch(execution.stderr, /zygote/);
    });
    await t.step("measures time and memory", async () => {
      const code = "x = b'x' * (64 << 20)\nimport time\nt = time.process_time()\n" +
        "while time.process_time() - t < 0.2: pass";
      const execution = await executor.execute({ language: "python", mode: "test", code });
      assert.equal(execution.status, "passed", seen(execution));
      assert.ok(execution.cpuMs >= 200, `cpuMs ${execution.cpuMs}`);
      assert.ok(execution.wallMs >= execution.cpuMs * 0.9, `wallMs ${execution.wallMs}`);
      assert.ok(execution.peakMemoryKb >= 64 << 10, `peakMemoryKb ${execution.peakMemoryKb}`);
    });
  });
});

Deno.test("execute() stops Python programs at their limits", async (t) => {
  await withExecutor({ workers: 3 }, async (executor) => {
    const run = (code: string, limits = {}) =>
      executor.execute({ language: "python", mode: "test", code, limits });
    const marker = `bomb${crypto.randomUUID().slice(0, 8)}`;
    const runs = {
      sleep: run("import time\ntime.sleep(30)", { wallMs: 1000 }),
      busy: run("while True: pass", { cpuMs: 1000, wallMs: 5000 }),
      hog: run("x = b'x' * (1 << 30)", { memoryMb: 128 }),
      flood: run("while True: print('y' * 1000)", { outputBytes: 10_000 }),
      bomb: run(
        `import os, sys\nsys.argv[0] = '${marker}'\n` +
          "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        { processes: 16, wallMs: 1500 },
      ),
      big: run("open('big', 'wb').write(b'x' * (3 << 20))", { fileSizeMb: 1 }),
    };
    for (const execution of Object.values(runs)) execution.catch(() => {});
    await t.step("a sleep past the wall limit is a timeout", async () => {
      const execution = await runs.sleep;
      assert.equal(execution.status, "timeout", seen(execution));
      assert.ok(execution.wallMs < 2500, `wallMs ${execution.wallMs}`);
    });
    await t.step("a busy loop past the CPU limit is a timeout", async () => {
      const execution = await runs.busy;
      assert.equal(execution.status, "timeout", seen(execution));
      assert.ok(execution.cpuMs < 2500, `cpuMs ${execution.cpuMs}`);
    });
    await t.step("a memory hog is a memory_limit", async () => {
      const execution = await runs.hog;
      assert.equal(execution.status, "memory_limit", seen(execution));
    });
    await t.step("an output flood is an output_limit, its output kept to the limit", async () => {
      const execution = await runs.flood;
      assert.equal(execution.status, "output_limit", seen(execution));
      assert.equal(execution.stdout.length, 10_000);
    });
    await t.step("a fork bomb is contained", async () => {
      const execution = await runs.bomb;
      assert.ok(["timeout", "runtime_error"].includes(execution.status), seen(execution));
      assert.deepEqual(hostProcessesWith(marker), []);
    });
    await t.step("a file larger than fileSizeMb fails", async () => {
      const execution = await runs.big;
      assert.equal(execution.status, "runtime_error", seen(execution));
      assert.match(execution.stderr, /File too large/);
    });
  });
});

Deno.test("execute() isolates each execution", async (t) => {
  await withExecutor({ workers: 1 }, async (executor) => {
    const run = (code: string) => executor.execute({ language: "python", mode: "test", code });
    await t.step("the network is unreachable, loopback servers of the host included", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      try {
        const code = "import socket\ns = socket.socket()\ns.settimeout(1)\n" +
          `try:\n    s.connect(('127.0.0.1', ${port}))\nexcept OSError:\n    pass\n` +
          "else:\n    raise SystemExit('connected')\n" +
          "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\nexcept OSError:\n" +
          "    pass\nelse:\n    raise SystemExit('connected out')";
        const execution = await run(code);
        assert.equal(execution.status, "passed", seen(execution));
      } finally {
        listener.close();
      }
    });
    await t.step("writes outside the work dir fail, and nothing reaches the host", async () => {
      const name = `escape-${crypto.randomUUID().slice(0, 8)}`;
      const targets = ["/etc", "/usr", "/root", Deno.cwd()].map((dir) => `${dir}/${name}`);
      const code = `import os\nfor path in ${JSON.stringify(targets)}:\n` +
        "    try:\n        open(path, 'w').write('x')\n    except OSError:\n        pass\n" +
        "    else:\n        raise SystemExit('wrote ' + path)\n" +
        `open('/tmp/${name}', 'w').write('x')\nopen('${name}', 'w').write('x')`;
      const execution = await run(code);
      assert.equal(execution.status, "passed", seen(execution));
      for (const path of [...targets, `/tmp/${name}`]) assert.ok(!existsSync(path), path);
    });
    await t.step("the next execution sees neither files nor processes of the last", async () => {
      const marker = `left${crypto.randomUUID().slice(0, 8)}`;
      const first = await run(
        `import subprocess, sys\nopen('/tmp/${marker}', 'w').write('x')\n` +
          `subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '${marker}'])`,
      );
      assert.equal(first.status, "passed", seen(first));
      assert.deepEqual(hostProcessesWith(marker), []);
      const second = await run(
        `import os\nassert not os.path.exists('/tmp/${marker}')\n` +
          `assert not any('${marker}' in open(f'/proc/{p}/cmdline').read()\n` +
          "           for p in os.listdir('/proc') if p.isdigit())",
      );
      assert.equal(second.status, "passed", seen(second));
    });
    await t.step("the program runs as an unprivileged user in its own PID namespace", async () => {
      // A Python program is PID 1 of its own namespace, and is not dumpable: no /proc/self/mem.
      const code = "import os\nassert os.getuid() != 0 and os.geteuid() != 0\n" +
        "pids = [p for p in os.listdir('/proc') if p.isdigit()]\nassert pids == ['1'], pids\n" +
        "try:\n    open('/proc/self/mem', 'rb').read(1)\n    raise SystemExit('read its memory')\n" +
        "except PermissionError:\n    pass\n" +
        "assert os.getcwd() == '/box'";
      const execution = await run(code);
      assert.equal(execution.status, "passed", seen(execution));
    });
  });
});

Deno.test("execute() in run mode gives each stdin case its own run", async () => {
  await withExecutor({ workers: 2 }, async (executor) => {
    const execution = await executor.execute({
      language: "python",
      mode: "run",
      code: "import sys\nn = int(sys.stdin.readline())\nprint(n * 2)\nsys.stderr.write('e')",
      stdin: ["1\n", "21\n", "x\n"],
    });
    assert.equal(execution.status, "runtime_error", seen(execution));
    assert.equal(execution.casesPassed, 2);
    assert.equal(execution.casesTotal, 3);
    assert.deepEqual(execution.cases?.map((c) => [c.status, c.stdout]), [
      ["passed", "2\n"],
      ["passed", "42\n"],
      ["runtime_error", ""],
    ]);
    assert.equal(execution.cases?.[0]?.stderr, "e");
    const syntax = await executor.execute({
      language: "python",
      mode: "run",
      code: "print(",
      stdin: ["1\n", "2\n"],
    });
    assert.equal(syntax.status, "compile_error", seen(syntax));
    assert.equal(syntax.compiled, false);
    assert.deepEqual(syntax.cases?.map((c) => c.status), ["compile_error", "compile_error"]);
  });
});

Deno.test("execute() in compile mode only compiles", async () => {
  await withExecutor({ workers: 1 }, async (executor) => {
    const ok = await executor.execute({ language: "python", mode: "compile", code: "1/0" });
    assert.equal(ok.status, "passed", seen(ok));
    assert.equal(ok.compiled, true);
    const bad = await executor.execute({ language: "python", mode: "compile", code: "1/" });
    assert.equal(bad.status, "compile_error", seen(bad));
    assert.equal(bad.compiled, false);
  });
});

Deno.test("execute() runs again, on a new launcher, an execution whose launcher died", async () => {
  await withExecutor({ workers: 1 }, async (executor) => {
    const running = executor.execute({
      language: "python",
      mode: "test",
      code: "import time\ntime.sleep(2)",
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The launcher itself (python, below the worker's bwrap), so that its sandbox winds down
    // the ordinary way, as after a crash.
    const killed = await eventuallyKill(() =>
      descendantsOf(Deno.pid).filter((pid) =>
        commandLine(pid).includes("zygote.py") && processName(pid).startsWith("python")
      )
    );
    assert.ok(killed, "no worker to kill");
    // The death was the sandbox's fault, not the program's: never its verdict.
    const execution = await running;
    assert.equal(execution.status, "passed", seen(execution));
    const next = await executor.execute({ language: "python", mode: "test", code: "pass" });
    assert.equal(next.status, "passed", seen(next));
  });
});

Deno.test("execute() leaves to the workers only what the route does not take", async () => {
  const routed = { status: "passed", compiled: true, stdout: "routed" } as Execution;
  const route = (request: { mode: string }) =>
    request.mode === "compile" ? Promise.resolve(routed) : undefined;
  await withExecutor({ workers: 1, route }, async (executor) => {
    const compile = await executor.execute({ language: "python", mode: "compile", code: "1/" });
    assert.equal(compile, routed);
    const test = await executor.execute({ language: "python", mode: "test", code: "1/" });
    assert.equal(test.status, "compile_error", seen(test));
  });
});

Deno.test("createExecutor() with isolation none runs without bwrap and says so", async () => {
  await withExecutor({ isolation: "none", workers: 1 }, async (executor) => {
    assert.equal(executor.isolation, "none");
    assert.ok(executor.notes?.some((note) => note.startsWith("isolation is none")));
    const execution = await executor.execute({
      language: "python",
      mode: "run",
      code: "print(input()[::-1])",
      stdin: ["abc\n"],
    });
    assert.equal(execution.status, "passed", seen(execution));
    assert.equal(execution.stdout, "cba\n");
  });
});

const PRESENT = (Object.keys(LANGUAGES) as Language[]).filter((language) => {
  const reason = missingToolchain(language);
  if (reason) console.warn(`hello world not run: ${reason}`);
  return reason === undefined;
});

const HELLO: Readonly<Record<Language, string>> = {
  python: 'print("hello")',
  java:
    'public class Main { public static void main(String[] a) { System.out.println("hello"); } }',
  cpp: '#include <iostream>\nint main() { std::cout << "hello" << std::endl; }',
  c: '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }',
  csharp: 'class P { static void Main() { System.Console.WriteLine("hello"); } }',
  javascript: 'console.log("hello");',
  typescript: 'const s: string = "hello";\nconsole.log(s);',
  php: '<?php echo "hello\\n";',
  go: 'package main\nimport "fmt"\nfunc main() { fmt.Println("hello") }',
  rust: 'fn main() { println!("hello"); }',
};

Deno.test("execute() runs a hello world in every present language", async (t) => {
  await withExecutor({ languages: PRESENT, workers: 2, limits: {} }, async (executor) => {
    assert.deepEqual(executor.toolchains.map((t) => t.language), PRESENT);
    const runs = PRESENT.map((language) =>
      executor.execute({ language, mode: "run", code: HELLO[language] })
    );
    for (const run of runs) run.catch(() => {});
    for (const [i, language] of PRESENT.entries()) {
      await t.step(language, async () => {
        const execution = await runs[i]!;
        assert.equal(execution.status, "passed", seen(execution));
        assert.equal(execution.stdout, "hello\n");
      });
    }
  });
});
