/**
 * The executor: a pool of workers, each a warm launcher (`zygote.py`) in its own bubblewrap
 * sandbox, that compiles and runs programs under limits. See `zygote.py` for the isolation of
 * each execution and `_judge.ts` for how statuses are decided.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Execution } from "../src/types.ts";
import { bwrapArgs, probeBwrap, RUN_DIR } from "./_bwrap.ts";
import { CgroupSet, type WorkerCgroups } from "./_cgroups.ts";
import { defaultCacheDir, prepareBuildCaches } from "./_build_cache.ts";
import { fastCompileRoute } from "./_fast_compile.ts";
import { judge, needsRecheck, sandboxError } from "./_judge.ts";
import { type Plan, planExecution } from "./_plan.ts";
import { Zygote, type ZygoteAnswer, type ZygoteRequest } from "./_zygote.ts";
import { ToolchainError } from "./errors.ts";
import { type Language, LANGUAGES } from "./languages.ts";
import { resolveToolchain, type Toolchain } from "./toolchains.ts";
import type {
  ExecuteRequest,
  Executor,
  ExecutorOptions,
  IsolationMode,
  Limits,
  ToolchainInfo,
} from "./types.ts";

/** Limits of every run step unless the executor or the request says otherwise. */
export const DEFAULT_LIMITS: Limits = {
  wallMs: 10_000,
  cpuMs: 10_000,
  memoryMb: 1024,
  processes: 64,
  fileSizeMb: 64,
  openFiles: 256,
  outputBytes: 1 << 20,
};

/** Limits of `check` and `build` steps (compilers need more than the programs they build). */
export const DEFAULT_COMPILE_LIMITS: Limits = {
  wallMs: 60_000,
  cpuMs: 60_000,
  memoryMb: 2048,
  processes: 128,
  fileSizeMb: 256,
  openFiles: 1024,
  outputBytes: 1 << 20,
};

/** Creates a pool of isolated workers, with every requested toolchain found up front. */
export async function createExecutor(options: ExecutorOptions = {}): Promise<Executor> {
  const isolation = options.isolation ?? "bwrap";
  const workers = options.workers ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(
      `Cannot create an executor as "workers" must be a positive integer: current value is ${workers}`,
    );
  }
  const limits = mergeLimits(DEFAULT_LIMITS, options.limits);
  const compileLimits = mergeLimits(DEFAULT_COMPILE_LIMITS, options.compileLimits);
  const languages: Language[] = [...new Set(options.languages ?? ["python" as const])];
  const bwrap = isolation === "bwrap" ? await probeBwrap() : null;
  const launcherPython = await resolveToolchain("python").catch((error) => {
    throw new ToolchainError(
      `Cannot start the sandbox as its launcher needs Python 3: ${error.message}`,
      "python3",
    );
  });
  const toolchains = await Promise.all(languages.map(resolveToolchain));
  const executor = new PoolExecutor({
    isolation,
    workers,
    limits,
    compileLimits,
    toolchains,
    launcherPython,
    bwrap,
    cacheDir: options.cacheDir ?? defaultCacheDir(),
    ...routes(options, isolation, compileLimits, workers),
  });
  try {
    await executor.start();
  } catch (error) {
    await executor.close();
    throw error;
  }
  return executor;
}

/** The caller's route, then the fast compile checker's, and what closing them takes. */
function routes(
  options: ExecutorOptions,
  isolation: IsolationMode,
  compileLimits: Limits,
  workers: number,
): Pick<Settings, "route" | "closeRoutes"> {
  if (!(options.fastCompile ?? isolation === "bwrap")) {
    return { route: options.route, closeRoutes: () => Promise.resolve() };
  }
  const fast = fastCompileRoute(compileLimits, workers);
  return {
    route: async (request) => (await options.route?.(request)) ?? (await fast.route(request)),
    closeRoutes: () => fast.close(),
  };
}

function mergeLimits(base: Limits, overrides: Partial<Limits> | undefined): Limits {
  const merged = { ...base, ...overrides };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new RangeError(
        `Cannot use the limit "${name}" as it must be a positive integer: current value is ${value}`,
      );
    }
  }
  return merged;
}

interface Settings {
  readonly isolation: IsolationMode;
  readonly workers: number;
  readonly limits: Limits;
  readonly compileLimits: Limits;
  readonly toolchains: readonly Toolchain[];
  readonly launcherPython: Toolchain;
  readonly bwrap: string | null;
  readonly cacheDir: string;
  readonly route: ExecutorOptions["route"];
  readonly closeRoutes: () => Promise<void>;
}

class PoolExecutor implements Executor {
  readonly isolation: IsolationMode;
  readonly limits: Limits;
  readonly workers: number;
  readonly compileLimits: Limits;
  readonly toolchains: readonly ToolchainInfo[];
  readonly notes: string[] = [];
  readonly #settings: Settings;
  readonly #byLanguage: Map<Language, Toolchain>;
  readonly #tag = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  readonly #uidBase = 100_000 + Math.floor(Math.random() * 0x7fff) * 256;
  /** PATH of every step: the toolchains' own folders, then the system's. */
  readonly #path: string;
  #cgroups: CgroupSet | null = null;
  #workRoot: string | null = null;
  #caches: Record<string, string> = {};
  #slots: Slot[] = [];
  #waiting: ((slot: Slot) => void)[] = [];
  #busy = 0;
  #drained: (() => void) | null = null;
  #closed = false;

  constructor(settings: Settings) {
    this.#settings = settings;
    this.isolation = settings.isolation;
    this.limits = settings.limits;
    this.compileLimits = settings.compileLimits;
    this.workers = settings.workers;
    this.toolchains = settings.toolchains.map((t) => t.info);
    this.#byLanguage = new Map(settings.toolchains.map((t) => [t.language, t]));
    const dirs = [settings.launcherPython, ...settings.toolchains].flatMap((t) =>
      Object.values(t.tools).map((tool) => tool.path.slice(0, tool.path.lastIndexOf("/")))
    );
    this.#path = [...new Set([...dirs, "/usr/local/bin", "/usr/bin", "/bin"])].join(":");
  }

  async start(): Promise<void> {
    const { isolation, toolchains } = this.#settings;
    if (isolation === "bwrap") {
      this.#cgroups = CgroupSet.create(this.#tag);
      this.notes.push(...this.#cgroups.notes);
    } else {
      this.#workRoot = await Deno.makeTempDir({ prefix: "ppocoder-sandbox-" });
      this.notes.push("isolation is none: no namespaces, no private user; limits are rlimits");
    }
    this.#caches = await prepareBuildCaches(toolchains, this.#settings.cacheDir, this.notes);
    for (let index = 0; index < this.workers; index++) {
      this.#slots.push(new Slot(index, () => this.#launch(index)));
    }
    const zygotes = await Promise.all(this.#slots.map((slot) => slot.zygote()));
    if (isolation === "bwrap" && !zygotes.every((zygote) => zygote.seccomp)) {
      this.notes.push(`no seccomp filter for this architecture (${Deno.build.arch})`);
    }
  }

  async execute(request: ExecuteRequest): Promise<Execution> {
    if (this.#closed) throw new Error("Cannot execute as the executor is closed");
    const toolchain = this.#byLanguage.get(request.language);
    if (!toolchain) {
      const known = [...this.#byLanguage.keys()].join(", ");
      throw new ToolchainError(
        `Cannot execute "${request.language}" code as the executor was created without it: ` +
          `add it to "languages" (prepared: ${known})`,
        Object.values(LANGUAGES[request.language].tools)[0]!.apt,
      );
    }
    const routed = await this.#settings.route?.(request);
    if (routed) return routed;
    const plan = planExecution(request, {
      toolchain,
      limits: mergeLimits(this.limits, request.limits),
      compileLimits: mergeLimits(this.#settings.compileLimits, request.compileLimits),
      memoryCgroup: this.#cgroups?.hasMemory ?? false,
      path: this.#path,
    });
    let execution = sandboxError("not run");
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const slot = await this.#acquire();
      try {
        execution = await this.#runPlan(slot, plan);
      } finally {
        this.#release(slot);
      }
      if (execution.status !== "sandbox_error") return execution;
    }
    return execution;
  }

  /**
   * Runs `plan` once on `slot`. A launcher that died, hung or failed the request is the
   * sandbox's fault, never the program's: the caller tries again (a program cannot reach its
   * launcher, so it cannot cause this on purpose).
   */
  async #runPlan(slot: Slot, plan: Plan): Promise<Execution> {
    let answer: ZygoteAnswer;
    try {
      answer = await slot.run(plan.request);
    } catch (error) {
      return { ...sandboxError(errorText(error)), casesTotal: plan.cases || 1 };
    }
    const { steps, files } = answer;
    if (!plan.recheck || !needsRecheck(plan, steps)) return judge(plan, steps, null, files);
    try {
      const { steps: [recheck] } = await slot.run(plan.recheck);
      return judge(plan, steps, recheck ?? null, files);
    } catch {
      return judge(plan, steps, null, files);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#busy > 0) await new Promise<void>((resolve) => this.#drained = resolve);
    await Promise.all([...this.#slots.map((slot) => slot.close()), this.#settings.closeRoutes()]);
    this.#cgroups?.remove();
    if (this.#workRoot) await Deno.remove(this.#workRoot, { recursive: true }).catch(() => {});
  }

  /**
   * A worker for one execution: an idle one if any, else one with a single execution in hand
   * (its next request then waits in the launcher's pipe, so the launcher goes from one
   * execution to the next without waiting for this side), else the first to free up.
   */
  #acquire(): Promise<Slot> {
    this.#busy++;
    const slot = this.#leastLoaded();
    if (slot) {
      slot.load++;
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(slot: Slot): void {
    this.#busy--;
    slot.load--;
    const next = this.#waiting.shift();
    if (next) {
      const free = this.#leastLoaded()!;
      free.load++;
      next(free);
    }
    if (this.#busy === 0) this.#drained?.();
  }

  #leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.load < PIPELINE_DEPTH && (!best || slot.load < best.load)) best = slot;
    }
    return best;
  }

  /** Starts the launcher of worker `index`. */
  #launch(index: number): Zygote {
    const { isolation, launcherPython, bwrap, toolchains } = this.#settings;
    const python = launcherPython.tools.python!.path;
    const launcher = fileURLToPath(new URL("./zygote.py", import.meta.url));
    const env = { PATH: this.#path, LANG: "C.UTF-8", PYTHONHASHSEED: "0" };
    if (isolation === "none" || !bwrap) {
      const config = { isolation: "none", workRoot: this.#workRoot, caches: this.#caches };
      return new Zygote(python, ["-S", "-B", launcher, JSON.stringify(config)], env);
    }
    const cgroups: WorkerCgroups = this.#cgroups?.worker(index) ?? { memory: null, pids: null };
    const uid = this.#uidBase + index;
    const config = {
      isolation: "bwrap",
      uid,
      gid: uid,
      cgroupMemory: cgroups.memory ? `${RUN_DIR}/cgroup/memory` : null,
      cgroupPids: cgroups.pids ? `${RUN_DIR}/cgroup/pids` : null,
      caches: Object.fromEntries(
        Object.keys(this.#caches).map((n) => [n, `${RUN_DIR}/cache/${n}`]),
      ),
    };
    const roots = [launcherPython, ...toolchains].flatMap((t) => t.roots);
    const args = bwrapArgs(
      {
        launcher,
        roots: [...new Set(roots)],
        cgroupMemory: cgroups.memory,
        cgroupPids: cgroups.pids,
        caches: this.#caches,
      },
      env,
    );
    return new Zygote(bwrap, [
      ...args,
      python,
      "-S",
      "-B",
      `${RUN_DIR}/zygote.py`,
      JSON.stringify(config),
    ]);
  }
}

/**
 * Tries of one execution whose launcher died, hung or failed it (a fault of the sandbox, not of
 * the program); after the last, the execution is a `sandbox_error`, which a resumed run retries.
 */
const ATTEMPTS = 3;

/** Executions a worker holds at once: one running, one waiting in its launcher's pipe. */
const PIPELINE_DEPTH = 2;

/** One worker: its launcher, started again when it dies. */
class Slot {
  readonly index: number;
  /** Executions assigned to this worker and not finished. */
  load = 0;
  readonly #start: () => Zygote;
  #zygote: Zygote | null = null;

  constructor(index: number, start: () => Zygote) {
    this.index = index;
    this.#start = start;
  }

  async zygote(): Promise<Zygote> {
    if (!this.#zygote?.alive) {
      this.#zygote = this.#start();
      await this.#zygote.ready();
    }
    return this.#zygote;
  }

  async run(request: ZygoteRequest): Promise<ZygoteAnswer> {
    const zygote = await this.zygote();
    return await zygote.run(request, watchdogMs(request));
  }

  async close(): Promise<void> {
    await this.#zygote?.close();
  }
}

/**
 * How long the launcher may take before it is presumed hung: every step's wall limit plus 2 s,
 * 30 s, and 1 s per MB of files (a huge program takes time to pass and write).
 */
function watchdogMs(request: ZygoteRequest): number {
  const bytes = Object.values(request.files).reduce((total, text) => total + text.length, 0) +
    (request.harness?.length ?? 0);
  const steps = request.steps.reduce((total, step) => total + step.limits.wallMs + 2000, 0);
  return 30_000 + steps + Math.ceil(bytes / 1e6) * 1000;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
