/**
 * The workers of one language and the queue that feeds them. A worker takes several queued jobs
 * at once: the C# worker compiles the batchable ones together (see csharp/CompileServer.cs), the
 * others get one request line per job, pipelined. Whatever a worker cannot vouch for is decided
 * by the plain compiler alone: a job whose compile killed the worker, or that the server answered
 * with an abnormal exit code. A job that passes the wall-clock limit is a timeout.
 *
 * @module
 */

import { join } from "node:path";
import { bwrapArgv } from "./_bwrap.ts";
import type { WorkerPlan } from "./_build.ts";
import { plainCompile, type RawOutcome } from "./_plain.ts";
import { COMPILE_SPECS, type CompileLanguage, type CompileLimits } from "./_spec.ts";
import { csharpBatchable, csharpNamesFiles } from "./_csharp.ts";
import type { MemoryCgroup, MemoryCgroups } from "./_memory.ts";
import { namesOtherFiles, warmPlan } from "./_warm.ts";
import { type Answer, PersistentWorker } from "./_worker.ts";

/** How a verdict was reached. */
export type VerdictSource = "cache" | "worker" | "warm" | "batch" | "plain";

/** The outcome of one job. */
export interface JobOutcome {
  readonly status: "compiled" | "compile_error" | "timeout";
  readonly diagnostics: string;
  readonly wallMs: number;
  readonly via: VerdictSource;
}

/** One file to check. */
export interface Job {
  readonly source: Uint8Array;
  readonly resolve: (outcome: JobOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** Options of {@linkcode LanguagePool}. */
export interface PoolOptions {
  readonly workers: number;
  readonly limits: CompileLimits;
  /** Jobs one worker takes at once (the C# batch size). */
  readonly takeMax: number;
  readonly diagnosticsBytes: number;
  /** Host folder under which each worker's `/box` is made. */
  readonly tempDir: string;
  /** Where each worker's and each plain compile's memory cgroup is made. */
  readonly cgroups: MemoryCgroups;
}

/** Extra time a worker gets past the limit before the host kills it (its own limit acts first). */
const GRACE_MS = 2000;

/**
 * Exit codes of a worker's gcc program killed for its CPU time (128 + SIGKILL or SIGXCPU, which
 * ccserver.c and forkhook.c report, with a line in the diagnostics). The code decides, never the
 * diagnostics: a file can print any words (`#pragma message` prints them on a line of their own).
 */
const CPU_KILLED = [128 + 9, 128 + 24];

/**
 * The status of a compiler's exit, judged like the plain compiler's (whose run past the
 * wall-clock limit, however it ended, is `timedOut`: see `_plain.ts`).
 */
export function statusOf(outcome: RawOutcome, language: CompileLanguage): JobOutcome["status"] {
  if (outcome.timedOut) return "timeout";
  if (outcome.code === 0) return "compiled";
  // Only gcc runs under a CPU-time limit; javac and mcs end at the wall-clock limit.
  const gcc = COMPILE_SPECS[language].worker === "gcc-server";
  return gcc && CPU_KILLED.includes(outcome.code ?? -1) ? "timeout" : "compile_error";
}

interface Ticket {
  readonly id: string;
  readonly job: Job;
  /** Set when a batch failed and the job must be compiled alone. */
  alone: boolean;
  /** The request line that compiles it alone (`C <id>`, or `F <id> <stub>` for a warm gcc). */
  request: string;
}

/** Workers and queue of one language. */
export class LanguagePool {
  readonly language: CompileLanguage;
  /** Jobs decided by the plain compiler after a worker could not vouch for them. */
  plainRechecks = 0;
  #options: PoolOptions;
  #plan: WorkerPlan;
  #workers: PersistentWorker[] = [];
  #idle: PersistentWorker[] = [];
  #queue: Ticket[] = [];
  #nextId = 0;
  #pumpTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stub folders written so far (they outlive worker restarts: the box is kept). */
  #stubs = new Set<string>();
  /** Each worker's memory cgroup (kept across its restarts), where there are any. */
  #cgroups = new Map<PersistentWorker, MemoryCgroup>();

  constructor(language: CompileLanguage, plan: WorkerPlan, options: PoolOptions) {
    this.language = language;
    this.#plan = plan;
    this.#options = options;
  }

  /** Restarts of worker processes so far. */
  get restarts(): number {
    return this.#workers.reduce((n, w) => n + w.restarts, 0);
  }

  /** Process ids of the running workers. */
  get pids(): number[] {
    return this.#workers.flatMap((w) => (w.pid === undefined ? [] : [w.pid]));
  }

  /** Queues `job`. */
  submit(job: Job): void {
    const id = String(this.#nextId++);
    const names = this.#plan.csharpNames;
    const batchable = names !== undefined && csharpBatchable(job.source, names);
    this.#queue.push({ id, job, alone: !batchable, request: `C ${id}` });
    // Pump on the next macrotask, so that the jobs of one call are taken together.
    if (this.#pumpTimer === undefined) {
      this.#pumpTimer = setTimeout(() => {
        this.#pumpTimer = undefined;
        this.#pump();
      }, 0);
    }
  }

  /** Starts a worker in a sandbox of its own, in a memory cgroup of the compile memory limit. */
  #addWorker(): void {
    const name = `${this.language}-${this.#workers.length}`;
    const box = join(this.#options.tempDir, name);
    Deno.mkdirSync(join(box, "jobs"), { recursive: true });
    const spec = COMPILE_SPECS[this.language];
    const argv = bwrapArgv(this.#plan.command, {
      box,
      ...(this.#plan.opt !== undefined ? { opt: this.#plan.opt } : {}),
      env: spec.env(this.#options.limits),
    });
    const cgroup = this.#options.cgroups.make(name, this.#options.limits.memoryMb);
    const command = cgroup?.wrap(argv) ?? argv;
    const worker = new PersistentWorker(this.language, command, box, this.#plan.startupMs);
    if (cgroup !== undefined) this.#cgroups.set(worker, cgroup);
    this.#workers.push(worker);
    this.#idle.push(worker);
  }

  /** The worker's OOM kills so far (0 without a memory cgroup). */
  #oomKills(worker: PersistentWorker): number {
    return this.#cgroups.get(worker)?.oomKills() ?? 0;
  }

  #pump(): void {
    const wanted = Math.min(this.#options.workers, this.#queue.length);
    while (this.#workers.length < wanted && this.#idle.length < this.#queue.length) {
      this.#addWorker();
    }
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const tickets = this.#take();
      const worker = this.#idle.pop()!;
      this.#process(worker, tickets)
        .catch((error) => tickets.forEach((t) => t.job.reject(error)))
        .finally(() => {
          this.#idle.push(worker);
          this.#pump();
        });
    }
  }

  /** The next jobs for one worker: its share of the queue among the idle workers, at most `takeMax`. */
  #take(): Ticket[] {
    const share = Math.ceil(this.#queue.length / this.#idle.length);
    return this.#queue.splice(0, Math.max(1, Math.min(this.#options.takeMax, share)));
  }

  async #process(worker: PersistentWorker, all: Ticket[]): Promise<void> {
    const spec = COMPILE_SPECS[this.language];
    const gcc = spec.worker === "gcc-server";
    // A file that may read a file it names would find the worker's (other jobs', its own): it
    // gets a fresh sandbox, where it finds what the plain compiler finds.
    const names = gcc
      ? namesOtherFiles
      : spec.worker === "mcs-server"
      ? csharpNamesFiles
      : undefined;
    const fresh = names === undefined ? [] : all.filter((t) => names(t.job.source));
    for (const t of fresh) await this.#finishFresh(t);
    const tickets = all.filter((t) => !fresh.includes(t));
    // Small files, written synchronously: cheaper than a trip through the I/O threads each.
    for (const t of tickets) {
      const dir = join(worker.box, "jobs", t.id);
      Deno.mkdirSync(dir, { recursive: true });
      Deno.writeFileSync(join(dir, spec.fileName), t.job.source);
      if (gcc) this.#planWarm(worker, t, dir);
    }
    const batch = spec.worker === "mcs-server" ? tickets.filter((t) => !t.alone) : [];
    if (batch.length < 2) return await this.#runSingles(worker, tickets);
    const singles = tickets.filter((t) => t.alone);
    await this.#runBatch(worker, batch);
    await this.#runSingles(worker, singles);
  }

  /**
   * Sends a C or C++ job to a warm compiler when it can take it (see `_warm.ts`): its body next to
   * the source (which stays for the plain path), and the prefix of its leading includes.
   */
  #planWarm(worker: PersistentWorker, ticket: Ticket, dir: string): void {
    const language = this.language === "cpp" ? "cpp" : "c";
    const plan = warmPlan(ticket.job.source, language, COMPILE_SPECS[this.language].fileName);
    if (plan === undefined) return;
    Deno.writeFileSync(join(dir, "body.c"), plan.body);
    const stubDir = join(worker.box, "stubs", plan.key);
    if (!this.#stubs.has(stubDir)) {
      Deno.mkdirSync(stubDir, { recursive: true });
      Deno.writeTextFileSync(join(stubDir, "prefix.h"), plan.prefix);
      this.#stubs.add(stubDir);
    }
    ticket.request = `F ${ticket.id} ${plan.key}`;
  }

  async #runBatch(worker: PersistentWorker, tickets: Ticket[]): Promise<void> {
    const ids = tickets.map((t) => t.id);
    const limit = this.#options.limits.wallMs + GRACE_MS;
    const kills = this.#oomKills(worker);
    const result = await worker.exchange([`B ${ids.join(" ")}`], ids, limit);
    const oom = this.#oomKills(worker) > kills;
    for (const t of tickets) {
      const answer = result.answers.get(t.id);
      if (answer === undefined) t.alone = true; // the batch failed: compile it alone
      else await this.#finishWorker(worker, t, answer, "batch", oom);
    }
    // What the batch could not decide (it died or ran out of time) is compiled alone.
    const leftovers = tickets.filter((t) => t.alone);
    if (leftovers.length > 0) await this.#runSingles(worker, leftovers);
  }

  async #runSingles(worker: PersistentWorker, tickets: readonly Ticket[]): Promise<void> {
    let rest = tickets;
    while (rest.length > 0) {
      const ids = rest.map((t) => t.id);
      const limit = this.#options.limits.wallMs + GRACE_MS;
      const kills = this.#oomKills(worker);
      const result = await worker.exchange(rest.map((t) => t.request), ids, limit);
      const oom = this.#oomKills(worker) > kills;
      for (const t of rest) {
        const answer = result.answers.get(t.id);
        if (answer !== undefined) {
          const via = answer.path === "warm" ? "warm" : "worker";
          await this.#finishWorker(worker, t, answer, via, oom);
        }
      }
      if (result.end === "ok") return;
      const unanswered = rest.filter((t) => !result.answers.has(t.id));
      const [culprit, ...others] = unanswered;
      if (culprit === undefined) return;
      if (result.end === "timeout") this.#finishTimeout(worker, culprit);
      else await this.#finishPlain(worker, culprit);
      rest = others;
    }
  }

  /**
   * Resolves a job with its worker's answer. A compile server's abnormal exit (javac 2-4, an mcs
   * exception), and any failure in an exchange during which the OOM killer struck in the
   * worker's cgroup (the worker's own memory, not the file's, may have caused it), are for the
   * plain compiler.
   */
  async #finishWorker(
    worker: PersistentWorker,
    ticket: Ticket,
    answer: Answer,
    via: VerdictSource,
    oom: boolean,
  ): Promise<void> {
    const { rc, wallMs } = answer;
    const gcc = COMPILE_SPECS[this.language].worker === "gcc-server";
    if (!gcc && rc !== 0 && rc !== 1) return await this.#finishPlain(worker, ticket);
    if (oom && rc !== 0) return await this.#finishPlain(worker, ticket);
    const diagnostics = this.#takeDiagnostics(worker, ticket);
    const status = statusOf({ code: rc, timedOut: false, diagnostics }, this.language);
    ticket.job.resolve({ status, diagnostics, wallMs, via });
  }

  #finishTimeout(worker: PersistentWorker, ticket: Ticket): void {
    const diagnostics = this.#takeDiagnostics(worker, ticket);
    ticket.job.resolve({
      status: "timeout",
      diagnostics,
      wallMs: this.#options.limits.wallMs,
      via: "worker",
    });
  }

  async #finishPlain(worker: PersistentWorker, ticket: Ticket): Promise<void> {
    this.plainRechecks++;
    this.#takeDiagnostics(worker, ticket);
    await this.#finishFresh(ticket);
  }

  /** Decides a job with the plain compiler in a fresh sandbox of its own. */
  async #finishFresh(ticket: Ticket): Promise<void> {
    const started = performance.now();
    const outcome = await plainCompile(this.language, ticket.job.source, {
      limits: this.#options.limits,
      tempDir: this.#options.tempDir,
      maxOutputBytes: this.#options.diagnosticsBytes,
      cgroups: this.#options.cgroups,
    });
    ticket.job.resolve({
      status: statusOf(outcome, this.language),
      diagnostics: outcome.diagnostics,
      wallMs: performance.now() - started,
      via: "plain",
    });
  }

  /** The job's diagnostics (truncated); its folder is removed. */
  #takeDiagnostics(worker: PersistentWorker, ticket: Ticket): string {
    const dir = join(worker.box, "jobs", ticket.id);
    let text = "";
    try {
      using file = Deno.openSync(join(dir, "diag.txt"));
      const buffer = new Uint8Array(this.#options.diagnosticsBytes);
      let size = 0;
      while (size < buffer.length) {
        const n = file.readSync(buffer.subarray(size));
        if (n === null) break;
        size += n;
      }
      text = new TextDecoder().decode(buffer.subarray(0, size));
    } catch { /* no diagnostics written */ }
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
    return text;
  }

  /** Kills every worker. */
  async close(): Promise<void> {
    clearTimeout(this.#pumpTimer);
    await Promise.all(this.#workers.map((w) => w.kill()));
    for (const t of this.#queue.splice(0)) {
      t.job.reject(new Error("Cannot check the file as the compile checker was closed"));
    }
  }
}
