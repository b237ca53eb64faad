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
    const stdout = this.#readFrames(ready);
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

  /** Reads the launcher's frames (see {@linkcode decodeAnswer}) as they arrive. */
  async #readFrames(ready: () => void): Promise<void> {
    const reader = new FrameReader();
    for await (const chunk of this.#child.stdout) {
      for (const frame of reader.push(chunk)) this.#onFrame(frame, ready);
      if (reader.failed) {
        this.#stderr += `\nunreadable launcher output: ${reader.failed}`;
        this.kill();
        return;
      }
    }
  }

  #onFrame(frame: Frame, ready: () => void): void {
    let message: RawAnswer;
    try {
      message = JSON.parse(new TextDecoder().decode(frame.json));
    } catch {
      this.#stderr += `\nunreadable launcher answer`;
      this.kill();
      return;
    }
    if (message.ready) {
      this.#seccomp = message.seccomp === true;
      return ready();
    }
    const pending = this.#pending[0];
    if (!pending || message.id !== pending.id) {
      this.#stderr += `\nunexpected launcher answer: ${JSON.stringify(message).slice(0, 200)}`;
      this.kill();
      return;
    }
    this.#pending.shift();
    clearTimeout(pending.timer);
    this.#arm();
    if (message.error !== undefined || !message.steps) {
      pending.reject(new Error(`Launcher failed the request: ${message.error}`));
      return;
    }
    try {
      pending.resolve(decodeAnswer(message, frame.blobs));
    } catch (error) {
      pending.reject(error instanceof Error ? error : new Error(String(error)));
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
 * JSON, then the blobs (file contents, each step's stdin and the harness) that the JSON points
 * into by offset. The launcher splices the request into a sealed memory file and parses only the
 * JSON (commands, limits, offsets): the blobs go to their places in the kernel, so that no code,
 * test or input enters its heap (which every later execution inherits), and the harness stays
 * out of the program's memory until the program has run. Answers come back the same way, each
 * step's stdout and stderr as blobs.
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
  const steps = request.steps.map(({ harness: runsHarness, stdin, ...step }) => ({
    ...step,
    ...(stdin ? { stdin: place(stdin) } : {}),
    ...(runsHarness && harness ? { harness } : {}),
  }));
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

/** One frame of the launcher's output: `<id> <json bytes> <blob bytes>\n`, JSON, blobs. */
interface Frame {
  readonly json: Uint8Array;
  readonly blobs: Uint8Array;
}

/** What a frame's JSON holds (steps without their outputs, which are blobs). */
interface RawAnswer {
  readonly ready?: boolean;
  readonly seccomp?: boolean;
  readonly id?: number;
  readonly error?: string;
  readonly steps?: (Omit<StepResult, "stdout" | "stderr"> & {
    readonly stdoutBytes: number;
    readonly stderrBytes: number;
  })[];
  readonly files?: readonly { readonly name: string; readonly length: number }[];
}

/** Splits the launcher's byte stream into frames. */
class FrameReader {
  #buffer: Uint8Array = new Uint8Array(0);
  /** Why the stream cannot be read further, once it cannot. */
  failed: string | null = null;

  *push(chunk: Uint8Array): Generator<Frame> {
    this.#buffer = concat(this.#buffer, chunk);
    while (this.failed === null) {
      const newline = this.#buffer.indexOf(10);
      if (newline < 0) {
        if (this.#buffer.length > 64) this.failed = "a frame header longer than 64 bytes";
        return;
      }
      const header = new TextDecoder().decode(this.#buffer.subarray(0, newline));
      const [, jsonBytes, blobBytes] = header.split(" ").map(Number);
      if (!Number.isSafeInteger(jsonBytes) || !Number.isSafeInteger(blobBytes)) {
        this.failed = `a bad frame header "${header.slice(0, 64)}"`;
        return;
      }
      const end = newline + 1 + jsonBytes! + blobBytes!;
      if (this.#buffer.length < end) return;
      const json = this.#buffer.slice(newline + 1, newline + 1 + jsonBytes!);
      const blobs = this.#buffer.slice(newline + 1 + jsonBytes!, end);
      this.#buffer = this.#buffer.slice(end);
      yield { json, blobs };
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

/** Puts each step's stdout and stderr (and the fetched files) back from the frame's blobs. */
function decodeAnswer(message: RawAnswer, blobs: Uint8Array): ZygoteAnswer {
  const decoder = new TextDecoder();
  let at = 0;
  const take = (length: number) => {
    if (at + length > blobs.length) throw new Error("Launcher answer shorter than it says");
    const part = blobs.subarray(at, at + length);
    at += length;
    return part;
  };
  const steps = (message.steps ?? []).map(({ stdoutBytes, stderrBytes, ...step }) => ({
    ...step,
    stdout: decoder.decode(take(stdoutBytes)),
    stderr: decoder.decode(take(stderrBytes)),
  }));
  if (!message.files) return { steps };
  const files: Record<string, string> = {};
  for (const { name, length } of message.files) files[name] = encodeBase64(take(length));
  return { steps, files };
}

function encodeBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}
