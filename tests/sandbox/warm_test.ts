import assert from "node:assert/strict";
import { namesOtherFiles, warmPlan } from "../../sandbox/compile/_warm.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function plan(text: string, language: "c" | "cpp" = "c") {
  return warmPlan(encode(text), language, language === "c" ? "main.c" : "main.cpp");
}

const PROGRAM = [
  "// gcd",
  "#include <stdio.h>",
  "",
  "#  include<stdlib.h>",
  "int gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }",
  'int main(void) { printf("%d", gcd(4, 6)); return 0; }',
  "",
].join("\n");

Deno.test("warmPlan()", async (t) => {
  await t.step("moves the leading includes to the prefix and blanks them in the body", () => {
    const warm = plan(PROGRAM)!;
    assert.equal(warm.prefix, '#include <stdio.h>\n#include <stdlib.h>\n#include "main.c"\n');
    const body = decode(warm.body).split("\n");
    const source = PROGRAM.split("\n");
    assert.equal(body.length, source.length, "every line keeps its number");
    assert.deepEqual(body.slice(0, 4), ["// gcd", "", "", ""]);
    assert.deepEqual(body.slice(4), source.slice(4));
    assert.match(warm.key, /^[0-9a-f]{16}$/);
  });

  await t.step("names the prefix by language and includes, in order", () => {
    const key = (text: string, language: "c" | "cpp" = "c") => plan(text, language)!.key;
    const one = "#include <stdio.h>\n#include <math.h>\nint x;\n";
    assert.equal(key(one), key(one.replace("int x;", "int y;")));
    assert.equal(key(one), key(one.replace("#include <math.h>", "#include   <math.h>  ")));
    assert.notEqual(key(one), key("#include <math.h>\n#include <stdio.h>\nint x;\n"));
    assert.notEqual(key(one), key(one, "cpp"));
    assert.equal(plan("int x;\n", "cpp")!.prefix, '#include "main.cpp"\n');
  });

  await t.step("ends the prefix at the first line of code or of a block comment", () => {
    const warm = plan("#include <stdio.h>\n#define N 3\nint a[N];\n")!;
    assert.equal(warm.prefix, '#include <stdio.h>\n#include "main.c"\n');
    assert.equal(plan("/* x */\n#include <stdio.h>\n"), undefined, "a later include is refused");
    assert.equal(
      plan("// continued \\\n#include <stdio.h>\nint x;\n"),
      undefined,
      "a line comment that continues hides the next line: the include counts as a later one",
    );
  });

  await t.step("refuses what can tell the body from a main file", () => {
    const refused = [
      "#pragma once\nint x;\n",
      '_Pragma("once") int x;\n',
      "#if __INCLUDE_LEVEL__\n#error nested\n#endif\n",
      "const char *f = __FILE__;\n",
      "const char *f = __BASE_FILE__;\n",
      "const char *f = __FILE_NAME__;\n",
      "const char *f = __TIMESTAMP__;\n",
      "int c = __COUNTER__;\n",
      "#define CAT(a, b) a##b\nint CAT(x, y);\n",
      "%:define N 3\nint x;\n",
      "int x;\n#include <stdio.h>\n",
      '#include "local.h"\nint x;\n',
      "#define H <stdio.h>\n#include H\n",
      "#if __has_include(<stdio.h>)\n#endif\n",
      "#import <stdio.h>\n",
      "#include </box/jobs/0/main.c>\nint x;\n",
      "#include <../../box/jobs/0/main.c>\nint x;\n",
      "#include_next <stdio.h>\n",
      "const char *f = __FI\\\nLE__;\n",
      "const char *f = __FI\\  \nLE__;\n",
      "// about the include directive\nint x;\n",
      "int x;\r\nint y;\r\n",
      "\ufeffint x;\n",
      "int x;\0\n",
    ];
    for (const text of refused) assert.equal(plan(text), undefined, JSON.stringify(text));
    assert.equal(warmPlan(new Uint8Array([0x69, 0xff, 0x0a]), "c", "main.c"), undefined);
  });

  await t.step("accepts what only looks close", () => {
    for (
      const text of [
        "int included = 1;\n",
        "int FILE_x = 2;\n",
        "#define STR(x) #x\nconst char *s = STR(a);\n",
        "int main(void) { return 0; }",
      ]
    ) {
      assert.notEqual(plan(text), undefined, JSON.stringify(text));
    }
  });
});

Deno.test("namesOtherFiles()", async (t) => {
  const names = (text: string) => namesOtherFiles(encode(text));

  await t.step("finds what can open a file the source names", () => {
    for (
      const text of [
        '#include "body.c"\n',
        '#  include"../0/main.c"\n',
        "#include </box/jobs/0/main.c>\n",
        "#include <../../box/jobs/0/main.c>\n",
        "#define F <stdio.h>\n#include F\n",
        "#include_next <  /etc/passwd>\n",
        '#if __has_include("diag.txt")\n#endif\n',
        '#pragma GCC dependency "main.c"\n',
        '__asm__(".incbin \\"/box/jobs/0/main.c\\"");\n',
        '__asm__(".include \\"x.s\\"");\n',
        '#inc\\\nlude "body.c"\n',
      ]
    ) {
      assert.equal(names(text), true, JSON.stringify(text));
    }
  });

  await t.step("leaves system headers by name alone", () => {
    for (
      const text of [
        "#include <stdio.h>\n#include<bits/stdc++.h>\nint main() { return 0; }\n",
        "#if __has_include(<threads.h>)\n#endif\n",
        "int f(int n, ...);\n",
        "#ifndef X\n#error X is not included\n#endif\n",
      ]
    ) {
      assert.equal(names(text), false, JSON.stringify(text));
    }
  });
});
