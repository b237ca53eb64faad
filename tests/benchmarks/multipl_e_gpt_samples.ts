/**
 * Writes the `gpt_solution` answers that SandboxFusion added to the MultiPL-E files as
 * `samples:` files, one per file, taking the code out of each chat answer the way SandboxFusion's
 * "freeform" MultiPL-E evaluation does (bytedance/SandboxFusion@469de084,
 * `sandbox/datasets/multiple.py`, learned from, not copied):
 *
 * - C++, C#, Java and Rust: the first fenced code block (else an unclosed one); for C++ up to
 *   `int main()`; cut at the task's stop tokens; for C# up to `public static void Main`.
 * - Go, JavaScript, PHP and TypeScript: the first fenced block of the highest kind (closed, then
 *   unclosed), preferring one tagged with the language.
 * - SandboxFusion's import lines for the language first (`IMPORT_HELPER`; for C++ less
 *   `<boost/any.hpp>`, which this machine lacks), and for Go package and imports gathered at the top.
 *
 * Each line is `{"task_id", "solution"}`: the program is the solution, a newline and the file's
 * tests (SandboxFusion's `full_code`). Sanitizing chat output is a separate, recorded step: this
 * script is it, and it writes what it did into each line's `sanitized` field.
 *
 *   deno run --allow-read --allow-write tests/benchmarks/multipl_e_gpt_samples.ts DATASET_DIR OUT_DIR
 *
 * @module
 */

import { join } from "node:path";
import { parseJsonlRecords } from "../../benchmarks/_records.ts";

const STOP_TOKEN_PATH = new Set(["cpp", "cs", "java", "rs"]);

/** SandboxFusion's import lines per language (IMPORT_HELPER), as its MultiPL-E path uses them. */
const IMPORTS: Readonly<Record<string, readonly string[]>> = {
  cpp: [
    "using namespace std;",
    "#include<optional>",
    "#include<cassert>",
    "#include<stdlib.h>",
    "#include<algorithm>",
    "#include<cmath>",
    "#include<math.h>",
    "#include<numeric>",
    "#include<stdio.h>",
    "#include<vector>",
    "#include<set>",
    "#include<map>",
    "#include<queue>",
    "#include<stack>",
    "#include<list>",
    "#include<deque>",
    "#include<string>",
    "#include<climits>",
    "#include<cstring>",
    "#include<iostream>",
    "#include<sstream>",
    "#include<fstream>",
  ],
  java: [
    "import java.util.*;",
    "import java.lang.reflect.*;",
    "import org.javatuples.*;",
    "import java.security.*;",
    "import java.math.*;",
    "import java.io.*;",
    "import java.util.stream.*;",
  ],
  cs: [
    "using System;",
    "using System.Numerics;",
    "using System.Diagnostics;",
    "using System.Collections.Generic;",
    "using System.Linq;",
    "using System.Text;",
    "using System.Security.Cryptography;",
    "using System.Collections.Generic;",
  ],
  go: ['import ("fmt")'],
};

/** Tags a fenced block may carry for each language (SandboxFusion's aliases). */
const TAGS: Readonly<Record<string, readonly string[]>> = {
  go: ["go", "Go"],
  js: ["js", "JS"],
  php: ["php", "PHP"],
  ts: ["typescript"],
};

interface Block {
  readonly tag: string;
  readonly code: string;
  readonly closed: boolean;
}

function fencedBlocks(text: string): Block[] {
  const closed = [...text.matchAll(/```([^\n]*)\n([\s\S]*?)\n\s*```/g)]
    .map((m) => ({ tag: m[1]!.trim(), code: m[2]!, closed: true }));
  const open = [...text.matchAll(/```([^\n]*)\n([\s\S]*)/g)]
    .map((m) => ({ tag: m[1]!.trim(), code: m[2]!, closed: false }));
  return [...closed, ...open];
}

function cutAt(code: string, marker: string, strip: boolean): string {
  const at = code.indexOf(marker);
  if (at < 0) return code;
  const head = code.slice(0, at);
  return strip ? head.trim() : head;
}

/** The code SandboxFusion takes out of one answer for `key`, before its import lines. */
export function extractGptSolution(answer: string, key: string, stop: readonly string[]): string {
  const blocks = fencedBlocks(answer);
  if (STOP_TOKEN_PATH.has(key)) {
    const closed = blocks.filter((b) => b.closed);
    let code = ((closed.length > 0 ? closed : blocks)[0]?.code ?? "").replaceAll("\r", "");
    if (key === "cpp") code = cutAt(code, "int main()", true);
    for (const token of stop) code = cutAt(code, token, false);
    if (key === "cs") code = cutAt(code, "public static void Main", false);
    return code;
  }
  const best = blocks.some((b) => b.closed) ? blocks.filter((b) => b.closed) : blocks;
  const tagged = best.find((b) => (TAGS[key] ?? []).includes(b.tag));
  return (tagged ?? best[0])?.code ?? "";
}

/** Go: every package clause and import gathered at the top (SandboxFusion's postprocess). */
export function gatherGoImports(code: string): string {
  const packages = new Set([...code.matchAll(/package\s+(\w+)/g)].map((m) => m[1]!));
  const single = [...code.matchAll(/import\s+("\w+")/g)].map((m) => m[1]!);
  const multi = [...code.matchAll(/import\s+\(([\s\S]*?)\)/g)]
    .flatMap((m) => m[1]!.split("\n").map((line) => line.trim()));
  const imports = new Set([...single, ...multi].filter((line) => line !== ""));
  const body = code.replace(/package\s+(\w+)/g, "").replace(/import\s+("\w+")/g, "")
    .replace(/import\s+\(([\s\S]*?)\)/g, "");
  return [...packages].map((p) => `package ${p}`).join("\n") + "\n\n" +
    [...imports].map((i) => `import ${i}`).join("\n") + "\n\n" + body;
}

/** One `samples:` line for one record of file `source-key`. */
export function gptSample(
  record: Readonly<Record<string, unknown>>,
  source: string,
  key: string,
): { task_id: string; solution: string; sanitized: string } {
  const stop = record.stop_tokens as string[];
  const code = extractGptSolution(String(record.gpt_solution ?? ""), key, stop);
  const withImports = [...(IMPORTS[key] ?? []), code].join("\n");
  const solution = key === "go" ? gatherGoImports(withImports) : withImports;
  return {
    task_id: `multipl-e/${source}-${key}/${record.name}`,
    solution,
    sanitized: "SandboxFusion freeform extraction (tests/benchmarks/multipl_e_gpt_samples.ts)",
  };
}

async function main(args: string[]): Promise<void> {
  const [data, out] = args;
  if (data === undefined || out === undefined) {
    throw new TypeError(
      "Cannot write samples as two arguments are needed: DATASET_DIR (with humaneval-cpp.jsonl, ...) and OUT_DIR",
    );
  }
  await Deno.mkdir(out, { recursive: true });
  for await (const entry of Deno.readDir(data)) {
    const m = /^(humaneval|mbpp)-(\w+)\.jsonl$/.exec(entry.name);
    if (m === null) continue;
    const path = join(data, entry.name);
    const records = parseJsonlRecords(await Deno.readTextFile(path), path, "MultiPL-E problem");
    const lines = records.map(({ value }) => JSON.stringify(gptSample(value, m[1]!, m[2]!)));
    await Deno.writeTextFile(join(out, entry.name), lines.join("\n") + "\n");
    console.log(`${entry.name}: ${lines.length} samples`);
  }
}

if (import.meta.main) await main(Deno.args);
