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
}

/** One execution: its files (written to a fresh work dir) and steps. */
export interface ZygoteRequest {
  readonly files: Readonly<Record<string, string>>;
  readonly steps: readonly ZygoteStep[];
  /** Size cap of the work dir (a tmpfs). */
  readonly boxMb: number;
  /** Skip the remaining steps once a Python step reports a syntax error. */
  readonly stopOnSyntaxError?: boolean;
}

/** What the launcher saw of one step. */
export interface StepResult {
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly timedOut: boolean;
  /** The stream that passed `outputBytes` (the step was killed). */
  readonly outputExceeded: "stdout" | "stderr" | null;
  /**
   * In-process Python: `syntax`, `assertion`, `memory` or `exception` (uncaught), or `cpu`
   * (the CPU-time limit was reached).
   */
  readonly pyError: "syntax" | "assertion" | "memory" | "exception" | "cpu" | null;
  /** The launcher could not start the step (a sandbox fault, not the program's). */
  readonly setupError: string | null;
  readonly oomKilled: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssKb: number;
}

interface Pending {
  readonly id: number;
  readonly watchdogMs: number;
  timer?: ReturnType<typeof setTimeout>;
  resolve(steps: StepResult[]): void;
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

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.length;
  }

  /**
   * Runs one execution, after those sent before. Rejects when the launcher dies, or when it
   * has not answered within `watchdogMs` of starting on it (it is then killed).
   */
  async run(request: ZygoteRequest, watchdogMs: number): Promise<StepResult[]> {
    if (!this.#alive) throw this.#deathError();
    const id = this.#nextId++;
    const answer = new Promise<StepResult[]>((resolve, reject) => {
      this.#pending.push({ id, watchdogMs, resolve, reject });
    });
    answer.catch(() => {}); // awaited below, unless the write fails first
    if (this.#pending.length === 1) this.#arm();
    const line = JSON.stringify({ id, ...request }) + "\n";
    await this.#writer.write(this.#encoder.encode(line));
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
      error?: string;
    };
    try {
      message = JSON.parse(line);
    } catch {
      this.#stderr += `\nunreadable launcher line: ${line.slice(0, 200)}`;
      this.kill();
      return;
    }
    if (message.ready) return ready();
    const pending = this.#pending[0];
    if (!pending || message.id !== pending.id) {
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
      pending.resolve(message.steps);
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
