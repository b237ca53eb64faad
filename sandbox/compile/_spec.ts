/**
 * What "compiles" means for each language the compile checker covers, as data: the plain
 * compiler's command (the reference verdict, and the naive baseline) and how the fast worker runs.
 *
 * "Compiles" is compile-to-object with no linking and no entry point needed (PPOCoder's
 * compilation rate): `javac` to class files, `mcs -target:library`, `gcc -c` and `g++ -c`.
 * The verdict is the compiler's exit code: 0 compiled, anything else did not.
 *
 * @module
 */

import type { RlimitSpec } from "./_bwrap.ts";

/** The languages with a fast compile path. */
export type CompileLanguage = "java" | "csharp" | "c" | "cpp";

/** Every language with a fast compile path. */
export const COMPILE_LANGUAGES: readonly CompileLanguage[] = ["java", "csharp", "c", "cpp"];

/** Limits of one compilation. */
export interface CompileLimits {
  /** Wall-clock limit of one file (and CPU seconds of each compiler process, for gcc). */
  readonly wallMs: number;
  /** Memory of the compiler: the JVM heap, Mono's GC heap, gcc's address space, in MiB. */
  readonly memoryMb: number;
  /** Largest file a compiler may write, in MiB. */
  readonly fileSizeMb: number;
}

/** How the persistent worker of a language runs. */
export type WorkerKind = "javac-server" | "mcs-server" | "gcc-server";

/** One row of {@linkcode COMPILE_SPECS}. */
export interface CompileSpec {
  /** Name of the source file in its folder. */
  readonly fileName: string;
  /** Commands whose output identifies the toolchain (in the cache key and reports). */
  readonly versionCommands: readonly (readonly string[])[];
  /** Compiler options shared by the plain command and the worker (part of the cache key). */
  readonly flags: readonly string[];
  /** The plain compiler: argv run in a fresh sandbox whose cwd holds the file. */
  readonly plainArgv: (limits: CompileLimits) => string[];
  /** Kernel limits of the plain compiler. */
  readonly plainRlimits: (limits: CompileLimits) => RlimitSpec;
  /** Extra environment of both the plain compiler and the worker. */
  readonly env: (limits: CompileLimits) => Record<string, string>;
  readonly worker: WorkerKind;
  /**
   * Headers the gcc worker precompiles, each used when a file's first `#include` names it (GCC
   * checks that the PCH is valid there and reads the header itself otherwise): they make the
   * start of a warm compiler, and any file compiled the plain way, faster.
   */
  readonly pchHeaders: readonly string[];
  /** Files a worker takes at once by default: the C# batch size, the others' pipelining depth. */
  readonly take: number;
}

const JAVAC_FLAGS = [
  "-encoding",
  "UTF-8",
  "-proc:none",
  "-implicit:none",
  "-cp",
  "/tmp/cp",
  "-d",
  "/tmp/classes",
] as const;
const MCS_FLAGS = ["-target:library", "-out:/tmp/out.dll"] as const;
const GCC_FLAGS = ["-std=gnu17", "-c", "-o", "/tmp/main.o"] as const;
const GXX_FLAGS = ["-std=gnu++17", "-c", "-o", "/tmp/main.o"] as const;

function gccRlimits(limits: CompileLimits): RlimitSpec {
  return {
    cpuSeconds: limits.wallMs / 1000,
    addressSpaceMb: limits.memoryMb,
    fileSizeMb: limits.fileSizeMb,
  };
}

const noEnv = (): Record<string, string> => ({});

/** The compile table. */
export const COMPILE_SPECS: Readonly<Record<CompileLanguage, CompileSpec>> = {
  java: {
    fileName: "Main.java",
    versionCommands: [["javac", "-version"], ["java", "-version"]],
    flags: JAVAC_FLAGS,
    plainArgv: (l) => ["javac", `-J-Xmx${l.memoryMb}m`, ...JAVAC_FLAGS, "Main.java"],
    plainRlimits: (l) => ({ fileSizeMb: l.fileSizeMb }),
    env: noEnv,
    worker: "javac-server",
    pchHeaders: [],
    take: 16,
  },
  csharp: {
    fileName: "Program.cs",
    versionCommands: [["mcs", "--version"], ["mono", "--version"]],
    flags: MCS_FLAGS,
    plainArgv: () => ["mcs", ...MCS_FLAGS, "Program.cs"],
    plainRlimits: (l) => ({ fileSizeMb: l.fileSizeMb }),
    env: (l) => ({ MONO_GC_PARAMS: `max-heap-size=${l.memoryMb}m` }),
    worker: "mcs-server",
    pchHeaders: [],
    take: 64,
  },
  c: {
    fileName: "main.c",
    versionCommands: [["gcc", "--version"]],
    flags: GCC_FLAGS,
    plainArgv: () => ["gcc", ...GCC_FLAGS, "main.c"],
    plainRlimits: gccRlimits,
    env: noEnv,
    worker: "gcc-server",
    // A PCH of stdio.h & co. loads no faster than the headers parse: measured, none for C.
    pchHeaders: [],
    take: 4,
  },
  cpp: {
    fileName: "main.cpp",
    versionCommands: [["g++", "--version"]],
    flags: GXX_FLAGS,
    plainArgv: () => ["g++", ...GXX_FLAGS, "main.cpp"],
    plainRlimits: gccRlimits,
    env: noEnv,
    worker: "gcc-server",
    pchHeaders: ["bits/stdc++.h", "iostream"],
    take: 4,
  },
};

/** Whether `name` has a fast compile path. */
export function isCompileLanguage(name: string): name is CompileLanguage {
  return (COMPILE_LANGUAGES as readonly string[]).includes(name);
}
