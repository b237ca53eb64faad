/**
 * A hello world per language, run through the pool before a replica says it is ready: a declared
 * toolchain that resolves but cannot build or run a program (a broken JDK, an empty Go cache that
 * cannot be filled) keeps the replica out of service instead of failing users' programs.
 *
 * @module
 */

import type { Language } from "../languages.ts";
import type { Executor } from "../types.ts";

const GREETING = "ppocoder canary";

/** One program per language that prints {@linkcode GREETING}. */
const HELLO: Readonly<Record<Language, string>> = {
  python: `print("${GREETING}")`,
  java:
    `public class Main { public static void main(String[] a) { System.out.println("${GREETING}"); } }`,
  cpp: `#include <cstdio>\nint main() { std::puts("${GREETING}"); }`,
  c: `#include <stdio.h>\nint main(void) { puts("${GREETING}"); return 0; }`,
  csharp:
    `public class P { public static void Main() { System.Console.WriteLine("${GREETING}"); } }`,
  javascript: `console.log("${GREETING}");`,
  typescript: `const s: string = "${GREETING}";\nconsole.log(s);`,
  php: `<?php echo "${GREETING}\\n";`,
  go: `package main\nimport "fmt"\nfunc main() { fmt.Println("${GREETING}") }`,
  rust: `fn main() { println!("${GREETING}"); }`,
};

/** Runs the hello world of every language of `executor`; the failures, as sentences. */
export async function runCanary(executor: Executor): Promise<string[]> {
  const languages = executor.toolchains.map((t) => t.language);
  const outcomes = await Promise.all(languages.map(async (language) => {
    try {
      const execution = await executor.execute({ language, mode: "run", code: HELLO[language] });
      if (execution.status === "passed" && execution.stdout.includes(GREETING)) return null;
      const detail = (execution.stderr || execution.stdout).trim().slice(0, 300);
      return `${language} hello world ended "${execution.status}": ${detail}`;
    } catch (error) {
      return `${language} hello world threw: ${error instanceof Error ? error.message : error}`;
    }
  }));
  return outcomes.filter((o): o is string => o !== null);
}
