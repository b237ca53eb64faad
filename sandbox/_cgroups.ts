/**
 * Per-worker cgroups (v1 memory and pids controllers): the memory limit that works for every
 * runtime (a JVM, Mono and V8 reserve far more address space than they use, so RLIMIT_AS would
 * break them), OOM-kill detection, and a process limit that holds for root-started trees.
 *
 * Made under the executor's own cgroup, so that the machine's limits still hold. Where they
 * cannot be made, the executor goes on without them and records a note; the launcher then
 * limits memory with RLIMIT_DATA and processes with RLIMIT_NPROC (the payload's uid is
 * unprivileged, so RLIMIT_NPROC is enforced).
 *
 * @module
 */

const ROOT = "/sys/fs/cgroup";
const CONTROLLERS = ["memory", "pids"] as const;
type Controller = typeof CONTROLLERS[number];

/** One worker's cgroup folders (host paths), `null` where unavailable. */
export interface WorkerCgroups {
  readonly memory: string | null;
  readonly pids: string | null;
}

/** The cgroups of one executor. */
export class CgroupSet {
  readonly notes: readonly string[];
  readonly #bases: Readonly<Partial<Record<Controller, string>>>;

  private constructor(bases: Partial<Record<Controller, string>>, notes: string[]) {
    this.#bases = bases;
    this.notes = notes;
  }

  /** Makes a folder per controller for this executor; notes what could not be made. */
  static create(tag: string): CgroupSet {
    const bases: Partial<Record<Controller, string>> = {};
    const notes: string[] = [];
    const own = ownCgroups();
    for (const controller of CONTROLLERS) {
      const parent = own.get(controller);
      if (parent === undefined) {
        notes.push(`no cgroup v1 "${controller}" controller is mounted at ${ROOT}/${controller}`);
        continue;
      }
      const dir = `${ROOT}/${controller}${parent === "/" ? "" : parent}`;
      try {
        removeStale(dir);
        const base = `${dir}/ppocoder-${tag}`;
        Deno.mkdirSync(base);
        bases[controller] = base;
      } catch (error) {
        notes.push(`cannot make a "${controller}" cgroup under ${dir}: ${message(error)}`);
      }
    }
    if (!bases.memory) notes.push("memory is limited by RLIMIT_DATA instead of a memory cgroup");
    if (!bases.pids) notes.push("processes are limited by RLIMIT_NPROC only");
    return new CgroupSet(bases, notes);
  }

  /** Whether a memory cgroup holds the memory limit (else RLIMIT_DATA does). */
  get hasMemory(): boolean {
    return this.#bases.memory !== undefined;
  }

  /** Makes (or reuses) the folders of worker `index`. */
  worker(index: number): WorkerCgroups {
    const make = (controller: Controller): string | null => {
      const base = this.#bases[controller];
      if (!base) return null;
      const dir = `${base}/w${index}`;
      try {
        Deno.mkdirSync(dir);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      return dir;
    };
    return { memory: make("memory"), pids: make("pids") };
  }

  /** Removes every folder (their processes must be gone). */
  remove(): void {
    for (const base of Object.values(this.#bases)) removeTree(base);
  }
}

/** This process's cgroup path per v1 controller, from /proc/self/cgroup. */
function ownCgroups(): Map<string, string> {
  const found = new Map<string, string>();
  let text = "";
  try {
    text = Deno.readTextFileSync("/proc/self/cgroup");
  } catch {
    return found;
  }
  for (const line of text.split("\n")) {
    const [, controllers, path] = line.split(":");
    if (!controllers || path === undefined) continue;
    for (const controller of controllers.split(",")) {
      try {
        if (Deno.statSync(`${ROOT}/${controller}`).isDirectory) found.set(controller, path);
      } catch {
        // not mounted
      }
    }
  }
  return found;
}

/** Removes folders of executors whose process is gone (a killed run leaves them behind). */
function removeStale(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    const match = /^ppocoder-(\d+)-/.exec(entry.name);
    if (!entry.isDirectory || !match) continue;
    if (processExists(Number(match[1]))) continue;
    removeTree(`${dir}/${entry.name}`);
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

function removeTree(base: string): void {
  try {
    for (const entry of Deno.readDirSync(base)) {
      if (entry.isDirectory) tryRemove(`${base}/${entry.name}`);
    }
    tryRemove(base);
  } catch {
    // already gone
  }
}

function tryRemove(dir: string): void {
  try {
    Deno.removeSync(dir);
  } catch {
    // busy (a process still inside) or gone; a later executor removes it
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
