/**
 * Runs one command to completion with a wall-clock limit, keeping a bounded amount of its output.
 *
 * @module
 */

/** What one finished command did. */
export interface RunResult {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly timedOut: boolean;
  /** Stdout and stderr together, at most `maxOutputBytes`. */
  readonly output: string;
  readonly wallMs: number;
}

/** Options of {@linkcode runCommand}. */
export interface RunOptions {
  readonly timeoutMs: number;
  /** @default 65536 */
  readonly maxOutputBytes?: number;
  readonly cwd?: string;
}

async function collect(stream: ReadableStream<Uint8Array>, chunks: Uint8Array[], max: number) {
  let kept = 0;
  for await (const chunk of stream) {
    if (kept >= max) continue;
    const part = chunk.subarray(0, max - kept);
    chunks.push(part);
    kept += part.length;
  }
}

/** Runs `argv`; the process is killed (SIGKILL) when `timeoutMs` passes. */
export async function runCommand(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  const [program, ...args] = argv;
  if (program === undefined) throw new TypeError("Cannot run a command as argv is empty");
  const started = performance.now();
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, options.timeoutMs);
  const max = options.maxOutputBytes ?? 65536;
  const chunks: Uint8Array[] = [];
  try {
    const [status] = await Promise.all([
      child.status,
      collect(child.stdout, chunks, max),
      collect(child.stderr, chunks, max),
    ]);
    const output = new TextDecoder().decode(concat(chunks).subarray(0, max));
    return {
      code: status.signal === null ? status.code : null,
      timedOut,
      output,
      wallMs: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
