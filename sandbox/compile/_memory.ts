/**
 * Memory cgroups (v1) of the compile sandboxes: each worker, and each plain compile, runs in a
 * cgroup of its own whose limit is the compile memory limit, as each execution's is the
 * execution's (`../_cgroups.ts`). A limit on the whole sandbox holds what per-process limits do not:
 * its tmpfs `/tmp` (class files, assembly), the sum of its processes, a runtime's native memory.
 *
 * The folders are made under this process's own memory cgroup (so the machine's limits still
 * hold), named `ppocoder-<pid>-compile-<tag>` like the executor's, so that a later executor or
 * checker removes those of a process that died. Where none can be made (no v1 memory controller,
 * no write access), compiles run without one and {@linkcode MemoryCgroups.note} says so.
 *
 * A process enters its cgroup itself before it starts the sandbox (a shell writes its own pid to
 * `cgroup.procs`, then runs the command), so nothing it starts is ever outside.
 *
 * @module
 */

const ROOT = "/sys/fs/cgroup/memory";

/** Exit code of the wrapper when it cannot enter its cgroup (the command has not run). */
export const ENTER_FAILED = 125;

/** The shell that enters the cgroup whose `cgroup.procs` is `$1`, then runs the rest. */
const ENTER = `echo $$ > "$1" || exit ${ENTER_FAILED}; shift; exec "$@"`;

/** One sandbox's cgroup. */
export class MemoryCgroup {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** `argv` run inside this cgroup. */
  wrap(argv: readonly string[]): string[] {
    return ["/bin/sh", "-c", ENTER, "sh", `${this.path}/cgroup.procs`, ...argv];
  }

  /** Processes of this cgroup killed by the OOM killer so far. */
  oomKills(): number {
    try {
      const text = Deno.readTextFileSync(`${this.path}/memory.oom_control`);
      return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  /** Most memory the cgroup has held, in bytes. */
  maxUsage(): number {
    try {
      return Number(Deno.readTextFileSync(`${this.path}/memory.max_usage_in_bytes`).trim());
    } catch {
      return 0;
    }
  }

  /** Removes the folder; false while a process is still inside. */
  remove(): boolean {
    try {
      Deno.removeSync(this.path);
      return true;
    } catch (error) {
      return error instanceof Deno.errors.NotFound;
    }
  }
}

/** The memory cgroups of one checker (or one plain compile). */
export class MemoryCgroups {
  #base: string | undefined;
  #note: string | undefined;
  #made = 0;

  private constructor(base: string | undefined, note: string | undefined) {
    this.#base = base;
    this.#note = note;
  }

  /** Why compiles run without a memory cgroup here, when they do. */
  get note(): string | undefined {
    return this.#note;
  }

  /** Makes this checker's folder, or notes why none can be made. */
  static create(): MemoryCgroups {
    const parent = ownMemoryCgroup();
    if (parent === undefined) {
      return new MemoryCgroups(undefined, `no cgroup v1 memory controller is mounted at ${ROOT}`);
    }
    const base = `${parent}/ppocoder-${Deno.pid}-compile-${crypto.randomUUID().slice(0, 8)}`;
    try {
      removeStale(parent);
      Deno.mkdirSync(base);
    } catch (error) {
      return new MemoryCgroups(
        undefined,
        `cannot make a memory cgroup under ${parent}: ${why(error)}`,
      );
    }
    const cgroups = new MemoryCgroups(base, undefined);
    const refused = canEnter(cgroups);
    if (refused !== undefined) cgroups.#disable(refused);
    return cgroups;
  }

  /**
   * A new cgroup named after `name` limited to `limitMb`; undefined where there are none (and
   * from the first that cannot be made on, with a note).
   */
  make(name: string, limitMb: number): MemoryCgroup | undefined {
    if (this.#base === undefined) return undefined;
    const path = `${this.#base}/${name}-${this.#made++}`;
    try {
      Deno.mkdirSync(path);
      const bytes = String(limitMb * 1024 * 1024);
      Deno.writeTextFileSync(`${path}/memory.limit_in_bytes`, bytes);
    } catch (error) {
      new MemoryCgroup(path).remove();
      this.#disable(`cannot make a memory cgroup at ${path}: ${why(error)}`);
      return undefined;
    }
    // Swap counts too where the kernel accounts it, so that swapping cannot lift the limit.
    try {
      Deno.writeTextFileSync(`${path}/memory.memsw.limit_in_bytes`, String(limitMb * 1024 * 1024));
    } catch { /* no swap accounting */ }
    return new MemoryCgroup(path);
  }

  /** Stops making cgroups, saying why; the folder made so far is removed. */
  #disable(note: string): void {
    const base = this.#base;
    this.#base = undefined;
    this.#note = note;
    if (base !== undefined) removeTree(base);
  }

  /**
   * Removes every folder, waiting up to a second for the kernel to take out the processes that
   * were just killed; a folder still busy is left to a later checker or executor.
   */
  async remove(): Promise<void> {
    if (this.#base === undefined) return;
    for (let attempt = 0; attempt < 50; attempt++) {
      if (removeTree(this.#base)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Whether a process can enter a cgroup here (checked once per process): why not, if it cannot. */
let enterRefused: string | undefined | null = null;

function canEnter(cgroups: MemoryCgroups): string | undefined {
  if (enterRefused !== null) return enterRefused;
  const probe = cgroups.make("probe", 64);
  if (probe === undefined) return cgroups.note;
  const [program, ...args] = probe.wrap(["true"]);
  try {
    const result = new Deno.Command(program!, { args, stdout: "null", stderr: "piped" })
      .outputSync();
    const stderr = new TextDecoder().decode(result.stderr).trim();
    enterRefused = result.code === 0 ? undefined : `cannot enter a memory cgroup: ${stderr}`;
  } catch (error) {
    enterRefused = `cannot enter a memory cgroup: ${why(error)}`;
  }
  probe.remove();
  return enterRefused;
}

function why(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** This process's memory cgroup folder, from /proc/self/cgroup. */
function ownMemoryCgroup(): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/cgroup");
    if (!Deno.statSync(ROOT).isDirectory) return undefined;
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [, controllers, path] = line.split(":");
    if (controllers?.split(",").includes("memory") && path !== undefined) {
      return path === "/" ? ROOT : `${ROOT}${path}`;
    }
  }
  return undefined;
}

/** Removes a folder and its cgroups; false while one is busy. */
function removeTree(dir: string): boolean {
  try {
    for (const child of Deno.readDirSync(dir)) {
      if (child.isDirectory) new MemoryCgroup(`${dir}/${child.name}`).remove();
    }
  } catch (error) {
    return error instanceof Deno.errors.NotFound;
  }
  return new MemoryCgroup(dir).remove();
}

/** Removes the folders of checkers and executors whose process is gone. */
function removeStale(parent: string): void {
  for (const entry of Deno.readDirSync(parent)) {
    const match = /^ppocoder-(\d+)-/.exec(entry.name);
    if (!entry.isDirectory || match === null || processExists(Number(match[1]))) continue;
    removeTree(`${parent}/${entry.name}`);
  }
}

function processExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
