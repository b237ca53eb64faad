/**
 * Hostile files against the compile service (sandbox/compile): a file that tries to change
 * another file's verdict, or to pass where the plain compiler on it alone fails, through whatever
 * it shares with other files in a worker (a C# batch, a warm javac, warm gcc processes, the
 * worker's files and memory). Each file's verdict must equal the plain compiler's on that file
 * alone, whatever else is compiled with it or before it, and an innocent file right after must
 * pass. To add an attack, add a group of files to a table: the first file attacks, the others are
 * what it tries to affect (`plain` says how the plain compiler judges each, so that a group whose
 * attack would work shows it).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type CompileChecker,
  type CompileLanguage,
  type CompileLimits,
  type CompileVerdict,
  createCompileChecker,
  csharpBatchable,
  type CsharpReferenceNames,
  plainCheck,
} from "../../sandbox/compile/mod.ts";
import { bwrapArgv } from "../../sandbox/compile/_bwrap.ts";
import { defaultBuildDir, planWorker } from "../../sandbox/compile/_build.ts";
import { COMPILE_SPECS } from "../../sandbox/compile/_spec.ts";
import { fixturePath } from "../_shared.ts";
import { missingToolchain, onPath } from "./_toolchains.ts";

/** Generous limits: a loaded machine must not turn a slow compile into a timeout here. */
const LIMITS = { wallMs: 30_000, memoryMb: 1024 };

/** Why `language`'s compile service cannot be tested here, or undefined. */
function unavailable(language: CompileLanguage): string | undefined {
  if (!onPath("bwrap")) return 'the compile service is not tested as "bwrap" is not on PATH';
  return missingToolchain(language);
}

/** One attack: files compiled together, the first attacking, and their plain verdicts. */
interface Attack {
  readonly files: readonly string[];
  /** Whether the plain compiler compiles each file alone. */
  readonly plain: readonly boolean[];
}

/** Plain verdicts already computed (files recur across attacks): by language, limits and text. */
const PLAIN_SEEN = new Map<string, Promise<CompileVerdict>>();

/** The plain compiler on each file alone, two at a time. */
async function plainVerdicts(
  language: CompileLanguage,
  files: readonly string[],
  limits: Partial<CompileLimits> = LIMITS,
): Promise<CompileVerdict[]> {
  const verdicts: CompileVerdict[] = new Array(files.length);
  let next = 0;
  const runner = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const key = JSON.stringify([language, limits, files[i]]);
      if (!PLAIN_SEEN.has(key)) PLAIN_SEEN.set(key, plainCheck(language, files[i]!, { limits }));
      verdicts[i] = await PLAIN_SEEN.get(key)!;
    }
  };
  await Promise.all([runner(), runner()]);
  return verdicts;
}

function describe(verdicts: readonly CompileVerdict[]): string {
  return verdicts.map((v) => `${v.status} (${v.via}) ${v.diagnostics.slice(0, 300)}`).join("\n");
}

/**
 * Checks `attack`'s files together (one call: one batch, one pipeline) and then one by one, on
 * `checker`; every verdict must be the plain compiler's, then an innocent file must pass.
 */
async function assertPlainVerdicts(
  checker: CompileChecker,
  language: CompileLanguage,
  attack: Attack,
  innocent: string,
): Promise<CompileVerdict[]> {
  const plain = await plainVerdicts(language, attack.files);
  assert.deepEqual(plain.map((v) => v.compiled), attack.plain, `plain:\n${describe(plain)}`);
  const together = await checker.checkMany(language, attack.files);
  assert.deepEqual(together.map((v) => v.compiled), attack.plain, describe(together));
  const alone: CompileVerdict[] = [];
  for (const file of attack.files) alone.push(await checker.check(language, file));
  assert.deepEqual(alone.map((v) => v.compiled), attack.plain, describe(alone));
  const after = await checker.check(language, innocent);
  assert.equal(after.compiled, true, describe([after]));
  return together;
}

async function withChecker(
  language: CompileLanguage,
  fn: (checker: CompileChecker) => Promise<void>,
  limits: Partial<CompileLimits> = LIMITS,
): Promise<void> {
  const checker = await createCompileChecker({
    languages: [language],
    workers: 1,
    cache: false,
    limits,
  });
  try {
    await fn(checker);
  } finally {
    await checker.close();
  }
}

// ---------------------------------------------------------------------------------------------
// C#: one batch of files wrapped in namespaces of their own.

const HELPER = "public class Helper { public static int X = 1; }";
/** Compiles only where a `Helper` type is visible. */
const USES_HELPER = "public class B { public int G() { return Helper.X; } }";
/** Honest files that share the attacker's batch (two of them, so that a batch is always made). */
const CSHARP_COMPANIONS = [
  "using System;\npublic class Program { public static int Main() { return 0; } }",
  "public class E { public const int K = 1; }",
];
const CSHARP_INNOCENT = "public class Innocent { int F() { return 2; } }";

/**
 * C# attacks: each group is compiled with the two companions after it. The second declares `E`;
 * `$E` in an attack stands for the id of its wrapper, `__ppo_b_<id>` (a checker numbers its jobs
 * from 0 in the order they come, so the test knows it).
 */
const CSHARP_ATTACKS: Readonly<Record<string, Attack>> = {
  "closes its wrapper and declares a global type": {
    files: [`public class A { public void F() {} } } ${HELPER} class Pad {`, USES_HELPER],
    plain: [false, false],
  },
  "closes its wrapper and opens a namespace another file imports": {
    files: [
      `public class A {} } namespace System { ${HELPER} } namespace Pad {`,
      `using System;\n${USES_HELPER}`,
    ],
    plain: [false, false],
  },
  "closes its wrapper and adds an extension method to the global namespace": {
    files: [
      "public class A {} } public static class Ext { public static int Twice(this int x) { " +
      "return 2 * x; } } class Pad {",
      "public class B { public int G() { return 3.Twice(); } }",
    ],
    plain: [false, false],
  },
  "closes its wrapper and reopens it empty": {
    files: ["} namespace Pad {", USES_HELPER],
    plain: [false, false],
  },
  "names another file's wrapper by a unicode escape": {
    files: ["public class F { public int G() { return \\u005f_ppo_b_$E.E.K; } }"],
    plain: [false],
  },
  "names another file's wrapper by a verbatim identifier": {
    files: ["public class F { public int G() { return @__ppo_b_$E.E.K; } }"],
    plain: [false],
  },
  "names another file's wrapper through global::": {
    files: ["public class F { public int G() { return global::__ppo_b_$E.E.K; } }"],
    plain: [false],
  },
  "hides a brace from a brace counter with #if false": {
    files: [`public class A {\n#if false\n{\n#endif\n} } ${HELPER} class Pad {`, USES_HELPER],
    plain: [false, false],
  },
  "hides a brace in the text of #region": {
    files: [`public class A {\n#region {\n} } ${HELPER} class Pad {\n#endregion\n`, USES_HELPER],
    plain: [false, false],
  },
  "defines a symbol and closes its wrapper under #if": {
    files: [`#define EVIL\npublic class A {\n#if EVIL\n} } ${HELPER} class Pad {\n#endif\n}`],
    plain: [false],
  },
  "moves its lines to another file with #line": {
    files: [`#line 1 "W.cs"\npublic class A { } } ${HELPER} class Pad {`, USES_HELPER],
    plain: [false, false],
  },
  "ends a line comment with a line separator": {
    files: [`public class A { // x\u2028} } ${HELPER} class Pad {`, USES_HELPER],
    plain: [false, false],
  },
  "ends a line comment with a lone carriage return": {
    files: [`public class A { // x\r} } ${HELPER} class Pad {`, USES_HELPER],
    plain: [false, false],
  },
  "fakes a quote in a verbatim string": {
    files: [`public class A { string s = @"x"" }"; } } ${HELPER} class Pad {`, USES_HELPER],
    plain: [false, false],
  },
  "hides braces in an interpolated string": {
    files: [`public class A { string s = $"{ "}" }"; } } ${HELPER} class Pad {`, USES_HELPER],
    plain: [false, false],
  },
  "swallows a quote into a malformed \\x escape": {
    files: [
      `public class A { string s = "\\x"; } } ${HELPER} class Pad { string t = "; }`,
      USES_HELPER,
    ],
    plain: [false, false],
  },
  "swallows a brace into a number's exponent": {
    files: [`public class A { double d = 1e}; } ${HELPER} class Pad {`, USES_HELPER],
    plain: [false, false],
  },
  "hides braces in character literals (honest)": {
    files: ["public class A { char c = '}'; char d = '{'; char e = '\\''; string f = \"}\\\"\"; }"],
    plain: [true],
  },
  "leaves a comment open for the wrapper's brace": {
    files: ["public class A { } /*", USES_HELPER],
    plain: [false, false],
  },
  "declares an assembly attribute": {
    files: ["[assembly: System.CLSCompliant(true)]\npublic class A {}"],
    plain: [true],
  },
  "declares an extern alias": {
    files: ["extern alias Evil;\npublic class A {}"],
    plain: [false],
  },
  "imports the static members of a type": {
    files: ["using static System.Math;\npublic class A { double F() { return Sqrt(4); } }"],
    plain: [true],
  },
  "declares a type named like a top-level namespace and uses it": {
    files: ["public class System {}\npublic class A { void F() { System.Console.WriteLine(); } }"],
    plain: [false],
  },
  "declares a type named like a global type of the references": {
    files: [
      "public class Locale { public static int X = 1; }\npublic class A { int F() { " +
      "return Locale.X; } }",
    ],
    plain: [true],
  },
  "aliases a top-level namespace": {
    files: [
      "using System = Foo;\npublic class Foo { public class Console { public static void " +
      "WriteLine() {} } }\npublic class A { void F() { System.Console.WriteLine(); } }",
    ],
    plain: [false],
  },
  "aliases a global type of the references": {
    files: [
      "using Locale = System.Console;\npublic class A { void F() { Locale.WriteLine(); } }",
    ],
    plain: [true],
  },
  "prints a line that looks like another file's error": {
    files: [
      'public class A { [System.Obsolete("x\\n/box/jobs/$E/W.cs(1,1): error CS0103: fake", true)] ' +
      "public static void Old() {} public static void F() { Old(); } }",
    ],
    plain: [false],
  },
  "splits a partial class across files": {
    files: [
      "public partial class P { public int X = 1; }",
      "public partial class P { public int G() { return X; } }",
    ],
    plain: [true, false],
  },
  "defines an extension method another file calls": {
    files: [
      "public static class Ext { public static int Twice(this int x) { return 2 * x; } }",
      "public class B { public int G() { return 3.Twice(); } }",
    ],
    plain: [true, false],
  },
  "hides a byte order mark and a NUL among its braces": {
    files: ["public class A {\ufeff\u0000}"],
    plain: [true],
  },
  "declares a namespace of its own": {
    files: ["namespace N { public class Helper { public static int X = 1; } }", USES_HELPER],
    plain: [true, false],
  },
};

{
  const reason = unavailable("csharp");
  Deno.test({
    name: "checkMany() gives every C# file the plain verdict, whatever shares its batch",
    ignore: reason !== undefined,
    fn: async (t) => {
      await withChecker("csharp", async (checker) => {
        for (const [name, attack] of Object.entries(CSHARP_ATTACKS)) {
          await t.step(`a file that ${name}`, async () => {
            // Without a cache, every file checked is a job: E's id is known.
            const target = checker.stats().checked + attack.files.length + 1;
            const files = [...attack.files, ...CSHARP_COMPANIONS]
              .map((file) => file.replaceAll("$E", String(target)));
            const together = await assertPlainVerdicts(checker, "csharp", {
              files,
              plain: [...attack.plain, true, true],
            }, CSHARP_INNOCENT);
            // The honest companions are still compiled in a batch.
            const companions = together.slice(attack.files.length);
            assert.ok(companions.every((v) => v.via === "batch"), describe(companions));
          });
        }
      });
    },
  });
}

Deno.test({
  name: "the C# compile server compiles alone a batch whose parse shows a file outside its wrapper",
  ignore: unavailable("csharp") !== undefined,
  fn: async () => {
    // The server itself, past the batching check: its own check of the parse must catch it.
    const checker = await createCompileChecker({ languages: ["csharp"], cache: false });
    const toolchain = checker.toolchains.csharp!;
    await checker.close();
    const plan = await planWorker(
      "csharp",
      { ...LIMITS, fileSizeMb: 64 },
      defaultBuildDir(),
      toolchain,
    );
    const box = await Deno.makeTempDir({ prefix: "ppocoder-hostile-" });
    try {
      const files = [`public class A {} } ${HELPER} class Pad {`, USES_HELPER, CSHARP_INNOCENT];
      for (const [id, file] of files.entries()) {
        await Deno.mkdir(join(box, "jobs", String(id)), { recursive: true });
        await Deno.writeTextFile(join(box, "jobs", String(id), "Program.cs"), file);
      }
      const argv = bwrapArgv(plan.command, {
        box,
        opt: plan.opt!,
        env: COMPILE_SPECS.csharp.env({ ...LIMITS, fileSizeMb: 64 }),
      });
      const child = new Deno.Command(argv[0]!, {
        args: argv.slice(1),
        stdin: "piped",
        stdout: "piped",
      })
        .spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("B 0 1 2\n"));
      await writer.close();
      const output = new TextDecoder().decode((await child.output()).stdout);
      assert.deepEqual(output.trim().split("\n"), ["ready", "0 1", "1 1", "2 0"]);
      // Decided alone: the diagnostics name the file itself, not its wrapped copy.
      const diag = await Deno.readTextFile(join(box, "jobs", "1", "diag.txt"));
      assert.match(diag, /\/1\/Program\.cs\(1,\d+\): error CS0103/);
    } finally {
      await Deno.remove(box, { recursive: true });
    }
  },
});

Deno.test({
  name: "check() lets no C# file sign with a key that another job brought along",
  ignore: unavailable("csharp") !== undefined,
  fn: async () => {
    const key = Deno.readFileSync(fixturePath("compile_hostile/key.snk"));
    await withChecker("csharp", async (checker) => {
      const id = checker.stats().checked; // the key's job id: its folder is /box/jobs/<id>
      const files = [
        key,
        `[assembly: System.Reflection.AssemblyKeyFile("/box/jobs/${id}/Program.cs")]\n` +
        "public class A {}",
        '[assembly: System.Reflection.AssemblyKeyFile("Program.cs")]\npublic class B {}',
      ];
      const service = await checker.checkMany("csharp", files);
      const plain: CompileVerdict[] = [];
      for (const file of files) plain.push(await plainCheck("csharp", file, { limits: LIMITS }));
      assert.deepEqual(plain.map((v) => v.compiled), [false, false, false], describe(plain));
      assert.deepEqual(service.map((v) => v.compiled), [false, false, false], describe(service));
    });
  },
});

/** The top-level names of Mono 6.8's default references (the checker lists its own toolchain's). */
const NAMES: CsharpReferenceNames = {
  topLevel: new Set(["Internal", "Locale", "MS", "Microsoft", "Mono", "SR", "System"]),
  imported: new Set(["Shadowed"]),
};

Deno.test("csharpBatchable()", async (t) => {
  const batchable = (text: string) => csharpBatchable(new TextEncoder().encode(text), NAMES);
  await t.step("accepts honest files with braces in literals and comments", () => {
    for (
      const text of [
        "using System;\nusing System.Collections.Generic;\npublic class Program {\n" +
        '  public override string ToString() { return "{" + \'}\' + @"""{" + "\\u0041\\x7d"; }\n' +
        "  // a } in a comment\r\n  /* and { here */ int[] a = { 1, 0x1F, 2 };\n" +
        "  double d = 1.5e-3; char q = '\\''; string e = \"\\\\\";\n}\n",
        "public class A { int F() { return System.Math.Abs(-1) + Locale.X; } }",
        '// C#: ünïcödé in comments and "strings" is fine\npublic class A { string s = "é"; }',
      ]
    ) assert.equal(batchable(text), true, text);
  });
  await t.step("refuses what could reach outside the wrapper or read differently", () => {
    for (
      const text of [
        "public class A { } } class B {",
        "public class A { { }",
        "#if X\npublic class A {}\n#endif",
        'public class A { string s = $"{1}"; }',
        "public class \\u0041 {}",
        'public class A { string s = "\\q"; }',
        'public class A { string s = "\\x"; }',
        'public class A { string s = "\\u12"; }',
        'public class A { string s = "\\U0001F600"; }',
        "public class A { char c = 'ab'; }",
        "public class A { char c = ''; }",
        'public class A { string s = "open\n"; }',
        "public class A { double d = 1e; }",
        "public class A { int x = 0x; }",
        "public class A { } /*",
        'public class A { string s = @"open; }',
        "public class A { // \u2028 }",
        "public class A { // \r }",
        "public class A { int \u00e9 = 1; }",
        "public class A { int x = 1 @ 2; }",
        `public class A { int ${"a".repeat(600)} = 1; }`,
      ]
    ) assert.equal(batchable(text), false, JSON.stringify(text));
  });
  await t.step("refuses what reaches the global namespace or names other wrappers", () => {
    for (
      const text of [
        "namespace N { class A {} }",
        "extern alias Foo; class A {}",
        "[assembly: System.CLSCompliant(true)] class A {}",
        "[module: System.CLSCompliant(true)] class A {}",
        "class A { global::System.Int32 x; }",
        "using static System.Math; class A {}",
        "class A { int x = __ppo_b_1.E.K; }",
        'class A { string s = "__ppo_b_1"; }',
      ]
    ) assert.equal(batchable(text), false, text);
  });
  await t.step("refuses what would change name lookup inside the wrapper", () => {
    for (
      const text of [
        "class System {}",
        "class A<System> {}",
        "using System = Foo; class Foo {}",
        "delegate void Mono();",
        "enum Locale { A }",
        "class A { Locale l; }",
        "class A { int x = Shadowed.X; }",
      ]
    ) assert.equal(batchable(text), false, text);
  });
  await t.step("refuses invalid UTF-8, a byte order mark and control characters", () => {
    for (
      const bytes of [[0xef, 0xbb, 0xbf, 0x63], [0x63, 0xff, 0x63], [0x63, 0x00], [0x63, 0x0c]]
    ) assert.equal(csharpBatchable(new Uint8Array(bytes), NAMES), false, String(bytes));
  });
});

// ---------------------------------------------------------------------------------------------
// Java: one warm JVM running javac for one file after another.

const JAVA_INNOCENT = "public class Main { int f() { return 1; } }";

const JAVA_ATTACKS: Readonly<Record<string, Attack>> = {
  "defines a class that a later file uses": {
    files: [
      "class Helper { static int X = 1; }\npublic class Main {}",
      "public class Main { int g() { return Helper.X; } }",
    ],
    plain: [true, false],
  },
  "defines a class of a package that a later file of the package uses": {
    files: [
      "package p;\nclass Helper { static int X = 1; }\npublic class Main {}",
      "package p;\npublic class Main { int g() { return Helper.X; } }",
    ],
    plain: [true, false],
  },
  "defines a public class that a later file names in full": {
    files: [
      "package q;\npublic class Main { public static int X = 1; }",
      "public class Main { int g() { return q.Main.X; } }",
    ],
    plain: [true, false],
  },
  "defines a class that a later file imports statically": {
    files: [
      "package r;\npublic class Main { public static int X = 1; }",
      "import static r.Main.X;\npublic class Main { int g() { return X; } }",
    ],
    plain: [true, false],
  },
  "defines a class that a later file imports on demand": {
    files: [
      "package s;\npublic class Main { public static int X = 1; }\nclass Helper { public static int Y = 1; }",
      "import s.*;\npublic class Main { int g() { return Helper.Y; } }",
    ],
    plain: [true, false],
  },
  "defines an annotation that a later file uses": {
    files: ["@interface Mark {}\npublic class Main {}", "@Mark public class Main {}"],
    plain: [true, false],
  },
  "declares a class of java.lang": {
    files: [
      "package java.lang;\npublic class Main {}",
      "public class Main { int g() { return Main.class.hashCode(); } }",
    ],
    plain: [false, true],
  },
  "overflows javac's stack": {
    files: [
      `public class Main { int x = ${"(".repeat(3000)}1${")".repeat(3000)}; }`,
      JAVA_INNOCENT,
    ],
    plain: [false, true],
  },
};

{
  const reason = unavailable("java");
  Deno.test({
    name: "check() gives every Java file the plain verdict, whatever javac compiled before",
    ignore: reason !== undefined,
    fn: async (t) => {
      await withChecker("java", async (checker) => {
        for (const [name, attack] of Object.entries(JAVA_ATTACKS)) {
          await t.step(`a file that ${name}`, async () => {
            await assertPlainVerdicts(checker, "java", attack, JAVA_INNOCENT);
          });
        }
      });
    },
  });
}

// ---------------------------------------------------------------------------------------------
// C and C++: warm compilers and a warm assembler, forked per file; the worker's own files.

const C_INNOCENT = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n';
const CPP_INNOCENT = "#include <vector>\nint main() { std::vector<int> v{1}; return v[0]; }\n";

const C_ATTACKS: Readonly<Record<string, Attack>> = {
  "defines a macro a later file uses": {
    files: ["#define foo int\nfoo a;\n", "foo b;\n"],
    plain: [true, false],
  },
  "defines a macro after the includes a later file shares": {
    files: ["#include <stdio.h>\n#define foo int\nfoo a;\n", "#include <stdio.h>\nfoo b;\n"],
    plain: [true, false],
  },
  "pushes a macro for later files": {
    files: ['#define bar long\n#pragma push_macro("bar")\nint a;\n', "bar b;\n"],
    plain: [true, false],
  },
  "poisons an identifier a later file uses": {
    files: [
      "#pragma GCC poison puts\nint a;\n",
      '#include <stdio.h>\nint main(void) { puts("x"); return 0; }\n',
    ],
    plain: [true, true],
  },
  "turns a warning into an error for later files": {
    files: [
      '#pragma GCC diagnostic error "-Wunused-variable"\nint a;\n',
      "int f(void) { int unused; return 0; }\n",
    ],
    plain: [true, true],
  },
  "packs the structures of later files": {
    files: [
      "#pragma pack(1)\nint a;\n",
      'struct s { char c; int i; };\n_Static_assert(sizeof(struct s) == 8, "padded");\n',
    ],
    plain: [true, true],
  },
  "enables a target for later files": {
    files: [
      '#pragma GCC target("avx2")\nint a;\n',
      "#include <immintrin.h>\n__m256i f(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }\n",
    ],
    plain: [true, false],
  },
  "defines an assembler symbol a later file tests": {
    files: [
      '__asm__(".equ secret, 42");\nint a;\n',
      '__asm__(".if secret - 42\\n.error \\"no\\"\\n.endif");\nint b;\n',
    ],
    plain: [true, false],
  },
  "defines an assembler macro a later file calls": {
    files: ['__asm__(".macro evil\\n.endm");\nint a;\n', '__asm__("evil");\nint b;\n'],
    plain: [true, false],
  },
  "counts with __COUNTER__ before a later file": {
    files: ["int a = __COUNTER__;\n", '_Static_assert(__COUNTER__ == 0, "fresh");\nint b;\n'],
    plain: [true, true],
  },
  "includes another job's file": {
    files: ["int a;\n", "#include </box/jobs/0/main.c>\nint b = a;\n"],
    plain: [true, false],
  },
};

const CPP_ATTACKS: Readonly<Record<string, Attack>> = {
  "silences narrowing errors for later files": {
    files: ['#pragma GCC diagnostic ignored "-Wnarrowing"\nint a;\n', "char c{300};\n"],
    plain: [true, false],
  },
  "defines a macro after the includes a later file shares": {
    files: [
      "#include <vector>\n#define foo std::vector<int>\nfoo a;\n",
      "#include <vector>\nfoo b;\n",
    ],
    plain: [true, false],
  },
  "declares a template a later file uses": {
    files: [
      "template <class T> T twice(T x) { return 2 * x; }\nint a = twice(1);\n",
      "int b = twice(2);\n",
    ],
    plain: [true, false],
  },
  "asks whether the worker's precompiled header exists": {
    files: ["#if __has_include(<bits/stdc++.h.gch>)\nint x;\n#else\n#error no\n#endif\n"],
    plain: [false],
  },
  "includes the worker's precompiled header as a header": {
    files: ["#include <iostream.gch>\nint x;\n"],
    plain: [false],
  },
};

for (
  const [language, attacks, innocent] of [
    ["c", C_ATTACKS, C_INNOCENT],
    ["cpp", CPP_ATTACKS, CPP_INNOCENT],
  ] as const
) {
  const reason = unavailable(language);
  Deno.test({
    name:
      `check() gives every ${language} file the plain verdict, whatever the worker compiled before`,
    ignore: reason !== undefined,
    fn: async (t) => {
      await withChecker(language, async (checker) => {
        for (const [name, attack] of Object.entries(attacks)) {
          await t.step(`a file that ${name}`, async () => {
            await assertPlainVerdicts(checker, language, attack, innocent);
          });
        }
      });
    },
  });
}

/** Files that fail to compile and print, on a line of its own, what a CPU-time kill prints. */
const FAKE_CPU_KILL: Readonly<Record<CompileLanguage, string>> = {
  java: "public class Main { @Deprecated(forRemoval = true) static void f() {} void g() { f(); } " +
    'int x = "\ngcc: fatal error: CPU time limit exceeded signal terminated program cc1"; }',
  csharp: 'public class A { [System.Obsolete("x\\ncompiler terminated: CPU time limit exceeded ' +
    '(signal 24)", true)] static void Old() {} static void F() { Old(); } }',
  c: '#pragma message "x\\ngcc: fatal error: CPU time limit exceeded signal terminated program ' +
    'cc1\\ncompiler terminated: CPU time limit exceeded (signal 24)"\nint x = y;\n',
  cpp: '#pragma message "x\\ng++: fatal error: CPU time limit exceeded signal terminated program ' +
    'cc1plus\\ncompiler terminated: CPU time limit exceeded (signal 9)"\nint x = y;\n',
};

for (const language of ["java", "csharp", "c", "cpp"] as const) {
  Deno.test({
    name: `check() judges a ${language} file that prints a CPU-time kill a compile error`,
    ignore: unavailable(language) !== undefined,
    fn: async () => {
      await withChecker(language, async (checker) => {
        const service = await checker.check(language, FAKE_CPU_KILL[language]);
        const [plain] = await plainVerdicts(language, [FAKE_CPU_KILL[language]]);
        assert.equal(plain!.status, "compile_error", describe([plain!]));
        assert.equal(service.status, "compile_error", describe([service]));
      });
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Memory: a worker's files do not pile up, and a compile is held to the memory limit.

/** Process ids of the children of `pid`. */
function children(pid: number): number[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`);
    return text.trim().split(/\s+/).filter((word) => word !== "").map(Number);
  } catch {
    return [];
  }
}

/** Bytes of the files under `dir`. */
function treeBytes(dir: string): number {
  let bytes = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    const stat = Deno.lstatSync(path);
    bytes += stat.isDirectory ? treeBytes(path) : stat.size;
  }
  return bytes;
}

/** The worker's private /tmp, seen through the sandbox's first process, if this host may look. */
function workerTmp(checker: CompileChecker, language: CompileLanguage): string | undefined {
  const pid = checker.stats().workerPids[language]?.[0];
  const inner = pid === undefined ? undefined : children(pid)[0];
  if (inner === undefined) return undefined;
  const tmp = `/proc/${inner}/root/tmp`;
  try {
    Deno.readDirSync(tmp);
    return tmp;
  } catch {
    return undefined;
  }
}

/** Files whose compiles write much (class files, assembly, a library): 8 per round. */
const OUTPUT_HEAVY: Readonly<Record<CompileLanguage, (i: number) => string>> = {
  java: (i) =>
    `package p${i};\n` +
    Array.from({ length: 20 }, (_, k) => `class C${k} { String s = "${"x".repeat(400)}${k}"; }`)
      .join("\n") +
    "\npublic class Main {}\n",
  csharp: (i) => `public class Program { string s = "${"x".repeat(20_000)}${i}"; }`,
  c: (i) => `char big${i}[] = "${"y".repeat(20_000)}";\n`,
  cpp: (i) =>
    `template <int N> struct T${i} { int a[N]; };\nT${i}<${5000 + i}> t${i}{${
      "1,".repeat(2000)
    }1};\n`,
};

for (const language of ["java", "csharp", "c", "cpp"] as const) {
  Deno.test({
    name: `a ${language} compile worker's tmpfs does not grow with its jobs`,
    ignore: unavailable(language) !== undefined,
    fn: async () => {
      await withChecker(language, async (checker) => {
        const round = async (r: number) => {
          const files = Array.from({ length: 8 }, (_, i) => OUTPUT_HEAVY[language](r * 100 + i));
          const verdicts = await checker.checkMany(language, files);
          assert.ok(verdicts.every((v) => v.compiled), describe(verdicts));
        };
        await round(0);
        const tmp = workerTmp(checker, language);
        if (tmp === undefined) {
          return console.warn(`ignored: the ${language} worker's /tmp cannot be read here`);
        }
        const first = treeBytes(tmp);
        await round(1);
        await round(2);
        const last = treeBytes(tmp);
        assert.ok(last <= first, `/tmp grew from ${first} to ${last} bytes`);
        assert.ok(last < 64 * 1024, `/tmp holds ${last} bytes after 24 jobs`);
      });
    },
  });
}

/**
 * Files that need more memory than the test's limit (with 1 GiB, the C and C++ ones compile):
 * constant folding that doubles a string (javac, mcs), a range initializer of a million
 * elements (cc1), a constexpr table of 260,000 entries (cc1plus).
 */
const MEMORY_HOGS: Readonly<Record<CompileLanguage, { code: string; memoryMb: number }>> = {
  java: {
    code: 'public class Main {\n  static final String s0 = "0123456789abcdef";\n' +
      Array.from({ length: 26 }, (_, i) => `  static final String s${i + 1} = s${i} + s${i};\n`)
        .join("") +
      "}\n",
    memoryMb: 256,
  },
  csharp: {
    code: 'public class Program {\n  const string s0 = "0123456789abcdef";\n' +
      Array.from({ length: 26 }, (_, i) => `  const string s${i + 1} = s${i} + s${i};\n`)
        .join("") +
      "}\n",
    memoryMb: 256,
  },
  c: { code: "static int a[] = { [0 ... 1000000] = 1 };\nint *p = a;\n", memoryMb: 128 },
  cpp: {
    code: "#include <array>\nconstexpr std::array<long, 260000> make() {\n" +
      "  std::array<long, 260000> a{};\n  for (long i = 0; i < 260000; i++) a[i] = i * i;\n" +
      "  return a;\n}\nconstexpr auto table = make();\nlong at(int i) { return table[i]; }\n",
    memoryMb: 128,
  },
};

const INNOCENT: Readonly<Record<CompileLanguage, string>> = {
  java: JAVA_INNOCENT,
  csharp: CSHARP_INNOCENT,
  c: C_INNOCENT,
  cpp: CPP_INNOCENT,
};

for (const language of ["java", "csharp", "c", "cpp"] as const) {
  Deno.test({
    name: `check() ends a ${language} compile past the memory limit as the plain compiler does`,
    ignore: unavailable(language) !== undefined,
    fn: async () => {
      const { code, memoryMb } = MEMORY_HOGS[language];
      const limits = { wallMs: 30_000, memoryMb };
      await withChecker(language, async (checker) => {
        const service = await checker.check(language, code);
        const [plain] = await plainVerdicts(language, [code], limits);
        assert.equal(plain!.compiled, false, describe([plain!]));
        assert.equal(service.compiled, false, describe([service]));
        const after = await checker.check(language, INNOCENT[language]);
        assert.equal(after.compiled, true, describe([after]));
        // The worker's sandbox is held to the limit as a whole, where cgroups can be made.
        if (checker.notes.length > 0) return console.warn(`not checked: ${checker.notes}`);
        const pid = checker.stats().workerPids[language]![0]!;
        const line = Deno.readTextFileSync(`/proc/${pid}/cgroup`).split("\n")
          .find((l) => l.split(":")[1]?.split(",").includes("memory"))!;
        const dir = `/sys/fs/cgroup/memory${line.split(":")[2]}`;
        const limit = Number(Deno.readTextFileSync(`${dir}/memory.limit_in_bytes`).trim());
        assert.equal(limit, memoryMb * 1024 * 1024);
      }, limits);
    },
  });
}

Deno.test({
  name: "check() compiles the C memory hog under 1 GiB: the limit decides, not the path",
  ignore: unavailable("c") !== undefined,
  fn: async () => {
    await withChecker("c", async (checker) => {
      const verdict = await checker.check("c", MEMORY_HOGS.c.code);
      assert.deepEqual([verdict.compiled, verdict.via], [true, "warm"], describe([verdict]));
    });
  },
});
