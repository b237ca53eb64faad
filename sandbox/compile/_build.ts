/**
 * What the persistent workers need before they start, built once per toolchain and kept in a
 * build folder: the Java and C# compile servers, and the C and C++ precompiled headers. Then the
 * command line of each worker (run inside its sandbox).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bwrapArgv, OPT } from "./_bwrap.ts";
import { runCommand } from "./_run.ts";
import { COMPILE_SPECS, type CompileLanguage, type CompileLimits } from "./_spec.ts";
import { type CsharpReferenceNames, parseReferenceNames } from "./_csharp.ts";
import { exists } from "../_build_cache.ts";

/** How to start one language's worker. */
export interface WorkerPlan {
  /** Command run in the sandbox (cwd `/box`). */
  readonly command: readonly string[];
  /** Host folder mounted read-only at `/opt/ppocoder`, when the worker needs one. */
  readonly opt?: string;
  /** How long a start may take before it counts as failed. */
  readonly startupMs: number;
  /** For C#: the top-level names of mcs's default references, which decide what may be batched. */
  readonly csharpNames?: CsharpReferenceNames;
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
 * Precompiled headers (`<name>.gch`) in `dir`, built with the language options of the language's
 * flags (those before `-c`). With `-I` on `dir`, gcc uses one for a file's first `#include` of
 * that name wherever GCC's rules allow a PCH, and reads the header itself otherwise, so verdicts
 * do not change.
 */
async function buildPch(
  language: CompileLanguage,
  compiler: string,
  dir: string,
): Promise<void> {
  const spec = COMPILE_SPECS[language];
  const options = spec.flags.slice(0, spec.flags.indexOf("-c"));
  const kind = language === "c" ? "c-header" : "c++-header";
  for (const name of spec.pchHeaders) {
    const header = await headerPath(compiler, options, name);
    const gch = join(dir, `${name}.gch`);
    await Deno.mkdir(join(gch, ".."), { recursive: true });
    await mustRun([compiler, ...options, "-x", kind, header, "-o", gch], `the PCH of ${name}`);
  }
}

/**
 * The gcc worker's folder: `bin/ccserver` and `bin/forkhook.so` (built with the system's gcc),
 * and `pch/` with the language's precompiled headers.
 */
async function buildGccWorker(
  language: CompileLanguage,
  compiler: string,
  buildDir: string,
  toolchain: string,
): Promise<string> {
  const sources = ["./gcc/ccserver.c", "./gcc/forkhook.c"].map(sourcePath);
  const texts = await Promise.all(sources.map((file) => Deno.readTextFile(file)));
  const spec = COMPILE_SPECS[language];
  const key = [toolchain, ...texts, ...spec.flags, ...spec.pchHeaders].join("\n");
  return await buildOnce(buildDir, `${language}-worker`, key, async (tmp) => {
    await Deno.mkdir(join(tmp, "bin"));
    await Deno.mkdir(join(tmp, "pch"));
    await mustRun(
      ["gcc", "-O2", "-o", join(tmp, "bin", "ccserver"), sources[0]!],
      "the gcc compile server",
    );
    await mustRun(
      [
        "gcc",
        "-O2",
        "-shared",
        "-fPIC",
        "-o",
        join(tmp, "bin", "forkhook.so"),
        sources[1]!,
        "-ldl",
      ],
      "the gcc fork server",
    );
    await buildPch(language, compiler, join(tmp, "pch"));
  });
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

/** Warm compilers one worker keeps, one per distinct set of leading includes. */
const WARM_COMPILERS = 8;

/**
 * The gcc worker (gcc/ccserver.c): per file, the programs the gcc driver would run (the compiler
 * proper, then the assembler), directly or through a warm compiler, under the plain compiler's
 * limits. `steps` are the driver's, with the source file's name in the compiler's arguments.
 */
function serverWorker(
  steps: readonly (readonly string[])[],
  fileName: string,
  limits: CompileLimits,
  pch: readonly string[],
): string[] {
  const [compiler, assembler] = steps;
  if (compiler === undefined || assembler === undefined) {
    throw new Error("Cannot plan the gcc worker as the driver runs fewer than two programs");
  }
  // The input is the word that names the file and is no option's value (`-dumpbase main.c`).
  const input = compiler.findIndex((word, i) =>
    word === fileName && compiler[i - 1] !== "-dumpbase"
  );
  if (input < 0) {
    throw new Error(`Cannot plan the gcc worker as the compiler is not given ${fileName}`);
  }
  const MiB = 1024 * 1024;
  return [
    `${OPT}/bin/ccserver`,
    "--cpu",
    String(Math.max(1, Math.ceil(limits.wallMs / 1000))),
    "--as",
    String(limits.memoryMb * MiB),
    "--fsize",
    String(limits.fileSizeMb * MiB),
    "--hook",
    `${OPT}/bin/forkhook.so`,
    "--servers",
    String(WARM_COMPILERS),
    "--source",
    fileName,
    ...(pch.length > 0 ? ["--pch", `${OPT}/pch`] : []),
    "--",
    ...compiler.map((word, i) => (i === input ? "@SOURCE@" : word)),
    "--",
    ...assembler,
  ];
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
      // The worker's whole sandbox (heap, the JVM's own memory, class files) is held to the
      // memory limit by its cgroup; a compile that needs more heap than this fails here and is
      // decided by the plain javac.
      const command = [
        "java",
        `-Xmx${Math.max(16, Math.floor(limits.memoryMb * 3 / 4))}m`,
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
      const mcs = await mcsAssembly();
      const opt = await buildOnce(buildDir, "csharp-server", key, async (tmp) => {
        const server = join(tmp, "CompileServer.exe");
        await mustRun(["mcs", `-out:${server}`, source], "the C# compile server");
        const names = await mustRun(
          ["mono", server, "--names", dirname(mcs)],
          "the C# reference names",
        );
        await Deno.writeTextFile(join(tmp, "names.txt"), names);
      });
      const csharpNames = parseReferenceNames(await Deno.readTextFile(join(opt, "names.txt")));
      const command = ["mono", `${OPT}/CompileServer.exe`, mcs, "/box/jobs", "--", ...spec.flags];
      return { command, opt, startupMs: 60_000, csharpNames };
    }
    case "gcc-server": {
      const [compiler, ...rest] = spec.plainArgv(limits);
      const opt = await buildGccWorker(language, compiler!, buildDir, toolchain);
      const pch = spec.pchHeaders.length > 0 ? [`-I${OPT}/pch`] : [];
      const argv = [compiler!, ...pch, ...rest];
      const steps = await driverSteps(argv, spec.env(limits));
      const command = serverWorker(steps, spec.fileName, limits, spec.pchHeaders);
      return { command, opt, startupMs: 30_000 };
    }
  }
}
