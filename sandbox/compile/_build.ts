/**
 * What the persistent workers need before they start, built once per toolchain and kept in a
 * build folder: the Java and C# compile servers, and the C and C++ precompiled headers. Then the
 * command line of each worker (run inside its sandbox).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bwrapArgv, OPT } from "./_bwrap.ts";
import { runCommand } from "./_run.ts";
import { COMPILE_SPECS, type CompileLanguage, type CompileLimits } from "./_spec.ts";
import { exists } from "../_build_cache.ts";

/** How to start one language's worker. */
export interface WorkerPlan {
  /** Command run in the sandbox (cwd `/box`). */
  readonly command: readonly string[];
  /** Host folder mounted read-only at `/opt/ppocoder`, when the worker needs one. */
  readonly opt?: string;
  /** How long a start may take before it counts as failed. */
  readonly startupMs: number;
}

const BUILD_TIMEOUT_MS = 180_000;

/** The default build folder: `$XDG_CACHE_HOME/ppocoder/compile` (or `~/.cache/...`). */
export function defaultBuildDir(): string {
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  return join(cache, "ppocoder", "compile");
}

function sourcePath(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/**
 * `dir/<name>-<hash>`, made by `build(tmp)` into a temporary folder and renamed into place, so
 * concurrent builders never see half a build.
 */
async function buildOnce(
  dir: string,
  name: string,
  key: string,
  build: (tmp: string) => Promise<void>,
): Promise<string> {
  const final = join(dir, `${name}-${sha256(key)}`);
  try {
    await Deno.stat(final);
    return final;
  } catch { /* not built yet */ }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir, prefix: `${name}.tmp-` });
  try {
    await build(tmp);
    await Deno.rename(tmp, final).catch(async (error) => {
      if (!(await exists(final))) throw error;
    });
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return final;
}

async function mustRun(argv: string[], what: string): Promise<string> {
  const result = await runCommand(argv, { timeoutMs: BUILD_TIMEOUT_MS });
  if (result.code === 0) return result.output;
  throw new Error(`Cannot build ${what} as "${argv.join(" ")}" failed: ${result.output.trim()}`);
}

/** The mcs.exe that `/usr/bin/mcs` (a shell script) runs. */
async function mcsAssembly(): Promise<string> {
  const script = await Deno.readTextFile("/usr/bin/mcs").catch(() => "");
  return script.match(/\S+\/mcs\.exe/)?.[0] ?? "/usr/lib/mono/4.5/mcs.exe";
}

/** The real path of the header that `#include <name>` finds with `compiler` and `options`. */
async function headerPath(
  compiler: string,
  options: readonly string[],
  name: string,
): Promise<string> {
  const stub = await Deno.makeTempFile({ suffix: compiler === "gcc" ? ".c" : ".cpp" });
  try {
    await Deno.writeTextFile(stub, `#include <${name}>\n`);
    const deps = await mustRun([compiler, ...options, "-M", stub], `the PCH of ${name}`);
    // "stub.o: stub.c /usr/include/stdc-predef.h header ...": the first listed that is `name`.
    const header = deps.replaceAll("\\\n", " ").split(/\s+/).slice(2).find((token) =>
      token.endsWith(`/${name}`)
    );
    if (header === undefined) {
      throw new Error(`Cannot find ${name}: ${compiler} -M did not list it`);
    }
    return header;
  } finally {
    await Deno.remove(stub).catch(() => {});
  }
}

/**
 * A folder of precompiled headers (`<name>.gch`), built with the language options of the
 * language's flags (those before `-c`). With `-I` on it, gcc uses one for a file's first
 * `#include` of that name wherever GCC's rules allow a PCH, and reads the header itself
 * otherwise, so verdicts do not change.
 */
async function buildPch(
  language: CompileLanguage,
  compiler: string,
  buildDir: string,
  toolchain: string,
): Promise<string | undefined> {
  const spec = COMPILE_SPECS[language];
  if (spec.pchHeaders.length === 0) return undefined;
  const options = spec.flags.slice(0, spec.flags.indexOf("-c"));
  const headers = await Promise.all(
    spec.pchHeaders.map((name) => headerPath(compiler, options, name)),
  );
  const key = [toolchain, ...options, ...spec.pchHeaders, ...headers].join("\n");
  const kind = language === "c" ? "c-header" : "c++-header";
  return await buildOnce(buildDir, `${language}-pch`, key, async (tmp) => {
    for (const [i, name] of spec.pchHeaders.entries()) {
      const gch = join(tmp, `${name}.gch`);
      await Deno.mkdir(join(gch, ".."), { recursive: true });
      await mustRun(
        [compiler, ...options, "-x", kind, headers[i]!, "-o", gch],
        `the PCH of ${name}`,
      );
    }
  });
}

function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The words of one command line as `gcc -###` prints it (bare, or double-quoted with escapes). */
function parseDriverLine(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    words.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2]!);
  }
  return words;
}

/**
 * The programs the gcc driver runs for `argv` (cc1 or cc1plus, then as), as `gcc -###` lists
 * them in the sandbox (same environment as the plain compiler), with the driver's temporary
 * assembly file named `/tmp/main.s`: running them in turn is what the driver does, without the
 * driver's own start-up.
 */
async function driverSteps(
  argv: readonly string[],
  env: Record<string, string>,
): Promise<string[][]> {
  const box = await Deno.makeTempDir({ prefix: "ppocoder-gcc-plan-" });
  let listing: string;
  try {
    listing = await mustRun(
      bwrapArgv([argv[0]!, "-###", ...argv.slice(1)], { box, env }),
      "the gcc worker",
    );
  } finally {
    await Deno.remove(box, { recursive: true }).catch(() => {});
  }
  const temp = /^\/tmp\/cc\w+\.s$/;
  const steps = listing.split("\n").filter((line) => line.startsWith(" "))
    .map((line) => parseDriverLine(line.trim()));
  const names = steps.map((step) => step[0]?.split("/").pop());
  const expected = [argv[0] === "gcc" ? "cc1" : "cc1plus", "as"];
  const temps = steps.flat().filter((word) => temp.test(word)).length;
  if (JSON.stringify(names) !== JSON.stringify(expected) || temps !== 2) {
    throw new Error(
      `Cannot plan the gcc worker as "${argv[0]} -###" runs ${names.join(", ")}: expected ${
        expected.join(", ")
      } passing one temporary /tmp/cc*.s file`,
    );
  }
  return steps.map((step) => step.map((word) => word.replace(temp, "/tmp/main.s")));
}

/**
 * A shell that compiles each job with `steps` (the driver's programs, each after the previous
 * one succeeded) under the limits of the plain compiler, and answers `<id> <exit code>`.
 */
function shellWorker(steps: readonly (readonly string[])[], limits: CompileLimits): string[] {
  const cpu = Math.max(1, Math.ceil(limits.wallMs / 1000));
  const memory = `ulimit -v ${limits.memoryMb * 1024} -f ${limits.fileSizeMb * 1024}`;
  const run = steps.map((step, i) =>
    `${i === steps.length - 1 ? "exec " : ""}${step.map(shellQuote).join(" ")}`
  )
    .join(" && ");
  const script = [
    "cd /box || exit 1",
    "echo ready",
    'while read -r op id; do [ "$op" = C ] || continue; d=/box/jobs/$id',
    `( cd "$d" && ulimit -S -t ${cpu} && ulimit -H -t ${cpu + 1} && ${memory} && ${run} ) ` +
    `>"$d/diag.txt" 2>&1 </dev/null`,
    'echo "$id $?"; done',
  ].join("\n");
  return ["bash", "-c", script, "gcc-worker"];
}

/** Builds what `language`'s worker needs (once per toolchain) and says how to start it. */
export async function planWorker(
  language: CompileLanguage,
  limits: CompileLimits,
  buildDir: string,
  toolchain: string,
): Promise<WorkerPlan> {
  const spec = COMPILE_SPECS[language];
  switch (spec.worker) {
    case "javac-server": {
      const source = sourcePath("./java/CompileServer.java");
      const key = (await Deno.readTextFile(source)) + toolchain;
      const opt = await buildOnce(buildDir, "java-server", key, async (tmp) => {
        await mustRun(["javac", "-d", tmp, source], "the Java compile server");
      });
      const command = [
        "java",
        `-Xmx${limits.memoryMb}m`,
        "-XX:-UsePerfData",
        "-cp",
        OPT,
        "CompileServer",
        "/box/jobs",
        "--",
        ...spec.flags,
      ];
      return { command, opt, startupMs: 60_000 };
    }
    case "mcs-server": {
      const source = sourcePath("./csharp/CompileServer.cs");
      const key = (await Deno.readTextFile(source)) + toolchain;
      const opt = await buildOnce(buildDir, "csharp-server", key, async (tmp) => {
        await mustRun(
          ["mcs", `-out:${join(tmp, "CompileServer.exe")}`, source],
          "the C# compile server",
        );
      });
      const command = [
        "mono",
        `${OPT}/CompileServer.exe`,
        await mcsAssembly(),
        "/box/jobs",
        "--",
        ...spec.flags,
      ];
      return { command, opt, startupMs: 60_000 };
    }
    case "gcc-shell": {
      const [compiler, ...rest] = spec.plainArgv(limits);
      const opt = await buildPch(language, compiler!, buildDir, toolchain);
      const argv = opt === undefined ? [compiler!, ...rest] : [compiler!, `-I${OPT}`, ...rest];
      const command = shellWorker(await driverSteps(argv, spec.env(limits)), limits);
      return { command, ...(opt !== undefined ? { opt } : {}), startupMs: 30_000 };
    }
  }
}
