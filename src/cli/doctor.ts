/**
 * `deno task doctor`: what the sandbox finds on this machine: each language's tools (real path
 * and version, or the apt package to install), whether bubblewrap can isolate executions, which
 * limits are enforced by cgroups, and the isolation a run will use. It ends with a hello world
 * per present language through the sandbox.
 *
 * Options: `deno task doctor --help`.
 *
 * @module
 */

import {
  createExecutor,
  isLanguage,
  type IsolationMode,
  type Language,
  LANGUAGES,
  resolveToolchain,
  SandboxUnavailableError,
  type Toolchain,
  ToolchainError,
} from "../../sandbox/mod.ts";
import { probeBwrap } from "../../sandbox/_bwrap.ts";
import {
  choice,
  type CommandSpec,
  didYouMean,
  list,
  type Parsed,
  runCommand,
  UsageError,
} from "./_args.ts";

const HELLO: Readonly<Record<Language, string>> = {
  python: 'print("ok")',
  java: 'public class Main { public static void main(String[] a) { System.out.println("ok"); } }',
  cpp: '#include <iostream>\nint main() { std::cout << "ok" << std::endl; }',
  c: '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }',
  csharp: 'class P { static void Main() { System.Console.WriteLine("ok"); } }',
  javascript: 'console.log("ok");',
  typescript: 'const s: string = "ok";\nconsole.log(s);',
  php: '<?php echo "ok\\n";',
  go: 'package main\nimport "fmt"\nfunc main() { fmt.Println("ok") }',
  rust: 'fn main() { println!("ok"); }',
};

/** The `doctor` command line. */
export const DOCTOR = {
  name: "doctor",
  summary: "Prints what the sandbox finds on this machine: each language's tools (real path and " +
    "version, or the package to install), whether bubblewrap can isolate executions, which " +
    "limits cgroups enforce, and the isolation a run will use; then runs a hello world per " +
    "language through the sandbox.",
  options: {
    sandbox: { type: "string", value: "MODE", help: "bwrap or none (default bwrap)" },
    languages: {
      type: "string",
      value: "LIST",
      help: `languages to check (default all: ${Object.keys(LANGUAGES).join(",")})`,
    },
  },
  exitCodes: { 1: "something a run needs is missing or broken (the output says what)" },
} as const satisfies CommandSpec;

async function main({ values }: Parsed<typeof DOCTOR>): Promise<number> {
  const isolation: IsolationMode = choice("sandbox", values.sandbox, ["bwrap", "none"]) ?? "bwrap";
  const languages = parseLanguages(values.languages);
  console.log("toolchains:");
  const present: Language[] = [];
  for (const language of languages) {
    const toolchain = await resolveToolchain(language).catch((error) => error as Error);
    printToolchain(language, toolchain);
    if (!(toolchain instanceof Error)) present.push(language);
  }
  console.log("\nisolation:");
  const bwrapOk = await printBwrap();
  if (isolation === "bwrap" && !bwrapOk) {
    console.log("  will use    nothing: fix bwrap as above, or pass --sandbox none");
    return 1;
  }
  if (!present.includes("python")) {
    console.log(
      "  will use    nothing: the sandbox's launcher needs python3 (apt-get install python3)",
    );
    return 1;
  }
  return await runHellos(isolation, present);
}

function parseLanguages(text: string | undefined): Language[] {
  const names = list(text);
  if (!names?.length) return Object.keys(LANGUAGES) as Language[];
  for (const name of names) {
    if (!isLanguage(name)) {
      throw new UsageError(
        `option --languages names "${name}", which is not a known language` +
          `${didYouMean(name, Object.keys(LANGUAGES))}: known are ${
            Object.keys(LANGUAGES).join(", ")
          }`,
      );
    }
  }
  return [...new Set(["python", ...names])] as Language[];
}

function printToolchain(language: Language, toolchain: Toolchain | Error): void {
  const label = language.padEnd(11);
  if (toolchain instanceof ToolchainError) {
    console.log(`  ${label} missing: ${toolchain.message}`);
    return;
  }
  if (toolchain instanceof Error) {
    console.log(`  ${label} error: ${toolchain.message}`);
    return;
  }
  Object.values(toolchain.tools).forEach((tool, i) => {
    console.log(`  ${i === 0 ? label : " ".repeat(11)} ${tool.path}  (${tool.version})`);
  });
}

async function printBwrap(): Promise<boolean> {
  try {
    const path = await probeBwrap();
    const version = await new Deno.Command(path, { args: ["--version"], stdout: "piped" })
      .output();
    const text = new TextDecoder().decode(version.stdout).trim();
    console.log(`  bwrap       ${path} (${text}): can create namespaces`);
    return true;
  } catch (error) {
    if (!(error instanceof SandboxUnavailableError)) throw error;
    console.log(`  bwrap       unavailable: ${error.message}`);
    return false;
  }
}

async function runHellos(isolation: IsolationMode, languages: Language[]): Promise<number> {
  const executor = await createExecutor({ isolation, languages, workers: 2 });
  let failures = 0;
  try {
    const notes = executor.notes ?? [];
    console.log(`  will use    ${executor.isolation}, ${executor.workers} workers`);
    const noted = notes.length ? notes.join("; ") : "namespaces, memory and pids cgroups in place";
    console.log(`  notes       ${noted}`);
    console.log("\nhello world through the sandbox:");
    await Promise.all(languages.map(async (language) => {
      const start = performance.now();
      const execution = await executor.execute({ language, mode: "run", code: HELLO[language] });
      const ms = Math.round(performance.now() - start);
      const ok = execution.status === "passed" && execution.stdout.trim() === "ok";
      if (!ok) failures++;
      const detail = ok ? "" : `: ${execution.stderr.trim().slice(0, 300)}`;
      console.log(`  ${language.padEnd(11)} ${execution.status} (${ms} ms)${detail}`);
    }));
  } finally {
    await executor.close();
  }
  return failures === 0 ? 0 : 1;
}

if (import.meta.main) await runCommand(DOCTOR, main);
