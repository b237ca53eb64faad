/**
 * The plain compiler on one file alone, in a fresh sandbox: the reference verdict, the naive
 * baseline of `deno task perf:compile`, and the fallback for files a fast worker cannot vouch for.
 *
 * @module
 */

import { join } from "node:path";
import { bwrapArgv } from "./_bwrap.ts";
import { runCommand } from "./_run.ts";
import { scratchRoot } from "./_scratch.ts";
import { COMPILE_SPECS, type CompileLanguage, type CompileLimits } from "./_spec.ts";

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
}

/** Compiles `source` alone with the plain compiler of `language`. */
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
  try {
    await Deno.writeFile(join(box, spec.fileName), source);
    const argv = bwrapArgv(spec.plainArgv(options.limits), {
      box,
      env: spec.env(options.limits),
      limits: spec.plainRlimits(options.limits),
    });
    const result = await runCommand(argv, {
      timeoutMs: options.limits.wallMs,
      maxOutputBytes: options.maxOutputBytes ?? 65536,
    });
    return { code: result.code, timedOut: result.timedOut, diagnostics: result.output };
  } finally {
    await Deno.remove(box, { recursive: true }).catch(() => {});
  }
}
