import assert from "node:assert/strict";
import { join } from "node:path";
import {
  detokenizeXlcost,
  parseXlcostMap,
  parseXlcostSplit,
  tokenizeStringLiteral,
  tokenizeXlcost,
  xlcost,
  XLCOST_SPLITS,
} from "../../benchmarks/xlcost.ts";
import { fixturePath, hasShared, sharedPath } from "../_shared.ts";
import { withExecutor } from "./_sandbox.ts";
import type { TranslationLanguage } from "../../benchmarks/_translation.ts";
import type { Sample } from "../../src/types.ts";

const DATA = fixturePath("benchmarks/xlcost");
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const PROGRAMS = join(DATA, "XLCoST_data", "pair_data_tok_full");
const SNIPPETS = join(DATA, "XLCoST_data", "pair_data_tok_1");

/** Every line of every `-tok` fixture file, with its language. */
async function fixtureLines(): Promise<[string, TranslationLanguage, string][]> {
  const ext: Record<string, TranslationLanguage> = {
    cpp: "cpp",
    py: "python",
    java: "java",
    cs: "csharp",
  };
  const out: [string, TranslationLanguage, string][] = [];
  for (const root of [PROGRAMS, SNIPPETS]) {
    for await (const pair of Deno.readDir(root)) {
      for await (const file of Deno.readDir(join(root, pair.name))) {
        const m = /-tok\.(\w+)$/.exec(file.name);
        if (m === null) continue;
        const text = await Deno.readTextFile(join(root, pair.name, file.name));
        for (const [i, line] of text.trimEnd().split("\n").entries()) {
          out.push([`${pair.name}/${file.name}:${i + 1}`, ext[m[1]!]!, line]);
        }
      }
    }
  }
  return out;
}

Deno.test("XLCoST token format", async (t) => {
  await t.step(
    "detokenizes Python with NEW_LINE, INDENT, DEDENT and string literals",
    () =>
      assert.equal(
        detokenizeXlcost(
          "def f ( n ) : NEW_LINE INDENT if n : NEW_LINE INDENT return ' _ _ a ▁ b ' NEW_LINE DEDENT return \" x \" NEW_LINE DEDENT print ( f ( 1 ) ) NEW_LINE",
          "python",
        ),
        "def f ( n ) :\n    if n :\n        return '__a b'\n    return \"x\"\nprint ( f ( 1 ) )\n",
      ),
  );
  await t.step("detokenizes C++ with NEW_LINE only after preprocessor lines", () =>
    assert.equal(
      detokenizeXlcost(
        '#include <bits/stdc++.h> NEW_LINE using namespace std ; int main ( ) { cout << " a ▁ b \\ n " ; }',
        "cpp",
      ),
      '#include <bits/stdc++.h>\nusing namespace std ; int main ( ) { cout << "a b\\n" ; }\n',
    ));
  await t.step(
    "keeps escaped quotes inside strings",
    () => assert.equal(detokenizeXlcost('s = " a \\ " b " NEW_LINE', "python"), 's = "a\\"b"\n'),
  );
  await t.step("string literals are split as TransCoder does", () => {
    assert.equal(tokenizeStringLiteral("'__main__'"), "' _ _ main _ _ '");
    assert.equal(tokenizeStringLiteral('"Hello, World!"'), '" Hello , ▁ World ! "');
  });
  await t.step("every fixture line round-trips: tokenize(detokenize(line)) == line", async () => {
    for (const [where, language, line] of await fixtureLines()) {
      assert.equal(tokenizeXlcost(detokenizeXlcost(line, language), language), line, where);
    }
  });
  await t.step("code round-trips through the token format up to layout", () => {
    const code =
      "def g(xs):\n    # sum\n    total = 0\n    for x in xs:\n        total += x\n    return total\n";
    const tokens = tokenizeXlcost(code, "python");
    assert.equal(
      tokens,
      "def g ( xs ) : NEW_LINE INDENT total = 0 NEW_LINE for x in xs : NEW_LINE INDENT total += x NEW_LINE DEDENT return total NEW_LINE DEDENT",
    );
    assert.equal(tokenizeXlcost(detokenizeXlcost(tokens, "python"), "python"), tokens);
  });
});

Deno.test("detokenizeXlcost() puts back what the format loses", async (t) => {
  await t.step("a #define after `using namespace std ;` starts its own line", () =>
    assert.equal(
      detokenizeXlcost(
        "#include <bits/stdc++.h> NEW_LINE using namespace std ; #define MAX_PATH_SIZE  1000 NEW_LINE int a [ MAX_PATH_SIZE ] ;",
        "cpp",
      ),
      "#include <bits/stdc++.h>\nusing namespace std ;\n#define MAX_PATH_SIZE 1000\nint a [ MAX_PATH_SIZE ] ;\n",
    ));
  await t.step("so does `# include` after code, in C and C#; `#` inside a #define stays", () => {
    assert.equal(
      detokenizeXlcost("int x ; # include <stdio.h> NEW_LINE", "c"),
      "int x ;\n# include <stdio.h>\n",
    );
    assert.equal(
      detokenizeXlcost("using System ; #if DEBUG NEW_LINE int x ;", "csharp"),
      "using System ;\n#if DEBUG\nint x ;\n",
    );
    assert.equal(
      detokenizeXlcost("#define STR ( x )  # x NEW_LINE int a ;", "cpp"),
      "#define STR ( x ) # x\nint a ;\n",
    );
  });
  await t.step("STRNEWLINE and TABSYMBOL are \\n and \\t in C-family strings and chars", () => {
    assert.equal(
      detokenizeXlcost(
        'cout << " Empty ▁ List STRNEWLINE " ; cout << \' STRNEWLINE \' << " a TABSYMBOL b " ;',
        "cpp",
      ),
      'cout << "Empty List\\n" ; cout << \'\\n\' << "a\\tb" ;\n',
    );
    assert.equal(
      detokenizeXlcost('System . out . print ( " x STRNEWLINE " ) ;', "java"),
      'System . out . print ( "x\\n" ) ;\n',
    );
    assert.equal(
      detokenizeXlcost('print ( " x STRNEWLINE " ) NEW_LINE', "python"),
      'print ( "x\\n" )\n',
    );
  });
  await t.step("and raw characters where the literal holds them", () => {
    assert.equal(detokenizeXlcost('$ s = " a STRNEWLINE b " ;', "php"), '$ s = "a\nb" ;\n');
    assert.equal(
      detokenizeXlcost('string s = @ " a STRNEWLINE b " ;', "csharp"),
      'string s = @"a\nb" ;\n',
    );
  });
  await t.step("the tokenizer reads \\n and \\t back as STRNEWLINE and TABSYMBOL", () => {
    assert.equal(tokenizeXlcost('cout << "Yes\\n" ;', "cpp"), 'cout << " Yes STRNEWLINE " ;');
    assert.equal(tokenizeXlcost("cout << '\\t' ;", "cpp"), "cout << ' TABSYMBOL ' ;");
    assert.equal(tokenizeXlcost('cout << "a\\\\n" ;', "cpp"), 'cout << " a \\ \\ n " ;');
    assert.equal(tokenizeXlcost('$ s = "a\nb" ;', "php"), '$ s = " a STRNEWLINE b " ;');
    for (const line of ['cout << " Yes STRNEWLINE " ;', "cout << ' TABSYMBOL ' ;"]) {
      assert.equal(tokenizeXlcost(detokenizeXlcost(line, "cpp"), "cpp"), line);
    }
  });
});

Deno.test("the compile service takes a header included again after its precompiled one", () =>
  withExecutor(["cpp"], async (executor) => {
    // XLCoST's C++ often has <iostream> first, then <bits/stdc++.h>, which includes it again.
    for (
      const includes of [
        "#include <iostream>\n#include <bits/stdc++.h>",
        "#include <bits/stdc++.h>\n#include <bits/stdc++.h>",
        "#include <bits/stdc++.h>\n#include <iostream>",
      ]
    ) {
      const code = `${includes}\nusing namespace std ;\nint main ( ) { cout << 1 ; }\n`;
      const result = await executor.execute({ language: "cpp", mode: "compile", code });
      assert.equal(result.status, "passed", `${includes}: ${result.stderr}`);
    }
  }));

Deno.test({
  name: "XLCoST's own lines with each fixed case compile (real data)",
  ignore: !hasShared("datasets/xlcost"),
  async fn(t) {
    const data = sharedPath("datasets/xlcost");
    const loaded = await xlcost.load({ data, split: "program/java-cpp/test" });
    const line = (n: number) => loaded.tasks[n - 1]!;
    // Lines 9, 20 and 49: a #define after `using namespace std ;`; 14, 34 and 43: STRNEWLINE.
    const cases = [9, 20, 49, 14, 34, 43].map(line);
    await t.step("the detokenized lines have the fixed forms", () => {
      assert.ok(/^#define MAX_PATH_SIZE 1000$/m.test(line(9).reference));
      assert.ok(line(14).reference.includes("\\n"));
    });
    await t.step("and compile", () =>
      withExecutor(["cpp"], async (executor) => {
        for (const task of cases) {
          const result = await executor.execute(xlcost.request(task, task.reference));
          assert.equal(result.status, "passed", `${task.id}: ${result.stderr.slice(0, 400)}`);
        }
      }));
  },
});

Deno.test("xlcost.load() reads program- and snippet-level fixtures", async (t) => {
  await t.step("program level, either language order of the pair folder", async () => {
    const forward = await xlcost.load({ data: DATA, split: "program/cpp-python/test" });
    const backward = await xlcost.load({ data: DATA, split: "program/python-cpp/test" });
    assert.deepEqual(forward.tasks.map((x) => x.id), [
      "xlcost/program/cpp-python/test/1",
      "xlcost/program/cpp-python/test/2",
    ]);
    assert.equal(forward.tasks[0]!.language, "python");
    assert.equal(backward.tasks[0]!.language, "cpp");
    assert.ok(backward.tasks[0]!.prompt.includes(`Python:\n${forward.tasks[0]!.reference}\n`));
    assert.equal(forward.tasks[1]!.meta.problemId, "10754");
    assert.deepEqual(Object.keys(forward.sha256).sort(), [
      "test-C++-Python-tok.cpp",
      "test-C++-Python-tok.py",
      "test-C++-map.jsonl",
    ]);
  });
  await t.step("the prompt holds the detokenized source", async () => {
    const loaded = await xlcost.load({ data: DATA, split: "program/python-cpp/test" });
    const prompt = xlcost.prompt(loaded.tasks[0]!);
    assert.ok(
      prompt.startsWith(
        "Translate the following Python program to C++.\n\nPython:\ndef countSetBits ( n ) :\n    count = 0\n",
      ),
    );
    assert.ok(prompt.endsWith("\n\nC++:\n"));
  });
  await t.step("snippet level wraps statements for the compiler", async () => {
    const loaded = await xlcost.load({ data: DATA, split: "snippet/python-java/test" });
    assert.equal(loaded.tasks.length, 4);
    const [method, statements] = loaded.tasks;
    assert.equal(method!.reference, "static int sumOfDigits ( int n ) {\n");
    assert.ok(method!.check.kind === "compile" && method!.check.prefix!.endsWith("class Main {\n"));
    assert.ok(
      statements!.check.kind === "compile" &&
        statements!.check.prefix!.endsWith("void __snippet() {\n"),
    );
    assert.equal(statements!.meta.problemId, "20133-Python-2");
  });
  await t.step("--data may be the level folder or the pair folder itself", async () => {
    const level = await xlcost.load({ data: PROGRAMS, split: "program/java-csharp/test" });
    const pair = await xlcost.load({
      data: join(PROGRAMS, "Java-C#"),
      split: "program/java-csharp/test",
    });
    assert.equal(level.tasks.length, 1);
    assert.deepEqual(pair.tasks, level.tasks);
    assert.equal(level.tasks[0]!.meta.problemId, "20133");
  });
  await t.step("splits: 252 named, program/java-cpp/test first", () => {
    assert.equal(XLCOST_SPLITS[0], "program/java-cpp/test");
    assert.equal(XLCOST_SPLITS.length, 2 * 42 * 3);
  });
});

Deno.test("xlcost.load() errors", async (t) => {
  await t.step(
    "say where XLCoST comes from when it is absent",
    async () =>
      await assert.rejects(xlcost.load({ data: DATA, split: "program/php-c/test" }), {
        name: "DatasetError",
        message:
          /^Cannot find XLCoST program-level PHP-C "test" files as they are in none of: .* XLCoST is published only on Google Drive: .*pair_data_tok_1\/ \(snippets\)$/,
      }),
  );
  await t.step(
    "reject malformed split names",
    () =>
      assert.throws(() => parseXlcostSplit("java-python"), {
        name: "RangeError",
        message:
          /^Cannot load XLCoST split "java-python" as it must be <level>\/<source>-<target>\/<split>: /,
      }),
  );
  await t.step("name both files when line counts differ", async () => {
    const folder = join(DATA, "malformed", "pair_data_tok_full", "C++-Python");
    await assert.rejects(
      xlcost.load({ data: join(DATA, "malformed"), split: "program/cpp-python/test" }),
      {
        name: "RangeError",
        message:
          `Cannot pair "${folder}/test-C++-Python-tok.cpp" with "${folder}/test-C++-Python-tok.py" as they must have as many lines: current counts are 1 and 2`,
      },
    );
  });
  await t.step("name the file and line of a bad map line", async () => {
    const path = join(DATA, "malformed", "pair_data_tok_full", "C++-Python", "val-C++-map.jsonl");
    await assert.rejects(
      xlcost.load({ data: join(DATA, "malformed"), split: "program/cpp-python/val" }),
      {
        name: "SyntaxError",
        message: new RegExp(
          `^Cannot read XLCoST map at "${
            escape(path)
          }" line 1 as it is not valid JSON: .*: fix or remove that line$`,
        ),
      },
    );
    assert.throws(() => parseXlcostMap("[1]\n", "m.jsonl"), {
      name: "TypeError",
      message:
        'Cannot read XLCoST map at "m.jsonl" line 1 as it must be a problem id (a string, a number, or an object with "id", "idx", "problem_id" or "pid"): current value is [1]',
    });
  });
});

Deno.test("xlcost gold translations compile and score 1", async (t) => {
  const programs = [
    ...(await xlcost.load({ data: DATA, split: "program/cpp-python/test" })).tasks,
    ...(await xlcost.load({ data: DATA, split: "program/python-cpp/test" })).tasks,
    ...(await xlcost.load({ data: DATA, split: "program/java-csharp/test" })).tasks,
    ...(await xlcost.load({ data: DATA, split: "program/csharp-java/test" })).tasks,
  ];
  const judged = programs.map((task) => {
    const sample: Sample = { taskId: task.id, index: 0, raw: task.reference, code: task.reference };
    return { task, samples: [sample], results: [] };
  });
  await t.step("BLEU, exact match, CodeBLEU and syntax rate of the references", async () => {
    const summary = await xlcost.summarize!(judged);
    assert.equal(summary.metrics.bleu, 1);
    assert.equal(summary.metrics.exact_match, 1);
    assert.equal(summary.metrics.syntax_rate, 1);
    for (const language of ["python", "cpp", "csharp", "java"]) {
      assert.ok(summary.metrics[`codebleu/${language}`]! > 0.99, language);
    }
  });
  await t.step(
    "every program compiles in the sandbox (Java's public class included)",
    () =>
      withExecutor(["python", "cpp", "csharp", "java"], async (executor) => {
        for (const task of programs) {
          const result = await executor.execute(xlcost.request(task, task.reference));
          assert.equal(result.status, "passed", `${task.id}: ${result.stderr}`);
        }
      }),
  );
});
