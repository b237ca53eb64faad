/**
 * The executor's language table: one row per language, data rather than branches. A row names
 * the tools it needs (resolved once to real paths, see `toolchains.ts`), the source file, and
 * the commands that check, build and run a program, as argv templates:
 *
 * - `{tool}` (a key of `tools`): the tool's resolved real path;
 * - `{file}`: the source file name, `{heapMb}`: three quarters of the memory limit in MiB.
 *
 * Commands run with the execution's private work dir as the current directory. Python is run
 * in-process by the sandbox's launcher (itself the resolved Python interpreter), so its row has
 * the markers `"python:compile"` and `"python:run"` instead of argv.
 *
 * To add a language: add one row here and one hello-world fixture in the tests.
 *
 * @module
 */

/** One interpreter or compiler a language needs. */
export interface ToolSpec {
  /** Command names looked up on PATH, first found wins. */
  readonly commands: readonly string[];
  /**
   * Arguments after which the command prints its real location, for version-manager shims and
   * proxies (pyenv, rustup); `suffix` is joined to the printed path. Without it the command's
   * symlinks are resolved.
   */
  readonly locate?: { readonly args: readonly string[]; readonly suffix?: string };
  /** Arguments that print the version (first non-empty line of stdout, else of stderr). */
  readonly versionArgs: readonly string[];
  /** Debian package that provides the tool, for error messages. */
  readonly apt: string;
}

/** An argv template, or the launcher's in-process Python. */
export type CommandTemplate = readonly string[] | "python:compile" | "python:run";

/** How the sandbox handles one language. */
export interface LanguageSpec {
  /** Source file extension, with the dot. */
  readonly ext: string;
  /** Name shown in reports. */
  readonly displayName: string;
  /** Name of the source file in the work dir (Java needs `Main.java` for `public class Main`). */
  readonly sourceFile: string;
  /** Tools by placeholder name; the first one is the one reports show. */
  readonly tools: Readonly<Record<string, ToolSpec>>;
  /**
   * `compile` mode: does the program compile (or parse)? Judged by exit status only. Compiled
   * languages compile to an object, with no linking and no entry point needed (PPOCoder's
   * compilation rate; the same commands as the fast checker in `compile/`). For interpreted
   * languages it is also run after a failed run, to tell a compile error apart.
   */
  readonly check: CommandTemplate;
  /** Builds what `run` runs; absent for interpreted languages. */
  readonly build?: CommandTemplate;
  /** Runs the program (stdin, stdout and stderr are the case's). */
  readonly run: CommandTemplate;
  /** Extra environment of every command (HOME, TMPDIR, PATH, LANG are set for all). */
  readonly env?: Readonly<Record<string, string>>;
  /** Caches that a build may reuse across executions; see `_build_cache.ts`. */
  readonly buildCache?: "go";
  /**
   * How a failed assertion ends the program when that is by a signal (C's `assert()` aborts):
   * in `test` mode such an end is `failed`, not `runtime_error`.
   */
  readonly assertion?: { readonly signal: number; readonly stderr: RegExp };
  /**
   * What the runtime prints when it runs out of its own heap limit (the JVM's -Xmx, set below
   * the memory limit): a non-zero exit with this on stderr is `memory_limit`.
   */
  readonly outOfMemory?: RegExp;
  /**
   * Where no memory cgroup holds the memory limit, RLIMIT_DATA does, unless this is false: the
   * JVM counts thread stacks (-Xss) and its reserved code cache there, and limits its heap with
   * -Xmx itself.
   */
  readonly rlimitData?: boolean;
}

const GCC_FLAGS = ["-O2", "-pipe"] as const;
/** glibc's `assert()`: "prog: file.c:6: main: Assertion `x == 1' failed." then SIGABRT. */
const GLIBC_ASSERT = { signal: 6, stderr: /: Assertion `.*' failed\.$/m } as const;
// Serial GC: few threads (the process limit counts threads); no hsperfdata files in /tmp.
const JVM_FLAGS = ["-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto"] as const;
const JAVAC: readonly string[] = [
  "{javac}",
  ...JVM_FLAGS.map((flag) => `-J${flag}`),
  "-J-XX:TieredStopAtLevel=1",
  "-J-Xmx{heapMb}m",
  "-encoding",
  "UTF-8",
  "-proc:none",
  "-implicit:none",
  "-d",
  ".",
  "{file}",
];

/** Every language the executor knows. */
export const LANGUAGES = {
  python: {
    ext: ".py",
    displayName: "Python",
    sourceFile: "main.py",
    tools: {
      python: {
        commands: ["python3", "python"],
        locate: { args: ["-c", "import sys; print(sys.executable)"] },
        versionArgs: ["--version"],
        apt: "python3",
      },
    },
    check: "python:compile",
    run: "python:run",
  },
  java: {
    ext: ".java",
    displayName: "Java",
    sourceFile: "Main.java",
    tools: {
      javac: { commands: ["javac"], versionArgs: ["-version"], apt: "default-jdk-headless" },
      java: { commands: ["java"], versionArgs: ["-version"], apt: "default-jdk-headless" },
    },
    check: JAVAC,
    build: JAVAC,
    // -ea: Java `assert` statements run, as in SandboxFusion and MultiPL-E (off, they pass silently).
    run: ["{java}", ...JVM_FLAGS, "-ea", "-Xmx{heapMb}m", "-Xss64m", "-cp", ".", "Main"],
    outOfMemory: /^(Exception in thread "[^"\n]*" )?java\.lang\.OutOfMemoryError/m,
    rlimitData: false,
  },
  cpp: {
    ext: ".cpp",
    displayName: "C++",
    sourceFile: "main.cpp",
    tools: {
      gxx: { commands: ["g++"], versionArgs: ["--version"], apt: "g++" },
    },
    check: ["{gxx}", "-std=gnu++17", "-c", "-o", "main.o", "-x", "c++", "{file}"],
    build: ["{gxx}", "-std=gnu++17", ...GCC_FLAGS, "-x", "c++", "-o", "main", "{file}"],
    run: ["./main"],
    assertion: GLIBC_ASSERT,
  },
  c: {
    ext: ".c",
    displayName: "C",
    sourceFile: "main.c",
    tools: {
      gcc: { commands: ["gcc"], versionArgs: ["--version"], apt: "gcc" },
    },
    check: ["{gcc}", "-std=gnu17", "-c", "-o", "main.o", "-x", "c", "{file}"],
    build: ["{gcc}", "-std=gnu17", ...GCC_FLAGS, "-x", "c", "-o", "main", "{file}", "-lm"],
    run: ["./main"],
    assertion: GLIBC_ASSERT,
  },
  csharp: {
    ext: ".cs",
    displayName: "C#",
    sourceFile: "main.cs",
    tools: {
      mcs: { commands: ["mcs"], versionArgs: ["--version"], apt: "mono-mcs" },
      mono: { commands: ["mono"], versionArgs: ["--version"], apt: "mono-runtime" },
    },
    check: ["{mcs}", "-target:library", "-out:main.dll", "{file}"],
    build: ["{mcs}", "-nologo", "-optimize+", "-out:main.exe", "-r:System.Numerics", "{file}"],
    run: ["{mono}", "main.exe"],
    outOfMemory: /^Unhandled Exception:\s*System\.OutOfMemoryException/m,
  },
  javascript: {
    ext: ".js",
    displayName: "JavaScript",
    sourceFile: "main.js",
    tools: {
      node: { commands: ["node", "nodejs"], versionArgs: ["--version"], apt: "nodejs" },
    },
    check: ["{node}", "--check", "{file}"],
    run: ["{node}", "{file}"],
    outOfMemory: /^FATAL ERROR: .*JavaScript heap out of memory/m,
  },
  typescript: {
    ext: ".ts",
    displayName: "TypeScript",
    sourceFile: "main.ts",
    tools: {
      // Deno type-checks and runs TypeScript offline, and is already the harness's runtime.
      deno: { commands: ["deno"], versionArgs: ["--version"], apt: "deno (npm install -g deno)" },
    },
    check: ["{deno}", "check", "--quiet", "--no-config", "--no-lock", "{file}"],
    run: [
      "{deno}",
      "run",
      "--quiet",
      "--no-check",
      "--no-config",
      "--no-lock",
      "--no-prompt",
      "--allow-all",
      "{file}",
    ],
    env: { DENO_DIR: "/tmp/.deno", DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  },
  php: {
    ext: ".php",
    displayName: "PHP",
    sourceFile: "main.php",
    tools: {
      php: { commands: ["php"], versionArgs: ["--version"], apt: "php-cli" },
    },
    check: ["{php}", "-l", "{file}"],
    run: ["{php}", "{file}"],
    outOfMemory: /Allowed memory size of \d+ bytes exhausted/,
  },
  go: {
    ext: ".go",
    displayName: "Go",
    sourceFile: "main.go",
    tools: {
      go: { commands: ["go"], versionArgs: ["version"], apt: "golang" },
    },
    check: ["{go}", "build", "-o", "/dev/null", "{file}"],
    build: ["{go}", "build", "-o", "main", "{file}"],
    run: ["./main"],
    env: {
      CGO_ENABLED: "0",
      GOTOOLCHAIN: "local",
      GOPROXY: "off",
      GOFLAGS: "-mod=mod",
      GOPATH: "/tmp/.gopath",
      GOCACHE: "/tmp/.gocache",
      GOTELEMETRY: "off",
    },
    buildCache: "go",
  },
  rust: {
    ext: ".rs",
    displayName: "Rust",
    sourceFile: "main.rs",
    tools: {
      rustc: {
        commands: ["rustc"],
        locate: { args: ["--print", "sysroot"], suffix: "bin/rustc" },
        versionArgs: ["--version"],
        apt: "rustc",
      },
    },
    check: ["{rustc}", "--edition=2021", "--emit=metadata", "-o", "main.rmeta", "{file}"],
    build: ["{rustc}", "--edition=2021", "-O", "-o", "main", "{file}"],
    run: ["./main"],
  },
} as const satisfies Record<string, LanguageSpec>;

/** A language the executor knows. */
export type Language = keyof typeof LANGUAGES;

/** Whether `name` is a known language. */
export function isLanguage(name: string): name is Language {
  return Object.hasOwn(LANGUAGES, name);
}
