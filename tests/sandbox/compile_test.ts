import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  type CompileChecker,
  type CompileCheckerOptions,
  type CompileLanguage,
  type CompileVerdict,
  createCompileChecker,
  csharpBatchable,
  plainCheck,
} from "../../sandbox/compile/mod.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";
import { missingToolchain, onPath } from "./_toolchains.ts";

/** Generous limits for ordinary files (the machine may be loaded: a timeout is no verdict here). */
const LIMITS = { wallMs: 30_000, memoryMb: 1024 };
/** Limits that end the compiler bombs quickly (CPU seconds of gcc follow the wall-clock limit). */
const BOMB_LIMITS = { wallMs: 4000, memoryMb: 1024 };

const EXT: Readonly<Record<CompileLanguage, string>> = {
  java: ".java",
  csharp: ".cs",
  c: ".c",
  cpp: ".cpp",
};

type FixtureName = "pass" | "fail" | "warning" | "bomb" | "garbage";

/**
 * Fixtures of one language only, and whether each compiles: `big_object.c` passes cc1 but not the
 * assembler (file-size limit); in `pch_macro.cpp` a macro defined before the include must keep
 * g++ from using the precompiled bits/stdc++.h.
 */
const EXTRA: Readonly<Partial<Record<CompileLanguage, Readonly<Record<string, boolean>>>>> = {
  c: { big_object: false },
  cpp: { pch_macro: false },
};

/** Whether each ordinary fixture compiles (by the plain compiler; asserted too). */
const EXPECTED: Readonly<Record<Exclude<FixtureName, "bomb">, boolean>> = {
  pass: true,
  fail: false,
  warning: true,
  garbage: false,
};

/** Bytes that are no program: invalid UTF-8, NUL, control characters (deterministic). */
function garbage(): Uint8Array {
  const bytes = new Uint8Array(512);
  let x = 12345;
  for (let i = 0; i < bytes.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  bytes[0] = 0xff;
  return bytes;
}

function fixture(language: CompileLanguage, name: string): Uint8Array {
  if (name === "garbage") return garbage();
  return readFileSync(fixturePath(`compile/${language}/${name}${EXT[language]}`));
}

const LANGUAGES: CompileLanguage[] = ["java", "csharp", "c", "cpp"];

/** Why the compile checker cannot be tested here, or undefined. */
function unavailable(language?: CompileLanguage): string | undefined {
  if (!onPath("bwrap")) return 'the compile checker is not tested as "bwrap" is not on PATH';
  return language === undefined ? undefined : missingToolchain(language);
}

async function withChecker(
  languages: CompileLanguage[],
  fn: (checker: CompileChecker) => Promise<void>,
  options: CompileCheckerOptions = {},
): Promise<void> {
  const checker = await createCompileChecker({ languages, limits: LIMITS, workers: 2, ...options });
  try {
    await fn(checker);
  } finally {
    await checker.close();
  }
}

async function plainAll(
  language: CompileLanguage,
  codes: readonly Uint8Array[],
  limits = LIMITS,
): Promise<CompileVerdict[]> {
  const verdicts: CompileVerdict[] = [];
  for (const code of codes) verdicts.push(await plainCheck(language, code, { limits }));
  return verdicts;
}

for (const language of LANGUAGES) {
  const reason = unavailable(language);
  if (reason !== undefined) console.warn(`ignored: ${reason}`);
  Deno.test({
    name: `createCompileChecker() gives the plain compiler's verdicts on the ${language} fixtures`,
    ignore: reason !== undefined,
    fn: async () => {
      const expected: Record<string, boolean> = { ...EXPECTED, ...EXTRA[language] };
      const names = Object.keys(expected);
      const codes = names.map((name) => fixture(language, name));
      await withChecker([language], async (checker) => {
        const service = await checker.checkMany(language, codes);
        const plain = await plainAll(language, codes);
        for (const [i, name] of names.entries()) {
          const what = `${language} ${name}: service ${service[i]!.status} ${
            service[i]!.diagnostics
          }`;
          const plainWhat = `plain ${name}: ${plain[i]!.status} ${plain[i]!.diagnostics}`;
          assert.equal(plain[i]!.compiled, expected[name], plainWhat);
          assert.equal(service[i]!.compiled, plain[i]!.compiled, what);
          assert.equal(service[i]!.cached, false);
        }
      }, { cache: false });
    },
  });

  Deno.test({
    name: `check() ends a ${language} compiler bomb as the plain compiler does, and goes on`,
    ignore: reason !== undefined,
    fn: async () => {
      const bomb = fixture(language, "bomb");
      await withChecker([language], async (checker) => {
        const service = await checker.check(language, bomb);
        const [plain] = await plainAll(language, [bomb], BOMB_LIMITS);
        assert.equal(plain!.compiled, false, plain!.diagnostics);
        assert.equal(service.compiled, false, service.diagnostics);
        assert.ok(["compile_error", "timeout"].includes(service.status), service.status);
        const after = await checker.check(language, fixture(language, "pass"));
        assert.equal(after.compiled, true, after.diagnostics);
      }, { cache: false, limits: BOMB_LIMITS });
    },
  });
}

Deno.test({
  name: "check() answers a repeated file from the cache, in memory and from cacheDir",
  ignore: unavailable("c") !== undefined,
  fn: async () => {
    const cacheDir = await Deno.makeTempDir();
    try {
      const code = fixture("c", "fail");
      await withChecker(["c"], async (checker) => {
        const first = await checker.check("c", code);
        const second = await checker.check("c", code);
        assert.deepEqual([first.cached, first.via, first.compiled], [false, "warm", false]);
        assert.deepEqual([second.cached, second.via, second.compiled], [true, "cache", false]);
        assert.equal(second.diagnostics, first.diagnostics);
        const [a, b] = await checker.checkMany("c", ["int x;", "int x;"]);
        assert.deepEqual([a!.compiled, b!.compiled, a!.cached !== b!.cached], [true, true, true]);
        assert.equal(checker.stats().cacheHits, 2);
      }, { cacheDir });
      await withChecker(["c"], async (checker) => {
        const again = await checker.check("c", code);
        assert.deepEqual([again.cached, again.compiled], [true, false]);
        assert.equal(checker.stats().workerPids.c, undefined, "no worker was needed");
      }, { cacheDir });
    } finally {
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      if (stat.split(") ")[1]?.startsWith("Z")) return;
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`Cannot wait for process ${pid} to end: it is still running after 5 s`);
}

for (const language of ["java", "csharp", "cpp"] as const) {
  Deno.test({
    name:
      `check() restarts a killed ${language} worker and decides its file with the plain compiler`,
    ignore: unavailable(language) !== undefined,
    fn: async () => {
      // The gcc worker compiles these fixtures through a warm compiler; the others, in-process.
      const workerVia = language === "cpp" ? "warm" : "worker";
      await withChecker([language], async (checker) => {
        const warm = await checker.check(language, fixture(language, "pass"));
        assert.equal(warm.via, workerVia);
        const pid = checker.stats().workerPids[language]?.[0];
        assert.ok(pid !== undefined);
        Deno.kill(pid, "SIGKILL");
        await waitGone(pid);
        const victim = await checker.check(language, fixture(language, "warning"));
        assert.deepEqual([victim.compiled, victim.via], [true, "plain"]);
        const after = await checker.check(language, fixture(language, "fail"));
        assert.deepEqual([after.compiled, after.via], [false, workerVia]);
        const stats = checker.stats();
        assert.deepEqual([stats.restarts, stats.plainRechecks], [1, 1]);
        assert.notEqual(stats.workerPids[language]?.[0], pid);
      }, { cache: false });
    },
  });
}

Deno.test({
  name: "checkMany() compiles batchable C# files together with the plain compiler's verdicts",
  ignore: unavailable("csharp") !== undefined,
  fn: async () => {
    const base = ["pass", "fail", "warning"] as const;
    const codes = [0, 1, 2].flatMap((k) =>
      base.map((name) => new TextDecoder().decode(fixture("csharp", name)) + `\n// copy ${k}\n`)
    );
    await withChecker(["csharp"], async (checker) => {
      const verdicts = await checker.checkMany("csharp", codes);
      assert.deepEqual(verdicts.map((v) => v.compiled), codes.map((_, i) => i % 3 !== 1));
      assert.ok(verdicts.every((v) => v.via === "batch"), verdicts.map((v) => v.via).join());
    }, { cache: false });
  },
});

const CODEXGLUE = "datasets/codexglue-code-to-code-trans/test.java-cs.txt.cs";

Deno.test({
  name: "checkMany() agrees with plain mcs on 24 CodeXGLUE C# functions",
  ignore: unavailable("csharp") !== undefined || !hasShared(CODEXGLUE),
  fn: async () => {
    const prelude = "using System;\nusing System.Collections.Generic;\nusing System.Linq;\n" +
      "public class Program {\n";
    const lines = readFileSync(sharedPath(CODEXGLUE), "utf8").split("\n").slice(0, 24);
    const codes = lines.map((line) => `${prelude}${line}\n}\n`);
    await withChecker(["csharp"], async (checker) => {
      const service = await checker.checkMany("csharp", codes);
      const plain: CompileVerdict[] = [];
      for (const code of codes) plain.push(await plainCheck("csharp", code, { limits: LIMITS }));
      const differ = service.flatMap((v, i) => (v.compiled === plain[i]!.compiled ? [] : [i]));
      assert.deepEqual(differ, []);
    }, { cache: false });
  },
});

Deno.test("checkMany() refuses a language without a fast compile path", async () => {
  const reason = unavailable();
  if (reason !== undefined) return console.warn(`ignored: ${reason}`);
  await withChecker([], async (checker) => {
    await assert.rejects(() => checker.checkMany("python" as CompileLanguage, ["x = 1"]), {
      name: "RangeError",
      message: 'Cannot compile-check "python" code as it has no fast compile path: use one of ' +
        "java, csharp, c, cpp, or the executor's compile mode",
    });
  });
});

/** The top-level names of Mono 6.8's default references (the checker lists its toolchain's own). */
const NAMES = {
  topLevel: new Set(["Internal", "Locale", "MS", "Microsoft", "Mono", "SR", "System"]),
  imported: new Set<string>(),
};

Deno.test("csharpBatchable()", async (t) => {
  const ok = (text: string) => csharpBatchable(new TextEncoder().encode(text), NAMES);
  await t.step("accepts a plain compilation unit", () => {
    assert.equal(ok("using System;\npublic class Program { int F() { return 1; } }"), true);
  });
  await t.step("refuses what must stay at the top of a file or could change name lookup", () => {
    for (
      const text of [
        "#define X\nclass A {}",
        "[assembly: System.CLSCompliant(true)] class A {}",
        "extern alias Foo; class A {}",
        "class A { global::System.Int32 x; }",
        "class __ppo_b_1 {}",
        "namespace System.Extra { class A {} }",
        "class System {}",
      ]
    ) assert.equal(ok(text), false, text);
  });
  await t.step("refuses invalid UTF-8 and a byte order mark", () => {
    assert.equal(csharpBatchable(new Uint8Array([0xef, 0xbb, 0xbf, 0x63]), NAMES), false);
    assert.equal(csharpBatchable(new Uint8Array([0x63, 0xff, 0x63]), NAMES), false);
  });
});

/** C files for the gcc worker: [source, whether it compiles, the path the worker takes]. */
const WARM_CASES: readonly (readonly [string, boolean, "warm" | "worker" | "plain"])[] = [
  ['#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n', true, "warm"],
  ["#include <stdio.h>\n\nint main(void) {\n  return missing;\n}\n", false, "warm"],
  // cc1 accepts it; the warm assembler refuses it.
  ['int main(void) { __asm__("no_such_instruction %eax"); return 0; }\n', false, "warm"],
  // Only a main file passes these: refused, so compiled the plain way.
  [
    "#if __INCLUDE_LEVEL__ != 0\n#error included\n#endif\nint main(void) { return 0; }\n",
    true,
    "worker",
  ],
  ['_Static_assert(sizeof(__BASE_FILE__) == sizeof("main.c"), "name");\nint x;\n', true, "worker"],
  ["#pragma once\nint x;\n", true, "worker"],
  // A prefix whose header is missing: its warm compiler never starts, the plain path decides.
  ["#include <stdio.h>\n#include <no_such_header_ppocoder.h>\nint x;\n", false, "worker"],
  [
    '#define _GNU_SOURCE\n#include <string.h>\nint main(void) { return strverscmp("a", "b") > 0; }\n',
    true,
    "worker",
  ],
  // Files that name other files would find the worker's files there: each gets a fresh sandbox.
  ['#include "body.c"\nint x;\n', false, "plain"],
  ["#include </box/jobs/0/main.c>\nint x;\n", false, "plain"],
  ['__asm__(".incbin \\"/box/jobs/0/main.c\\"");\nint x;\n', false, "plain"],
];

Deno.test({
  name: "check() gives the plain compiler's C verdicts through warm compilers, or the plain path",
  ignore: unavailable("c") !== undefined,
  fn: async () => {
    const codes = WARM_CASES.map(([code]) => code);
    await withChecker(["c"], async (checker) => {
      const service = await checker.checkMany("c", codes);
      const plain = await plainAll("c", codes.map((code) => new TextEncoder().encode(code)));
      for (const [i, [code, compiles, via]] of WARM_CASES.entries()) {
        const what = `${JSON.stringify(code)}: ${service[i]!.via} ${service[i]!.diagnostics}`;
        assert.equal(plain[i]!.compiled, compiles, `plain ${what} ${plain[i]!.diagnostics}`);
        assert.equal(service[i]!.compiled, compiles, what);
        assert.equal(service[i]!.via, via, what);
      }
      // Lines keep their numbers: the error is on line 4 of main.c either way.
      assert.match(service[1]!.diagnostics, /main\.c:4:\d+: error/);
      assert.match(plain[1]!.diagnostics, /main\.c:4:\d+: error/);
    }, { cache: false });
  },
});

/** Process ids of the warm compilers (cc1 processes run on a stub or a prefix). */
async function warmCompilerPids(): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    const argv = cmdline.split("\0");
    if (argv[0]?.endsWith("/cc1") && argv.some((a) => a === "stub.c" || a === "prefix.h")) {
      pids.push(Number(entry.name));
    }
  }
  return pids;
}

Deno.test({
  name:
    "check() leaves the job of a warm compiler that died to the plain path, then starts it again",
  ignore: unavailable("c") !== undefined,
  fn: async () => {
    const code = (n: number) => `#include <stdio.h>\nint f${n}(void) { return ${n}; }\n`;
    await withChecker(["c"], async (checker) => {
      const first = await checker.check("c", code(1));
      assert.deepEqual([first.compiled, first.via], [true, "warm"]);
      const pids = await warmCompilerPids();
      assert.ok(pids.length >= 2, `the base and the prefix's compiler run: ${pids}`);
      for (const pid of pids) Deno.kill(pid, "SIGKILL");
      for (const pid of pids) await waitGone(pid);
      const victim = await checker.check("c", code(2));
      assert.deepEqual([victim.compiled, victim.via], [true, "worker"]);
      const after = await checker.check("c", code(3));
      assert.deepEqual([after.compiled, after.via], [true, "warm"]);
      assert.equal(checker.stats().restarts, 0, "the worker itself went on");
    }, { cache: false, workers: 1 });
  },
});

Deno.test({
  name: "checkMany() agrees with plain gcc on 48 real C functions under three include prefixes",
  ignore: unavailable("c") !== undefined,
  fn: async () => {
    // Functions from Go's C sources (the CodeBLEU golden pairs), most missing their declarations.
    const golden = JSON.parse(
      readFileSync(fixturePath("metrics/codebleu_golden.json"), "utf8"),
    ) as { sources: { c: { items: { code: string }[] } } };
    const prefixes = [
      "",
      "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n",
      "#include <stdint.h>\n#include <stddef.h>\n",
    ];
    const codes = golden.sources.c.items.slice(0, 48).map((item, i) =>
      new TextEncoder().encode(`${prefixes[i % 3]}${item.code}\n`)
    );
    await withChecker(["c"], async (checker) => {
      const service = await checker.checkMany("c", codes);
      const plain = await plainAll("c", codes);
      const differ = service.flatMap((v, i) => (v.compiled === plain[i]!.compiled ? [] : [i]));
      assert.deepEqual(differ, []);
      assert.ok(plain.some((v) => v.compiled) && plain.some((v) => !v.compiled));
      assert.ok(service.every((v) => v.via === "warm"), service.map((v) => v.via).join());
    }, { cache: false });
  },
});

Deno.test({
  name: "check() compiles C++ through a warm compiler with and without a precompiled first header",
  ignore: unavailable("cpp") !== undefined,
  fn: async () => {
    const body = "int main() { std::vector<int> v{3, 1}; return (int)v.size(); }\n";
    const codes = [
      `#include <vector>\n${body}`, // forked from the base compiler
      `#include <vector>\n${body.replace("v.size()", "v.sizes()")}`,
      `#include <iostream>\n#include <vector>\n${body}`, // its own compiler, on the PCH
      `#include <iostream>\n#include <vector>\n${body.replace("int>", "int")}`,
    ].map((code) => new TextEncoder().encode(code));
    await withChecker(["cpp"], async (checker) => {
      const service = await checker.checkMany("cpp", codes);
      assert.deepEqual(service.map((v) => v.compiled), [true, false, true, false]);
      assert.deepEqual(service.map((v) => v.via), ["warm", "warm", "warm", "warm"]);
    }, { cache: false, workers: 1 });
  },
});
