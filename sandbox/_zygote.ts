/**
 * The Deno side of one worker's launcher (`zygote.py`): starts it, sends requests as JSON lines
 * and reads the JSON line it answers to each, in order. A request may be sent while the one
 * before is still running, so that the launcher never waits for this side between two
 * executions. Non-blocking; a launcher that dies or hangs fails the requests in hand and is
 * started again for the next one.
 *
 * @module
 */

import type { Limits } from "./types.ts";

/** One command of an execution, as the launcher runs it. */
export interface ZygoteStep {
  /** argv of a program to execve; `{box}` and `{tmp}` are replaced by the launcher. */
  readonly argv?: readonly string[];
  /** Path of a Python program (relative to the work dir) that the launcher runs in-process. */
  readonly python?: string;
  /** With `python`: only compile it. */
  readonly compileOnly?: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin?: string | null;
  readonly limits: Limits & { readonly dataMb?: number };
  /** Skip the remaining steps unless this one exits 0. */
  readonly stopUnlessOk?: boolean;
  /** Build cache to overlay (read-only shared lower, private upper) at `{tmp}/.<name>cache`. */
  readonly cache?: string;
  /** With `python`: run the request's `harness` after the program. */
  readonly harness?: boolean;
  /** With `harness`: the program's name the tests may see even where it shadows a builtin. */
  readonly entryPoint?: string;
}

/** One execution: its files (written to a fresh work dir) and steps. */
export interface ZygoteRequest {
  /** Files by path in the work dir: text (written as UTF-8) or bytes. */
  readonly files: Readonly<Record<string, string | Uint8Array>>;
  readonly steps: readonly ZygoteStep[];
  /** Size cap of the work dir (a tmpfs). */
  readonly boxMb: number;
  /** Skip the remaining steps once a Python step reports a syntax error. */
  readonly stopOnSyntaxError?: boolean;
  /**
   * Test code that the Python steps marked `harness` run after the program, in its namespace;
   * such a step reports `ended` (the tests ran to their end). Sent apart from the files, and
   * read by the step only after the program's own code has run.
   */
  readonly harness?: string;
  /** Bytes of stdout and stderr that all steps together may write; more is `outputExceeded`. */
  readonly outputBudget?: number;
  /** Work-dir paths read back after the last step (base64 in the answer, absent ones left out). */
  readonly fetchFiles?: readonly string[];
}

/** What the launcher saw of one step. */
export interface StepResult {
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly timedOut: boolean;
  /** The stream that passed `outputBytes` (the step was killed). */
  readonly outputExceeded: "stdout" | "stderr" | null;
  /**
   * In-process Python: `syntax` (said before the program ran), or the class of the uncaught
   * exception that ended it, `assertion`, `memory` or `exception` (said by the program's own
   * process, so never trusted to improve a verdict).
   */
  readonly pyError: "syntax" | "assertion" | "memory" | "exception" | null;
  /** The launcher could not start the step (a sandbox fault, not the program's). */
  readonly setupError: string | null;
  /** The CPU time of all the step's processes together passed the limit (they were killed). */
  readonly cpuExceeded: boolean;
  /**
   * Steps with a harness: whether the tests ran to their end (proven by a token the program
   * never sees); `null` for other steps.
   */
  readonly ended: boolean | null;
  readonly oomKilled: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssKb: number;
}

/** The launcher's answer to one request. */
export interface ZygoteAnswer {
  readonly steps: StepResult[];
  /** The `fetchFiles` found, base64. */
  readonly files?: Readonly<Record<string, string>>;
}

interface Pending {
  readonly id: number;
  readonly watchdogMs: number;
  timer?: ReturnType<typeof setTimeout>;
  resolve(answer: ZygoteAnswer): void;
  reject(error: Error): void;
}

const STDERR_TAIL = 8192;

/** A running launcher. */
export class Zygote {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #ready: Promise<void>;
  readonly #done: Promise<void>;
  /** Requests sent and not yet answered, oldest (the running one) first. */
  readonly #pending: Pending[] = [];
  #nextId = 1;
  #alive = true;
  #seccomp = false;
  #stderr = "";
  #encoder = new TextEncoder();

  constructor(command: string, args: readonly string[], env?: Record<string, string>) {
    this.#child = new Deno.Command(command, {
      args: [...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      ...(env ? { env, clearEnv: true } : {}),
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    let ready!: () => void;
    let failed!: (error: Error) => void;
    this.#ready = new Promise((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    this.#ready.catch(() => {});
    const stdout = this.#readLines(ready);
    const stderr = this.#readStderr();
    this.#done = Promise.all([stdout, stderr, this.#child.status]).then(() => {
      this.#alive = false;
      const error = this.#deathError();
      failed(error);
      for (const pending of this.#pending.splice(0)) {
        clearTimeout(pending.timer);
        pending.reject(error);
      }
    });
  }

  /** Resolves once the launcher has warmed up; rejects if it dies first. */
  ready(): Promise<void> {
    return this.#ready;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Whether the launcher filters its programs' system calls (known once it is ready). */
  get seccomp(): boolean {
    return this.#seccomp;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.length;
  }

  /**
   * Runs one execution, after those sent before. Rejects when the launcher dies, or when it
   * has not answered within `watchdogMs` of starting on it (it is then killed).
   */
  async run(request: ZygoteRequest, watchdogMs: number): Promise<ZygoteAnswer> {
    if (!this.#alive) throw this.#deathError();
    const id = this.#nextId++;
    const answer = new Promise<ZygoteAnswer>((resolve, reject) => {
      this.#pending.push({ id, watchdogMs, resolve, reject });
    });
    answer.catch(() => {}); // awaited below, unless the write fails first
    if (this.#pending.length === 1) this.#arm();
    await this.#writer.write(encodeRequest(id, request, this.#encoder));
    return await answer;
  }

  /** Starts the watchdog of the request the launcher is now on. */
  #arm(): void {
    const head = this.#pending[0];
    if (head) head.timer = setTimeout(() => this.kill(), head.watchdogMs);
  }

  /** Kills the launcher and its sandbox. */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Ends the launcher (closing its stdin ends its loop) and waits for it. */
  async close(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // it died already
    }
    const timer = setTimeout(() => this.kill(), 5000);
    await this.#done;
    clearTimeout(timer);
  }

  async #readLines(ready: () => void): Promise<void> {
    const decoder = new TextDecoder();
    // Parts of the line being read: an answer with many large outputs comes in many chunks, and
    // is joined once.
    let parts: string[] = [];
    for await (const chunk of this.#child.stdout) {
      let text = decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = text.indexOf("\n")) >= 0) {
        parts.push(text.slice(0, newline));
        text = text.slice(newline + 1);
        const line = parts.join("");
        parts = [];
        if (line.trim()) this.#onLine(line, ready);
      }
      if (text) parts.push(text);
    }
  }

  #onLine(line: string, ready: () => void): void {
    let message: {
      ready?: boolean;
      id?: number;
      steps?: StepResult[];
      files?: Record<string, string>;
      error?: string;
    };
    try {
      message = JSON.parse(line);
    } catch {
      this.#stderr += `\nunreadable launcher line: ${line.slice(0, 200)}`;
      this.kill();
      return;
    }
    if (message.ready) {
      this.#seccomp = (message as { seccomp?: boolean }).seccomp === true;
      return ready();
    }
    const pending = this.#pending[0];
    if (!pending || (message.id !== pending.id && message.id !== undefined)) {
      this.#stderr += `\nunexpected launcher answer: ${line.slice(0, 200)}`;
      this.kill();
      return;
    }
    this.#pending.shift();
    clearTimeout(pending.timer);
    this.#arm();
    if (message.error !== undefined || !message.steps) {
      pending.reject(new Error(`Launcher failed the request: ${message.error}`));
    } else {
      pending.resolve({ steps: message.steps, ...(message.files ? { files: message.files } : {}) });
    }
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      this.#stderr = (this.#stderr + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL);
    }
  }

  #deathError(): Error {
    const tail = this.#stderr.trim();
    return new Error(`Launcher exited${tail ? `: ${tail}` : ""}`);
  }
}

/**
 * One request as the launcher reads it: a header line `<id> <json bytes> <blob bytes>`, the
 * JSON, then the blobs (file contents and the harness) that the JSON points into by offset. The
 * launcher copies the request into a memory file without parsing it, so that the bytes never
 * enter its own heap (which every later execution inherits), and the harness stays out of the
 * program's memory until the program has run.
 */
export function encodeRequest(
  id: number,
  request: ZygoteRequest,
  encoder: TextEncoder = new TextEncoder(),
): Uint8Array {
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const place = (content: string | Uint8Array) => {
    const bytes = typeof content === "string" ? encoder.encode(content) : content;
    blobs.push(bytes);
    const at = { offset, length: bytes.length };
    offset += bytes.length;
    return at;
  };
  const files = Object.entries(request.files).map(([name, content]) => ({
    name,
    ...place(content),
  }));
  const harness = request.harness === undefined ? undefined : place(request.harness);
  const steps = request.steps.map(({ harness: runsHarness, ...step }) =>
    runsHarness && harness ? { ...step, harness } : step
  );
  const json = encoder.encode(JSON.stringify({
    id,
    boxMb: request.boxMb,
    steps,
    files,
    ...(request.stopOnSyntaxError ? { stopOnSyntaxError: true } : {}),
    ...(request.outputBudget === undefined ? {} : { outputBudget: request.outputBudget }),
    ...(request.fetchFiles?.length ? { fetch: request.fetchFiles } : {}),
  }));
  const header = encoder.encode(`${id} ${json.length} ${offset}\n`);
  const frame = new Uint8Array(header.length + json.length + offset);
  frame.set(header, 0);
  frame.set(json, header.length);
  let at = header.length + json.length;
  for (const blob of blobs) {
    frame.set(blob, at);
    at += blob.length;
  }
  return frame;
}
