import assert from "node:assert/strict";
import {
  cutAtClosingBrace,
  cutAtStop,
  extractCodeBlock,
  extractPythonDefinitions,
  sanitize,
  splitPythonBlocks,
} from "../../src/models/sanitize.ts";

Deno.test("cutAtStop()", async (t) => {
  await t.step("cuts before the earliest stop sequence", () => {
    assert.equal(cutAtStop("a\nb\nclass X\ndef y", ["\ndef", "\nclass"]), "a\nb");
  });
  await t.step("keeps the text without a stop or with an empty one", () => {
    assert.equal(cutAtStop("abc", []), "abc");
    assert.equal(cutAtStop("abc", ["", "z"]), "abc");
  });
});

Deno.test("extractCodeBlock()", async (t) => {
  await t.step("takes the block tagged with the language", () => {
    const text =
      "Sure:\n```text\nnot code\n```\nand\n```python\ndef f():\n    return 1\n```\nDone.";
    assert.equal(extractCodeBlock(text, { language: "python" }), "def f():\n    return 1\n");
  });
  await t.step("prefers the block that defines the entry point, then one that names it", () => {
    const text =
      "```python\nprint(f())\nprint(2)\nprint(3)\n```\n```python\ndef f():\n    pass\n```";
    assert.equal(
      extractCodeBlock(text, { language: "python", entryPoint: "f" }),
      "def f():\n    pass\n",
    );
    assert.equal(
      extractCodeBlock(text, { language: "python", entryPoint: "g" }),
      "print(f())\nprint(2)\nprint(3)\n",
    );
    const calls = "```\nx = 1\ny = 2\nz = 3\n```\n```\nprint(g(1))\n```";
    assert.equal(extractCodeBlock(calls, { language: "python", entryPoint: "g" }), "print(g(1))\n");
    const java =
      "```java\nint r = add(1, 2);\n```\n```java\nstatic int add(int a, int b) {\n  return a + b;\n}\n```";
    assert.equal(
      extractCodeBlock(java, { language: "java", entryPoint: "add" }),
      "static int add(int a, int b) {\n  return a + b;\n}\n",
    );
    const other = "```py\nx = 1\n```\n```python\ndef solve():\n    pass\n```";
    assert.equal(
      extractCodeBlock(other, { language: "python", entryPoint: "solve" }),
      "def solve():\n    pass\n",
    );
  });
  await t.step("takes the longest block when none names the entry point", () => {
    const text = "```\na = 1\n```\n```\nb = 22222\n```";
    assert.equal(extractCodeBlock(text, { language: "python" }), "b = 22222\n");
  });
  await t.step("runs an unclosed fence to the end", () => {
    assert.equal(extractCodeBlock("```java\nclass A {}\n", { language: "java" }), "class A {}\n");
  });
  await t.step("takes text without fences whole", () => {
    assert.equal(extractCodeBlock("def f(): pass", { language: "python" }), "def f(): pass");
  });
  await t.step("falls back to blocks of another tag", () => {
    assert.equal(extractCodeBlock("```cpp\nint x;\n```", { language: "c" }), "int x;\n");
  });
});

Deno.test("splitPythonBlocks()", async (t) => {
  await t.step(
    "keeps brackets, strings, continuations, decorators and else with their block",
    () => {
      const code = [
        "import os",
        "@cache",
        "@other(",
        "  1)",
        "def f(x):",
        '    """Doc',
        "at column 0",
        '"""',
        "    return [",
        "1, 2]",
        "# a comment at column 0",
        "    pass",
        "if x:",
        "    y = 1",
        "else:",
        "    y = 2",
        "total = 1 + \\",
        "2",
        "s = 'a # not a comment'",
      ].join("\n");
      const blocks = splitPythonBlocks(code);
      assert.deepEqual(blocks.map((b) => [b.kind, b.names]), [
        ["import", []],
        ["def", ["f"]],
        ["other", []],
        ["assign", ["total"]],
        ["assign", ["s"]],
      ]);
      assert.equal(blocks[1]?.text.split("\n").length, 11);
    },
  );
});

Deno.test("extractPythonDefinitions()", async (t) => {
  const code = [
    "import math",
    "from typing import List",
    "",
    "LIMIT = 10",
    "UNUSED = 3",
    "",
    "def helper(x):",
    "    return x * LIMIT",
    "",
    "class Box:",
    "    pass",
    "",
    "def unrelated():",
    "    return 0",
    "",
    "def solve(xs: List[int]) -> int:",
    "    return sum(helper(x) for x in xs) + math.floor(0.5)",
    "",
    "print(solve([1, 2]))",
    "assert solve([]) == 0",
    "",
    'if __name__ == "__main__":',
    "    solve([3])",
  ].join("\n");
  await t.step("keeps imports, the entry point and what it uses, transitively", () => {
    assert.equal(
      extractPythonDefinitions(code, "solve"),
      [
        "import math",
        "",
        "from typing import List",
        "",
        "LIMIT = 10",
        "",
        "def helper(x):",
        "    return x * LIMIT",
        "",
        "def solve(xs: List[int]) -> int:",
        "    return sum(helper(x) for x in xs) + math.floor(0.5)",
        "",
      ].join("\n"),
    );
  });
  await t.step("keeps every definition when the entry point is not defined", () => {
    const kept = extractPythonDefinitions(code, "missing");
    assert.match(kept, /UNUSED = 3/);
    assert.match(kept, /def unrelated/);
    assert.match(kept, /class Box/);
    assert.doesNotMatch(kept, /print|assert|__main__/);
  });
  await t.step("keeps a class entry point with its decorator", () => {
    const source = "import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int\n\nP(1)\n";
    assert.equal(
      extractPythonDefinitions(source, "P"),
      "import dataclasses\n\n@dataclasses.dataclass\nclass P:\n    x: int\n",
    );
  });
});

Deno.test("cutAtClosingBrace()", async (t) => {
  await t.step("cuts after the brace that closes the prefix's open block", () => {
    const prefix = "public static int add(int a, int b) {\n";
    const body =
      '    String s = "}"; // }\n    /* } */\n    return a + b;\n}\n\npublic static void main() {}\n';
    assert.equal(
      cutAtClosingBrace(prefix, body),
      prefix + '    String s = "}"; // }\n    /* } */\n    return a + b;\n}',
    );
  });
  await t.step("keeps everything when the prefix leaves no block open", () => {
    assert.equal(cutAtClosingBrace("int x;\n", "int y; }"), "int x;\nint y; }");
  });
});

Deno.test("sanitize()", async (t) => {
  await t.step("joins a Python completion to its prompt and cuts at stop sequences", () => {
    const code = sanitize("    return a + b\n\n\nprint(add(1, 2))\ndef other(): pass", {
      language: "python",
      style: "completion",
      prompt: "def add(a, b):\n",
      entryPoint: "add",
      stop: ["\ndef "],
    });
    assert.equal(code, "def add(a, b):\n    return a + b\n");
  });
  await t.step("takes a chat answer's code block and keeps the entry point", () => {
    const raw =
      "Here you go:\n```python\nimport math\n\ndef area(r):\n    return math.pi * r * r\n\n" +
      "print(area(2))\n```\nIt multiplies.";
    assert.equal(
      sanitize(raw, { language: "python", style: "chat", entryPoint: "area" }),
      "import math\n\ndef area(r):\n    return math.pi * r * r\n",
    );
  });
  await t.step("keeps Python code whole without an entry point", () => {
    assert.equal(
      sanitize("x = int(input())\nprint(x * 2)\n\n", { language: "python", style: "completion" }),
      "x = int(input())\nprint(x * 2)\n",
    );
  });
  await t.step("cuts a brace-language completion at the closing brace", () => {
    const code = sanitize("  return a * b;\n}\nint main() { return 0; }", {
      language: "cpp",
      style: "completion",
      prompt: "int mul(int a, int b) {\n",
    });
    assert.equal(code, "int mul(int a, int b) {\n  return a * b;\n}\n");
  });
  await t.step("keeps a chat answer in a brace language whole", () => {
    const raw = "```java\npublic class Main {\n  public static void main(String[] a) {}\n}\n```";
    assert.equal(
      sanitize(raw, { language: "java", style: "chat" }),
      "public class Main {\n  public static void main(String[] a) {}\n}\n",
    );
  });
});
