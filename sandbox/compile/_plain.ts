/**
 * The plain compiler on one file alone, in a fresh sandbox: the reference verdict, the naive
 * baseline of `deno task perf:compile`, and the fallback for files a fast worker cannot vouch for.
 *
 * @module
 */

import { join } from "node:path";
import { bwrapArgv } from "./_bwrap.ts";
import { ENTER_FAILED, type MemoryCgroup, MemoryCgroups } from "./_memory.ts";
import { runCommand } from "./_run.ts";
import { scratchRoot } from "./_scratch.ts";
import { COMPILE_SPECS, type CompileLanguage, type CompileLimits } from "./_spec.ts";
import { CompileWorkerError } from "./_worker.ts";

/** What a compiler said about one file, before it becomes a verdict. */
export interface RawOutcome {
  /** Exit code; null when the compiler was killed. */
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly diagnostics: string;
}

/** Options of {@linkcode plainCompile}. */
export interface PlainOptions {
  readonly limits: CompileLimits;
  /** Folder under which the fresh sandbox folder is made. */
  readonly tempDir?: string;
  /** @default 65536 */
  readonly maxOutputBytes?: number;
  /**
   * Where the compile's memory cgroup (limited to `limits.memoryMb`) is made. @default a set
   * of its own, removed after the compile
   */
  readonly cgroups?: MemoryCgroups;
}

/**
 * Compiles `source` alone with the plain compiler of `language`, in a fresh sandbox and, where
 * memory cgroups can be made, a memory cgroup of its own.
 */
export async function plainCompile(
  language: CompileLanguage,
  source: Uint8Array,
  options: PlainOptions,
): Promise<RawOutcome> {
  const spec = COMPILE_SPECS[language];
  const dir = options.tempDir ?? await scratchRoot();
  const box = await Deno.makeTempDir({
    prefix: "ppocoder-compile-",
    ...(dir !== undefined ? { dir } : {}),
  });
  const cgroups = options.cgroups ?? MemoryCgroups.create();
  const cgroup = cgroups.make("plain", options.limits.memoryMb);
  try {
    await Deno.writeFile(join(box, spec.fileName), source);
    const argv = bwrapArgv(spec.plainArgv(options.limits), {
      box,
      env: spec.env(options.limits),
      limits: spec.plainRlimits(options.limits),
    });
    const result = await runCommand(cgroup?.wrap(argv) ?? argv, {
      timeoutMs: options.limits.wallMs,
      maxOutputBytes: options.maxOutputBytes ?? 65536,
    });
    if (
      cgroup !== undefined && result.code === ENTER_FAILED && /cgroup\.procs/.test(result.output)
    ) {
      throw new CompileWorkerError(
        `Cannot compile in a memory cgroup as the compiler cannot enter ${cgroup.path}: ${result.output.trim()}`,
      );
    }
    // A failure at the wall-clock limit is a timeout however it ended: gcc's CPU-time limit (the
    // same seconds) may kill the compiler just before the clock does, and the driver then exits
    // 1 like for an error (it says so in words, which a file can print too).
    const timedOut = result.timedOut ||
      (result.code !== 0 && result.wallMs >= options.limits.wallMs);
    return { code: result.code, timedOut, diagnostics: result.output };
  } finally {
    await Deno.remove(box, { recursive: true }).catch(() => {});
    if (cgroup !== undefined) await removeWhenEmpty(cgroup);
    if (options.cgroups === undefined) await cgroups.remove();
  }
}

/** Removes a cgroup once the kernel has taken the last process out (a few ms after its exit). */
async function removeWhenEmpty(cgroup: MemoryCgroup): Promise<void> {
  for (let attempt = 0; attempt < 20 && !cgroup.remove(); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
