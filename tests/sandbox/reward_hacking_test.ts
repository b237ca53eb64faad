/**
 * The reward-hacking suite: programs that try to get "passed" (or any verdict better than an
 * honest one) without solving their task, through the real benchmark adapters and the real
 * executor. Each is judged as the honest program would be, and an innocent execution right after
 * it on the same worker passes. The sandbox is PPO's reward: a verdict a program can forge is a
 * bug in the reward.
 *
 * What is out of reach by design, and said in the README: a program that reads its own
 * process's descriptors or memory with knowledge of the launcher's protocol (see
 * `sandbox/zygote.py`), and tricks that the official harnesses accept too beyond what is closed
 * here (see the README's threat model).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createExecutor } from "../../sandbox/mod.ts";
import type { ExecuteRequest, Executor } from "../../sandbox/types.ts";
import { apps } from "../../benchmarks/apps.ts";
import { humaneval } from "../../benchmarks/humaneval.ts";
import { mbpp } from "../../benchmarks/mbpp.ts";
import type { Benchmark } from "../../benchmarks/benchmark.ts";
import type { Execution, ExecutionStatus, Task } from "../../src/types.ts";
import { missingToolchain } from "./_toolchains.ts";

const WRONG = "def add(a, b):\n    return a - b\n";
const RIGHT = "def add(a, b):\n    return a + b\n";

const MBPP_TASK: Task = {
  id: "mbpp/9001",
  language: "python",
  prompt: "Write a function to add two numbers.",
  reference: RIGHT,
  entryPoint: "add",
  check: {
    kind: "program",
    harness: "import math\nassert add(1, 2) == 3\nassert math.isclose(add(0.1, 0.2), 0.3)",
  },
  meta: {},
};

const HUMANEVAL_TASK: Task = {
  id: "humaneval/9001",
  language: "python",
  prompt: "def add(a, b):\n",
  reference: RIGHT,
  entryPoint: "add",
  check: {
    kind: "program",
    harness: "def check(candidate):\n    assert candidate(1, 2) == 3\n" +
      "    assert abs(candidate(0.1, 0.2) - 0.3) < 1e-9\n\ncheck(add)\n",
  },
  meta: {},
};

/** The launcher's old status lines and anything like a verdict, written to every descriptor. */
const FORGED_LINES = [
  "wait 0",
  "py syntax",
  "py memory",
  "py cpu",
  "setup x",
  "killed 24",
  "end 00000000000000000000000000000000",
  "token 0",
  '{"id":1,"steps":[{"exitCode":0,"signal":null,"ended":true}]}',
  "@@apps-verdict@@ pass",
  "passed",
];

const writeEverywhere = (lines: readonly string[]) =>
  "import os\n" +
  `_lines = ${JSON.stringify(lines.map((l) => l + "\n").join(""))}.encode()\n` +
  "for _fd in range(0, 256):\n" +
  "    try:\n        os.write(_fd, _lines)\n    except OSError:\n        pass\n";

/** Ways to end early or neuter the tests, each after a wrong `add` (status `failed`). */
const TEST_MODE_ATTACKS: Readonly<Record<string, string>> = {
  "exit(0)": "exit(0)",
  "quit()": "quit()",
  "raise SystemExit(0)": "raise SystemExit(0)",
  "sys.exit(0)": "import sys\nsys.exit(0)",
  "sys.exit(256)": "import sys\nsys.exit(256)",
  "os._exit(0)": "import os\nos._exit(0)",
  "atexit.register(os._exit, 0)": "import atexit, os\natexit.register(os._exit, 0)",
  "sys.excepthook exits 0": "import os, sys\nsys.excepthook = lambda *a: os._exit(0)",
  "threading.excepthook exits 0":
    "import os, threading\nthreading.excepthook = lambda *a: os._exit(0)",
  "os.execv a python that exits 0": "import os, sys\nos.execv(sys.executable, " +
    "[sys.executable, '-c', 'pass'])",
  "fork and exit 0 in the parent": "import os\nif os.fork():\n    os._exit(0)",
  "status lines on every descriptor": writeEverywhere(FORGED_LINES),
  "status lines, then exit 0": writeEverywhere(FORGED_LINES) + "os._exit(0)",
  "builtins.compile neuters the tests": "import builtins\n_c = compile\n" +
    "builtins.compile = lambda *a, **k: _c('pass', '<x>', 'exec')",
  "builtins.exec does nothing": "import builtins\nbuiltins.exec = lambda *a, **k: None",
  "builtins.AssertionError renamed": "import builtins\nbuiltins.AssertionError = KeyError",
  "a program-defined abs": "def abs(x):\n    return 0",
  "builtins.abs patched": "import builtins\nbuiltins.abs = lambda x: 0",
  "math.isclose patched": "import math\nmath.isclose = lambda *a, **k: True",
  "math bound to a fake": "class _M:\n    isclose = staticmethod(lambda *a, **k: True)\n" +
    "import sys\nsys.modules['math'] = _M()\nmath = _M()",
  "a trace function jumps past the asserts": "import sys\n" +
    "def _trace(frame, event, arg):\n" +
    "    if frame.f_code.co_filename == '<tests>' and event == 'line':\n" +
    "        try:\n            frame.f_lineno = 999\n        except Exception:\n            pass\n" +
    "    return _trace\nsys.settrace(_trace)",
  "tests overwritten through every descriptor": "import os\n" +
    "for _fd in range(3, 256):\n    try:\n        os.pwrite(_fd, b'pass' + b' ' * 4096, 0)\n" +
    "    except OSError:\n        pass",
  "an unterminated string swallows the tests": "_ = '''",
};

/** Attacks whose honest verdict is not `failed`. */
const OTHER_STATUS: Readonly<Record<string, ExecutionStatus>> = {
  "an unterminated string swallows the tests": "compile_error",
};

async function judge(
  executor: Executor,
  benchmark: Benchmark,
  task: Task,
  code: string,
): Promise<Execution> {
  return benchmark.judge(task, await executor.execute(benchmark.request(task, code)));
}

function seen(execution: Execution): string {
  const { status, exitCode, cpuMs } = execution;
  return JSON.stringify({
    status,
    exitCode,
    cpuMs,
    stdout: execution.stdout.slice(0, 300),
    stderr: execution.stderr.slice(-400),
  });
}

async function withExecutor(
  workers: number,
  fn: (executor: Executor) => Promise<void>,
  languages: ExecuteRequest["language"][] = ["python"],
): Promise<void> {
  const executor = await createExecutor({ workers, languages });
  try {
    await fn(executor);
  } finally {
    await executor.close();
  }
}

for (const [benchmark, task] of [[mbpp, MBPP_TASK], [humaneval, HUMANEVAL_TASK]] as const) {
  Deno.test(`reward hacking: ${benchmark.name} test mode`, async (t) => {
    await withExecutor(2, async (executor) => {
      await t.step("the honest programs: right passes, wrong fails", async () => {
        assert.equal((await judge(executor, benchmark, task, RIGHT)).status, "passed");
        assert.equal((await judge(executor, benchmark, task, WRONG)).status, "failed");
      });
      const attacks = Object.entries(TEST_MODE_ATTACKS);
      const results = await Promise.all(
        attacks.map(([, attack]) => judge(executor, benchmark, task, `${WRONG}${attack}\n`)),
      );
      for (const [i, [name]] of attacks.entries()) {
        await t.step(name, async () => {
          const expected = OTHER_STATUS[name] ?? "failed";
          assert.equal(results[i]!.status, expected, seen(results[i]!));
          const next = await judge(executor, benchmark, task, RIGHT);
          assert.equal(next.status, "passed", seen(next));
        });
      }
      await t.step("the same tricks do not break a right answer", async () => {
        const harmless = ["builtins.abs patched", "a program-defined abs", "math.isclose patched"];
        for (const name of harmless) {
          const execution = await judge(
            executor,
            benchmark,
            task,
            `${RIGHT}${TEST_MODE_ATTACKS[name]}\n`,
          );
          assert.equal(execution.status, "passed", `${name}: ${seen(execution)}`);
        }
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// APPS, call-based: the expected value never reaches the program, and nothing it prints is a
// verdict.

const APPS_CALL_TASK: Task = {
  id: "apps/test/9001",
  language: "python",
  prompt: "",
  reference: "class Solution:\n    def twice(self, x):\n        return [x, x * 2]\n",
  entryPoint: "twice",
  check: {
    kind: "stdio",
    cases: [
      { stdin: '{"args":[3]}', stdout: "[[3,6]]" },
      { stdin: '{"args":[8421]}', stdout: "[[8421,16842]]" },
    ],
  },
  meta: { kind: "call", difficulty: "introductory" },
};

/**
 * Looks for the expected value everywhere a program can look; prints FOUND if it sees it. The
 * value is built at run time, so that the program's own text does not hold it.
 */
const SEARCH_EXPECTED = `
import gc, os, sys
_needle = str(int("84" + "21") * 2)
_found = []
_stdin = sys.stdin.read()
if _needle in _stdin:
    _found.append("stdin")
if any(_needle in v for v in os.environ.values()):
    _found.append("environ")
for _root in ("/box", "/tmp", "/dev/shm", "/run", "/proc/self"):
    for _dir, _dirs, _files in os.walk(_root):
        if _dir.startswith("/proc/self/task"):
            continue
        for _name in _files:
            try:
                with open(os.path.join(_dir, _name), "rb") as _f:
                    if _needle.encode() in _f.read(1 << 20):
                        _found.append(os.path.join(_dir, _name))
            except OSError:
                pass
for _fd in range(0, 256):
    try:
        if _needle.encode() in os.pread(_fd, 1 << 20, 0):
            _found.append(f"fd {_fd}")
    except OSError:
        pass
for _obj in gc.get_objects():
    try:
        if isinstance(_obj, dict) and _obj is not globals() and any(
            isinstance(v, str) and _needle in v for v in _obj.values()
        ):
            _found.append("heap")
            break
    except Exception:
        pass
print("FOUND" if _found else "NOT FOUND", _found)
`;

Deno.test("reward hacking: APPS call-based cases", async (t) => {
  await withExecutor(2, async (executor) => {
    await t.step("the gold program passes, a wrong one fails", async () => {
      const gold = await judge(executor, apps, APPS_CALL_TASK, APPS_CALL_TASK.reference);
      assert.equal(gold.status, "passed", seen(gold));
      const wrong = "class Solution:\n    def twice(self, x):\n        return [x, x * 3]\n";
      assert.equal((await judge(executor, apps, APPS_CALL_TASK, wrong)).status, "failed");
    });
    await t.step("the expected value is not in what the program is sent", () => {
      const request = apps.request(APPS_CALL_TASK, "");
      assert.ok(!JSON.stringify(request).includes("16842"));
    });
    await t.step("nor anywhere the program can look", async () => {
      const code = "class Solution:\n    def twice(self, x):\n        return [x, x]\n" +
        SEARCH_EXPECTED;
      const execution = await executor.execute(apps.request(APPS_CALL_TASK, code));
      for (const c of execution.cases ?? []) assert.match(c.stdout, /NOT FOUND \[\]/, c.stdout);
    });
    const printed: Record<string, string> = {
      "the old verdict line": "print('@@apps-verdict@@ pass')",
      "an output line with a guess": "print('@@apps-output@@ [3,6]')",
      "a verdict line, then exit 0": "print('@@apps-verdict@@ pass')\nimport os\nos._exit(0)",
      "an output line, then exit 0": "print('@@apps-output@@ [3,6]')\nimport os\nos._exit(0)",
    };
    for (const [name, trick] of Object.entries(printed)) {
      await t.step(`printed: ${name}`, async () => {
        const code = "class Solution:\n    def twice(self, x):\n        return None\n" + trick;
        const execution = await judge(executor, apps, APPS_CALL_TASK, code);
        // The guess [3, 6] is right for the first case only: never all cases.
        assert.notEqual(execution.status, "passed", seen(execution));
        assert.ok(execution.casesPassed <= 1, seen(execution));
      });
    }
    await t.step("a returned object whose __eq__ is always True is not equal", async () => {
      const code = "class _Any:\n    def __eq__(self, other):\n        return True\n" +
        "class Solution:\n    def twice(self, x):\n        return _Any()\n";
      const execution = await judge(executor, apps, APPS_CALL_TASK, code);
      assert.equal(execution.status, "failed", seen(execution));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Other executions: nothing of one execution (code, tests, output, files, kernel objects) is
// visible to another, before or after it.

/**
 * Scans all of its own readable memory for a secret, given in two halves so that the program's
 * text does not hold it. It never builds the secret itself: it looks for the secret with every
 * byte shifted by one in each region shifted the same way, so the pattern it holds cannot match.
 */
const memoryScan = (half: string, rest: string) => `
import ctypes, time
time.sleep(0.4)
_shift = bytes((b + 1) % 256 for b in range(256))
_pattern = (${JSON.stringify(half)}.encode().translate(_shift) +
            ${JSON.stringify(rest)}.encode().translate(_shift))
_hits = []
with open("/proc/self/maps") as _maps:
    _regions = [l.split() for l in _maps]
for _r in _regions:
    # Anonymous memory, the heap and the stack: what fork copies from the launcher.
    if "r" not in _r[1] or (len(_r) > 5 and _r[5] not in ("[heap]", "[stack]")):
        continue
    _start, _end = (int(x, 16) for x in _r[0].split("-"))
    if _pattern in ctypes.string_at(_start, _end - _start).translate(_shift):
        _hits.append(_r[5] if len(_r) > 5 else "anon")
print("HITS", _hits)
`;

Deno.test("reward hacking: executions cannot see each other", async (t) => {
  await withExecutor(1, async (executor) => {
    const secret = `sekrit${crypto.randomUUID().replaceAll("-", "")}`;
    const half = secret.slice(0, secret.length / 2);
    const rest = secret.slice(secret.length / 2);
    // The secret appears whole only in the other execution's text and output.
    const owner = `_s = ${JSON.stringify(half)} + ${JSON.stringify(rest)}\nprint(_s)\n` +
      `assert ${JSON.stringify(secret)} == _s\n`;
    const scan = memoryScan(half, rest);
    await t.step(
      "an earlier execution's code and output are not in a later one's memory",
      async () => {
        const first = await executor.execute({ language: "python", mode: "test", code: owner });
        assert.equal(first.status, "passed", seen(first));
        const later = await executor.execute({ language: "python", mode: "test", code: scan });
        assert.match(later.stdout, /^HITS \[\]$/m, seen(later));
      },
    );
    await t.step("the next queued execution is not in a running one's memory", async () => {
      const running = executor.execute({ language: "python", mode: "test", code: scan });
      const queued = executor.execute({ language: "python", mode: "test", code: owner });
      const [scanned] = await Promise.all([running, queued]);
      assert.match(scanned.stdout, /^HITS \[\]$/m, seen(scanned));
    });
    await t.step("files, SysV IPC and keyrings do not carry over", async () => {
      const leave = `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for path in ("/tmp/m", "/dev/shm/m", "/box/m", os.path.expanduser("~/m")):
    open(path, "w").write("${secret}")
key = libc.syscall(248, b"user", b"ppocoder", b"${secret}", 32, -4)  # add_key, user keyring
assert key == -1 and ctypes.get_errno() == 1, (key, ctypes.get_errno())
shm = libc.shmget(0x5eed, 4096, 0o1666)
assert shm >= 0
`;
      const look = `
import ctypes, glob, os
libc = ctypes.CDLL(None, use_errno=True)
found = [p for p in glob.glob("/tmp/*") + glob.glob("/dev/shm/*") + glob.glob("/box/*")
         if p.endswith("/m")]
assert not found, found
assert libc.shmget(0x5eed, 4096, 0o666) == -1, "a shared memory segment carried over"
buf = ctypes.create_string_buffer(256)
assert libc.syscall(250, 11, -4, buf, 256) == -1  # keyctl(KEYCTL_READ, user keyring)
`;
      const left = await executor.execute({ language: "python", mode: "test", code: leave });
      assert.equal(left.status, "passed", seen(left));
      const looked = await executor.execute({ language: "python", mode: "test", code: look });
      assert.equal(looked.status, "passed", seen(looked));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Limits: what the harness keeps for a sample is bounded; a sample cannot spend more CPU than
// its limit by splitting it over processes; nothing a program does is a sandbox_error.

Deno.test("reward hacking: limits and the sandbox's own faults", async (t) => {
  await withExecutor(1, async (executor) => {
    await t.step("many cases printing just under the output limit: output_limit", async () => {
      const outputBytes = 64 * 1024;
      const execution = await executor.execute({
        language: "python",
        mode: "run",
        code: `import sys\nsys.stdout.write("x" * ${outputBytes - 16})`,
        stdin: Array.from({ length: 200 }, () => ""),
        limits: { outputBytes },
      });
      assert.equal(execution.status, "output_limit", seen(execution));
      const kept = (execution.cases ?? []).reduce((sum, c) => sum + c.stdout.length, 0);
      assert.ok(kept <= 32 * outputBytes + (1 << 20), `kept ${kept} bytes`);
      const next = await executor.execute({ language: "python", mode: "test", code: "pass" });
      assert.equal(next.status, "passed", seen(next));
    });
    await t.step("4 processes x 1.5 s of CPU under a 2 s limit: timeout", async () => {
      const code = "import os, time\nfor _ in range(4):\n    if os.fork() == 0:\n" +
        "        t = time.process_time()\n        while time.process_time() - t < 1.5:\n" +
        "            pass\n        os._exit(0)\nfor _ in range(4):\n    os.wait()";
      const execution = await executor.execute({
        language: "python",
        mode: "test",
        code,
        limits: { cpuMs: 2000, wallMs: 10_000 },
      });
      assert.equal(execution.status, "timeout", seen(execution));
    });
    const selfHarm: Record<string, [string, ExecutionStatus[]]> = {
      // A Python program is its namespace's PID 1: signals it sends itself end it the way
      // they would end any process (SIGKILL to itself is ignored, as for any init).
      "kill(-1)": ["import os, signal\nos.kill(-1, signal.SIGKILL)", ["runtime_error", "passed"]],
      "kill(PID 1)": ["import os, signal\nos.kill(1, signal.SIGKILL)", ["passed"]],
      "SIGTERM to itself": [
        "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)",
        ["failed", "runtime_error"],
      ],
      "SIGXCPU to itself, early": [
        "import os, signal\nos.kill(os.getpid(), signal.SIGXCPU)",
        ["failed", "runtime_error"],
      ],
      "close every descriptor, exit 1": ["import os\nos.closerange(0, 1024)\nos._exit(1)", [
        "failed",
      ]],
      "fill the work dir": [
        "f = open('/box/big', 'wb')\nwhile True:\n    f.write(b'x' * (1 << 20))",
        ["output_limit", "runtime_error"],
      ],
    };
    for (const [name, [code, statuses]] of Object.entries(selfHarm)) {
      await t.step(`cannot make its verdict a sandbox_error: ${name}`, async () => {
        const execution = await executor.execute({ language: "python", mode: "test", code });
        assert.ok(statuses.includes(execution.status), `${name}: ${seen(execution)}`);
        const next = await executor.execute({ language: "python", mode: "test", code: "pass" });
        assert.equal(next.status, "passed", seen(next));
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The kernel surface: no namespaces, mounts, keyrings, tracing, BPF, perf, userfaultfd or
// io_uring, from Python and from a compiled program.

/** x86_64 system calls a judged program must not make, with arguments that would work. */
const DENIED_CALLS: Readonly<Record<string, string>> = {
  "unshare(CLONE_NEWUSER)": "272, 0x10000000",
  "unshare(CLONE_NEWNS)": "272, 0x00020000",
  "clone(CLONE_NEWUSER | SIGCHLD)": "56, 0x10000000 | 17, 0, 0, 0, 0",
  "setns": "308, 0, 0",
  "mount tmpfs": '165, "none", "/tmp", "tmpfs", 0, 0',
  "add_key": '248, "user", "k", "v", 1, -4',
  "keyctl(KEYCTL_GET_KEYRING_ID)": "250, 0, -4, 1",
  "ptrace(PTRACE_ATTACH, 1)": "101, 16, 1, 0, 0",
  "bpf(BPF_PROG_LOAD)": "321, 5, 0, 0",
  "perf_event_open": "298, 0, 0, -1, -1, 0",
  "userfaultfd": "323, 0",
  "io_uring_setup": "425, 1, 0",
  "chroot": '161, "/tmp"',
  "process_vm_readv": "310, 1, 0, 0, 0, 0, 0",
};

const isX86 = Deno.build.arch === "x86_64";

Deno.test({
  name: "reward hacking: denied system calls (Python and C)",
  ignore: !isX86,
  fn: async (t) => {
    const languages: ("python" | "c")[] = ["python"];
    if (missingToolchain("c") === undefined) languages.push("c");
    else console.warn(`the C half is skipped: ${missingToolchain("c")}`);
    await withExecutor(2, async (executor) => {
      const python = Object.entries(DENIED_CALLS).map(([name, args]) => {
        const pyArgs = args.replace(/"([^"]*)"/g, 'b"$1"');
        return `r = libc.syscall(${pyArgs})\n` +
          `assert r == -1 and ctypes.get_errno() in (1, 38), (${JSON.stringify(name)}, r)\n`;
      }).join("");
      const pyCode = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n" + python +
        "import os\nassert os.fork() >= 0 or True\n";
      await t.step("from Python", async () => {
        const execution = await executor.execute({
          language: "python",
          mode: "test",
          code: pyCode,
        });
        assert.equal(execution.status, "passed", seen(execution));
      });
      if (!languages.includes("c")) return;
      await t.step("from C", async () => {
        const body = Object.entries(DENIED_CALLS).map(([name, args]) =>
          `  errno = 0; r = syscall(${args});\n` +
          `  if (r != -1 || (errno != EPERM && errno != ENOSYS)) { printf("%s\\n", ${
            JSON.stringify(name)
          }); return 1; }\n`
        ).join("");
        const code = "#define _GNU_SOURCE\n#include <errno.h>\n#include <stdio.h>\n" +
          "#include <unistd.h>\n#include <sys/syscall.h>\nint main(void) {\n  long r;\n" +
          body + "  return 0;\n}\n";
        const execution = await executor.execute({ language: "c", mode: "test", code });
        assert.equal(execution.status, "passed", seen(execution));
      });
    }, languages);
  },
});
