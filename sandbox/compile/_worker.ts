/**
 * One persistent compile worker: a long-lived process in its own sandbox that answers one line
 * per job. It prints `ready` once started; each request line names job ids (folders under its
 * `/box/jobs/`), and each answer line is `<id> <rc>`, optionally followed by the path that
 * compiled it (the gcc worker's `warm` or `plain`). A worker that passes its deadline is
 * killed; one that dies is noticed by end of output. Either way the next request starts a new one.
 *
 * @module
 */

/** How an exchange with a worker ended. */
export type ExchangeEnd = "ok" | "timeout" | "died";

/** A worker's answer for one job. */
export interface Answer {
  readonly rc: number;
  readonly wallMs: number;
  /** The path that compiled it, when the worker says. */
  readonly path?: string;
}

/** The answers of one exchange: exit codes by job id (those that came before any failure). */
export interface ExchangeResult {
  readonly answers: ReadonlyMap<string, Answer>;
  readonly end: ExchangeEnd;
}

/** Raised when a worker cannot be started at all. */
export class CompileWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompileWorkerError";
  }
}

const STDERR_TAIL_BYTES = 4096;

/** Reads lines from a byte stream; a timed-out wait leaves the stream to be dropped. */
class LineReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #decoder = new TextDecoder();
  #buffer = "";
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** The next line, null at end of stream, or "timeout" when `deadline` (ms epoch) passes. */
  async next(deadline: number): Promise<string | null | "timeout"> {
    while (true) {
      const newline = this.#buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        return line;
      }
      this.#pending ??= this.#reader.read();
      const read = await raceDeadline(this.#pending, deadline);
      if (read === "timeout") return "timeout";
      this.#pending = undefined;
      if (read.done) return null;
      this.#buffer += this.#decoder.decode(read.value, { stream: true });
    }
  }

  /** Stops reading (the stream's process is gone or about to be). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

async function raceDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A persistent worker process, started on first use and again after it is killed or dies. */
export class PersistentWorker {
  /** Host folder seen as `/box` by the worker; jobs go in its `jobs/` folder. */
  readonly box: string;
  readonly name: string;
  /** Times a worker process was started after the first. */
  restarts = 0;
  #argv: readonly string[];
  #startupMs: number;
  #child: Deno.ChildProcess | undefined;
  #lines: LineReader | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #stderrTail = "";
  #stderrDone: Promise<void> = Promise.resolve();
  #started = 0;

  constructor(name: string, argv: readonly string[], box: string, startupMs: number) {
    this.name = name;
    this.#argv = argv;
    this.box = box;
    this.#startupMs = startupMs;
  }

  /** Process id of the running worker (its bwrap), if one is running. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async #start(): Promise<void> {
    const [program, ...args] = this.#argv;
    if (program === undefined) throw new TypeError("Cannot start a worker as argv is empty");
    if (this.#started > 0) this.restarts++;
    this.#started++;
    const child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#lines = new LineReader(child.stdout);
    this.#writer = child.stdin.getWriter();
    this.#stderrTail = "";
    this.#stderrDone = this.#drainStderr(child.stderr);
    const first = await this.#lines.next(Date.now() + this.#startupMs);
    if (first === "ready") return;
    await this.kill();
    const why = first === "timeout"
      ? `it did not answer within ${this.#startupMs} ms`
      : "it exited";
    throw new CompileWorkerError(
      `Cannot start the ${this.name} compile worker as ${why}: ${
        this.#stderrTail.trim() || "no output"
      }`,
    );
  }

  async #drainStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.#stderrTail = (this.#stderrTail + decoder.decode(chunk, { stream: true }))
          .slice(-STDERR_TAIL_BYTES);
      }
    } catch { /* the worker was killed */ }
  }

  /**
   * Sends `lines` and reads one answer per id in `ids`, each within `timeoutMs` of the previous
   * answer (the first, of sending). Answers for ids not asked are ignored.
   */
  async exchange(
    lines: readonly string[],
    ids: readonly string[],
    timeoutMs: number,
  ): Promise<ExchangeResult> {
    if (this.#child === undefined) await this.#start();
    const answers = new Map<string, Answer>();
    const wanted = new Set(ids);
    let since = performance.now();
    try {
      await this.#writer!.write(new TextEncoder().encode(lines.map((l) => `${l}\n`).join("")));
    } catch {
      await this.kill();
      return { answers, end: "died" };
    }
    while (answers.size < wanted.size) {
      const line = await this.#lines!.next(Date.now() + timeoutMs);
      if (line === "timeout" || line === null) {
        await this.kill();
        return { answers, end: line === null ? "died" : "timeout" };
      }
      const [id, rc, path] = line.trim().split(" ");
      if (id === undefined || rc === undefined || !wanted.has(id)) continue;
      const now = performance.now();
      answers.set(id, { rc: Number(rc), wallMs: now - since, ...(path ? { path } : {}) });
      since = now;
    }
    return { answers, end: "ok" };
  }

  /** Kills the worker (and, through bwrap's PID namespace, everything it started). */
  async kill(): Promise<void> {
    const child = this.#child;
    const lines = this.#lines;
    const writer = this.#writer;
    this.#child = undefined;
    this.#lines = undefined;
    this.#writer = undefined;
    if (child === undefined) return;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await writer?.abort().catch(() => {});
    await lines?.cancel();
    await child.status.catch(() => {});
    await this.#stderrDone;
  }
}
