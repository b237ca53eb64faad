/**
 * Fast compile checks for Java, C#, C and C++: the verdict of each file is the one the plain
 * compiler gives on that file alone (its exit code: 0 compiled), reached much faster.
 *
 * "Compiles" means compile-to-object, no linking and no entry point needed (PPOCoder's
 * compilation rate): `javac -encoding UTF-8 -proc:none` to class files, `mcs -target:library`,
 * `gcc -std=gnu17 -c` and `g++ -std=gnu++17 -c` (see `_spec.ts`).
 *
 * How it is faster, per language:
 * - Java: one warm JVM per worker runs javac's own launcher entry point
 *   (`com.sun.tools.javac.Main.compile`) in-process for each file, with the plain command's
 *   arguments, so option handling and exit codes are javac's. Compiles run on a thread with half
 *   the launcher's stack: a file deep enough to overflow javac overflows here first (exit 3) and
 *   is re-checked alone.
 * - C#: one Mono process per worker drives the very mcs.exe that `/usr/bin/mcs` runs, in-process,
 *   as mcs's own Main does, resetting the compiler's static state after each compilation; files
 *   that provably cannot reach outside a namespace wrapper nor have their meaning changed by it
 *   ({@linkcode csharpBatchable}) are compiled together, each in a namespace of its own, in
 *   rounds: a file with an error located in it fails, the rest go again, until a round compiles
 *   cleanly (they all pass). A file is declared compiled only by a clean compile, so an error mcs
 *   reports once per compilation can only delay a verdict. An internal compiler error (CS0584),
 *   an exception, an error located in no file, or a round whose parse shows a file outside its
 *   wrapper sends the files to single compiles, and from there to the plain mcs.
 * - C, C++: a worker (gcc/ccserver.c) runs, per file, the programs the gcc driver would run (the
 *   compiler proper, then as, exactly as `gcc -###` lists them) under the plain compiler's limits,
 *   from warm processes (gcc/forkhook.c): a compiler stopped after its start-up, forked per set of
 *   leading `#include <...>` lines into one that has compiled those headers, itself forked per
 *   file to read the rest of the file (see `_warm.ts` for what makes a file go the plain way), and
 *   an assembler forked per file. C++ also gets precompiled headers for the most common first
 *   includes (`bits/stdc++.h`, `iostream`): GCC uses a PCH only where it is valid (the main file's
 *   first include, same options, no conflicting macro) and reads the header otherwise.
 * - All: a content-addressed cache of verdicts (sha256 of language, toolchain versions, flags,
 *   memory and file-size limits, and source bytes); timeouts are never cached.
 *
 * Every compiler runs under bubblewrap (no network, its own PID and IPC namespaces, read-only
 * /usr and /etc, a private tmpfs /tmp and one private writable folder) with memory and time
 * limits. A worker that passes the time limit is killed and restarted and the file is a timeout;
 * a file whose compile kills a worker, or that a worker cannot vouch for, is decided by the plain
 * compiler alone. A file that times out in a worker would time out in the plain compiler too,
 * which starts colder, except for timing noise near the limit.
 *
 * Diagnostics are the compiler's, truncated; those of a batched C# file name its wrapped copy.
 *
 * @example Usage
 * ```ts ignore
 * const checker = await createCompileChecker({ languages: ["java"] });
 * const verdict = await checker.check("java", "public class Main {}");
 * await checker.close();
 * ```
 *
 * @module
 */

import { bwrapArgv } from "./_bwrap.ts";
import { defaultBuildDir, planWorker } from "./_build.ts";
import { VerdictCache, verdictKey } from "./_cache.ts";
import { MemoryCgroups } from "./_memory.ts";
import { plainCompile } from "./_plain.ts";
import { type JobOutcome, LanguagePool, statusOf, type VerdictSource } from "./_pool.ts";
import { runCommand } from "./_run.ts";
import { scratchRoot } from "./_scratch.ts";
import {
  COMPILE_LANGUAGES,
  COMPILE_SPECS,
  type CompileLanguage,
  type CompileLimits,
  isCompileLanguage,
} from "./_spec.ts";
import { CompileWorkerError } from "./_worker.ts";

export { COMPILE_LANGUAGES, type CompileLanguage, type CompileLimits, isCompileLanguage };
export { csharpBatchable, type CsharpReferenceNames } from "./_csharp.ts";
export { CompileWorkerError, type VerdictSource };

/** What a compile check concluded. */
export type CompileStatus = "compiled" | "compile_error" | "timeout";

/** The verdict on one file. */
export interface CompileVerdict {
  /** Whether the plain compiler exits 0 on this file alone. */
  readonly compiled: boolean;
  readonly status: CompileStatus;
  /** The compiler's messages, truncated to `diagnosticsBytes`. */
  readonly diagnostics: string;
  /** Wall time of the compile that decided it (a batch's whole round for a batched file). */
  readonly wallMs: number;
  /** Whether the verdict came from the cache (or a duplicate in the same call). */
  readonly cached: boolean;
  readonly via: VerdictSource;
}

/** Options of {@linkcode createCompileChecker}. */
export interface CompileCheckerOptions {
  /** Languages whose toolchains are identified up front. @default all four */
  readonly languages?: readonly CompileLanguage[];
  /** Persistent workers per language, started on first use. @default the number of CPU cores */
  readonly workers?: number;
  readonly limits?: Partial<CompileLimits>;
  /**
   * Keep verdicts (in memory, and in `cacheDir` when given), and compile a file sent again while
   * it is being compiled only once. @default true
   */
  readonly cache?: boolean;
  /** Folder of the persistent verdict cache. @default none (memory only) */
  readonly cacheDir?: string;
  /** Where the compile servers and the C++ PCH are built. @default ~/.cache/ppocoder/compile */
  readonly buildDir?: string;
  /**
   * Files one worker takes at once: the C# batch size, the pipelining depth of the others.
   * @default 64 for C#, 16 for Java, 4 for C and C++
   */
  readonly batchSize?: number;
  /** Bytes of diagnostics kept per verdict. @default 4096 */
  readonly diagnosticsBytes?: number;
}

/** Counters of a checker (for reports and tests). */
export interface CompileStats {
  readonly checked: number;
  readonly cacheHits: number;
  /** Files decided by the plain compiler because a worker could not vouch for them. */
  readonly plainRechecks: number;
  /** Worker processes started again after being killed or dying. */
  readonly restarts: number;
  /** Process ids of the running workers, by language. */
  readonly workerPids: Readonly<Partial<Record<CompileLanguage, readonly number[]>>>;
}

/** A compile-check service. */
export interface CompileChecker {
  /** Toolchain identity of each prepared language (versions, as the cache key uses them). */
  readonly toolchains: Readonly<Partial<Record<CompileLanguage, string>>>;
  readonly limits: CompileLimits;
  /** How isolation is weaker than designed here (e.g. no memory cgroup), for reports. */
  readonly notes: readonly string[];
  check(language: CompileLanguage, code: string | Uint8Array): Promise<CompileVerdict>;
  checkMany(
    language: CompileLanguage,
    codes: readonly (string | Uint8Array)[],
  ): Promise<CompileVerdict[]>;
  /** Builds what `language`'s workers need (once per toolchain) without starting them. */
  prepare(language: CompileLanguage): Promise<void>;
  stats(): CompileStats;
  close(): Promise<void>;
}

/** Default limits of one compilation. */
export const DEFAULT_COMPILE_LIMITS: CompileLimits = {
  wallMs: 10_000,
  memoryMb: 1024,
  fileSizeMb: 64,
};

const DEFAULT_DIAGNOSTICS_BYTES = 4096;

/** Raw bytes of `code` (a string is encoded as UTF-8). */
function toBytes(code: string | Uint8Array): Uint8Array {
  return typeof code === "string" ? new TextEncoder().encode(code) : code;
}

function truncate(text: string, bytes: number): string {
  const encoded = new TextEncoder().encode(text);
  return encoded.length <= bytes ? text : new TextDecoder().decode(encoded.subarray(0, bytes));
}

/** The identity of a toolchain: the output of its version commands. */
async function toolchainId(language: CompileLanguage): Promise<string> {
  const parts: string[] = [];
  for (const argv of COMPILE_SPECS[language].versionCommands) {
    const result = await runCommand(argv, { timeoutMs: 30_000 }).catch((error) => {
      throw new CompileWorkerError(
        `Cannot check ${language} code as "${
          argv[0]
        }" cannot be run: install its toolchain (${error})`,
      );
    });
    if (result.code !== 0) {
      throw new CompileWorkerError(
        `Cannot check ${language} code as "${argv.join(" ")}" failed: ${result.output.trim()}`,
      );
    }
    parts.push(result.output.trim());
  }
  return parts.join("\n");
}

/** Fails clearly when bubblewrap cannot make a sandbox here. */
async function assertSandbox(tempDir: string): Promise<void> {
  const result = await runCommand(bwrapArgv(["true"], { box: tempDir }), { timeoutMs: 30_000 })
    .catch((error) => ({ code: -1, output: String(error) }));
  if (result.code === 0) return;
  throw new CompileWorkerError(
    `Cannot isolate compilers as bubblewrap failed: ${result.output.trim()}: install "bubblewrap" ` +
      "and allow user namespaces",
  );
}

class Checker implements CompileChecker {
  readonly toolchains: Partial<Record<CompileLanguage, string>>;
  readonly limits: CompileLimits;
  #options: CompileCheckerOptions;
  #cgroups = MemoryCgroups.create();
  #tempDir: string;
  #cache: VerdictCache | undefined;
  #pools = new Map<CompileLanguage, Promise<LanguagePool>>();
  #inFlight = new Map<string, Promise<JobOutcome>>();
  #checked = 0;
  #cacheHits = 0;
  #ready = new Map<CompileLanguage, LanguagePool>();

  constructor(
    options: CompileCheckerOptions,
    toolchains: Partial<Record<CompileLanguage, string>>,
    tempDir: string,
  ) {
    this.#options = options;
    this.toolchains = toolchains;
    this.limits = { ...DEFAULT_COMPILE_LIMITS, ...options.limits };
    this.#tempDir = tempDir;
    if (options.cache !== false) this.#cache = new VerdictCache(options.cacheDir);
  }

  get notes(): string[] {
    const note = this.#cgroups.note;
    return note === undefined ? [] : [`compiles run without a memory cgroup: ${note}`];
  }

  async #toolchain(language: CompileLanguage): Promise<string> {
    this.toolchains[language] ??= await toolchainId(language);
    return this.toolchains[language];
  }

  #pool(language: CompileLanguage): Promise<LanguagePool> {
    let pool = this.#pools.get(language);
    if (pool === undefined) {
      pool = this.#makePool(language);
      this.#pools.set(language, pool);
      pool.catch(() => this.#pools.delete(language));
    }
    return pool;
  }

  async #makePool(language: CompileLanguage): Promise<LanguagePool> {
    const buildDir = this.#options.buildDir ?? defaultBuildDir();
    const plan = await planWorker(language, this.limits, buildDir, await this.#toolchain(language));
    const pool = new LanguagePool(language, plan, {
      workers: this.#options.workers ?? navigator.hardwareConcurrency,
      limits: this.limits,
      takeMax: this.#options.batchSize ?? COMPILE_SPECS[language].take,
      diagnosticsBytes: this.#options.diagnosticsBytes ?? DEFAULT_DIAGNOSTICS_BYTES,
      tempDir: this.#tempDir,
      cgroups: this.#cgroups,
    });
    this.#ready.set(language, pool);
    return pool;
  }

  async prepare(language: CompileLanguage): Promise<void> {
    await this.#pool(language);
  }

  async check(language: CompileLanguage, code: string | Uint8Array): Promise<CompileVerdict> {
    const [verdict] = await this.checkMany(language, [code]);
    return verdict!;
  }

  async checkMany(
    language: CompileLanguage,
    codes: readonly (string | Uint8Array)[],
  ): Promise<CompileVerdict[]> {
    if (!isCompileLanguage(language)) {
      throw new RangeError(
        `Cannot compile-check "${language}" code as it has no fast compile path: use one of ${
          COMPILE_LANGUAGES.join(", ")
        }, or the executor's compile mode`,
      );
    }
    const context = [
      language,
      await this.#toolchain(language),
      ...COMPILE_SPECS[language].flags,
      `memory=${this.limits.memoryMb}`,
      `file-size=${this.limits.fileSizeMb}`,
    ];
    return await Promise.all(codes.map((code) => this.#checkOne(language, context, toBytes(code))));
  }

  async #checkOne(
    language: CompileLanguage,
    context: string[],
    source: Uint8Array,
  ): Promise<CompileVerdict> {
    this.#checked++;
    if (this.#cache === undefined) return this.#verdict(await this.#compile(language, source));
    const key = verdictKey(context, source);
    const hit = await this.#cache.get(key);
    if (hit !== undefined) {
      this.#cacheHits++;
      const status = hit.compiled ? "compiled" : "compile_error";
      return { ...hit, status, wallMs: 0, cached: true, via: "cache" };
    }
    const running = this.#inFlight.get(key);
    if (running !== undefined) {
      this.#cacheHits++;
      const outcome = await running;
      return { ...this.#verdict(outcome), cached: true, via: "cache" };
    }
    const outcome = this.#compile(language, source);
    this.#inFlight.set(key, outcome);
    try {
      const done = await outcome;
      if (done.status !== "timeout") {
        await this.#cache.set(key, {
          compiled: done.status === "compiled",
          diagnostics: done.diagnostics,
        });
      }
      return this.#verdict(done);
    } finally {
      this.#inFlight.delete(key);
    }
  }

  #verdict(outcome: JobOutcome): CompileVerdict {
    const diagnostics = truncate(
      outcome.diagnostics,
      this.#options.diagnosticsBytes ?? DEFAULT_DIAGNOSTICS_BYTES,
    );
    return { ...outcome, diagnostics, compiled: outcome.status === "compiled", cached: false };
  }

  async #compile(language: CompileLanguage, source: Uint8Array): Promise<JobOutcome> {
    const pool = await this.#pool(language);
    return await new Promise<JobOutcome>((resolve, reject) =>
      pool.submit({ source, resolve, reject })
    );
  }

  stats(): CompileStats {
    const pools = [...this.#ready.values()];
    return {
      checked: this.#checked,
      cacheHits: this.#cacheHits,
      plainRechecks: pools.reduce((n, p) => n + p.plainRechecks, 0),
      restarts: pools.reduce((n, p) => n + p.restarts, 0),
      workerPids: Object.fromEntries(pools.map((p) => [p.language, p.pids])),
    };
  }

  async close(): Promise<void> {
    const pools = await Promise.allSettled(this.#pools.values());
    await Promise.all(pools.map((p) => (p.status === "fulfilled" ? p.value.close() : undefined)));
    this.#pools.clear();
    await this.#cgroups.remove();
    await Deno.remove(this.#tempDir, { recursive: true }).catch(() => {});
  }
}

/**
 * Starts a compile checker: checks that bubblewrap works and identifies the toolchains of
 * `options.languages`; workers start on first use.
 */
export async function createCompileChecker(
  options: CompileCheckerOptions = {},
): Promise<CompileChecker> {
  const scratch = await scratchRoot();
  const tempDir = await Deno.makeTempDir({
    prefix: "ppocoder-compile-",
    ...(scratch !== undefined ? { dir: scratch } : {}),
  });
  try {
    await assertSandbox(tempDir);
    const toolchains: Partial<Record<CompileLanguage, string>> = {};
    for (const language of options.languages ?? COMPILE_LANGUAGES) {
      toolchains[language] = await toolchainId(language);
    }
    return new Checker(options, toolchains, tempDir);
  } catch (error) {
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Options of {@linkcode plainCheck}. */
export interface PlainCheckOptions {
  readonly limits?: Partial<CompileLimits>;
  /** @default 4096 */
  readonly diagnosticsBytes?: number;
}

/**
 * The reference verdict: the plain compiler on `code` alone, in a fresh sandbox (one compiler
 * process per file: the naive baseline that `deno task perf:compile` compares against).
 */
export async function plainCheck(
  language: CompileLanguage,
  code: string | Uint8Array,
  options: PlainCheckOptions = {},
): Promise<CompileVerdict> {
  const started = performance.now();
  const outcome = await plainCompile(language, toBytes(code), {
    limits: { ...DEFAULT_COMPILE_LIMITS, ...options.limits },
    maxOutputBytes: options.diagnosticsBytes ?? DEFAULT_DIAGNOSTICS_BYTES,
  });
  const status = statusOf(outcome, language);
  return {
    compiled: status === "compiled",
    status,
    diagnostics: outcome.diagnostics,
    wallMs: performance.now() - started,
    cached: false,
    via: "plain",
  };
}
