/**
 * The bubblewrap command line of one worker, and the check that bubblewrap works here.
 *
 * The worker's view: a fresh root with the system folders and the toolchains' own folders
 * read-only, a minimal /dev, its own network namespace (loopback only), PID, IPC and UTS
 * namespaces, an empty /box mount point (the launcher mounts a fresh tmpfs there for each
 * execution; /tmp and /dev/shm point into it), and /run/ppocoder (root only, mode 0700) with the
 * launcher script, the worker's cgroup folders and the read-only build caches.
 *
 * @module
 */

import { SandboxUnavailableError } from "./errors.ts";
import { SYSTEM_DIRS, which } from "./toolchains.ts";

/** Where the launcher finds its own files inside the sandbox. */
export const RUN_DIR = "/run/ppocoder";

/** What one worker's sandbox shows besides the system. */
export interface WorkerView {
  /** Host path of `zygote.py`. */
  readonly launcher: string;
  /** Toolchain folders outside the system folders, shown read-only at the same path. */
  readonly roots: readonly string[];
  /** Host folders of the worker's memory and pids cgroups, shown writable to the launcher. */
  readonly cgroupMemory: string | null;
  readonly cgroupPids: string | null;
  /** Host folders of read-only build caches, by name (shown at `/run/ppocoder/cache/<name>`). */
  readonly caches: Readonly<Record<string, string>>;
}

const DEVICES = ["null", "zero", "full", "random", "urandom"] as const;

/** The bwrap arguments (before the command) for one worker. */
export function bwrapArgs(view: WorkerView, env: Readonly<Record<string, string>>): string[] {
  const args = [
    "--unshare-net",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--hostname",
    "sandbox",
    "--die-with-parent",
    "--new-session",
    "--tmpfs",
    "/",
    ...hostDirArgs(SYSTEM_DIRS),
    ...devArgs(),
    "--proc",
    "/proc",
    "--dir",
    "/box",
    "--symlink",
    "/box/tmp",
    "/tmp",
    ...rootArgs(view.roots),
    "--perms",
    "0700",
    "--dir",
    RUN_DIR,
    "--ro-bind",
    view.launcher,
    `${RUN_DIR}/zygote.py`,
  ];
  if (view.cgroupMemory) args.push("--bind", view.cgroupMemory, `${RUN_DIR}/cgroup/memory`);
  if (view.cgroupPids) args.push("--bind", view.cgroupPids, `${RUN_DIR}/cgroup/pids`);
  for (const [name, dir] of Object.entries(view.caches)) {
    args.push("--ro-bind", dir, `${RUN_DIR}/cache/${name}`);
  }
  args.push("--clearenv");
  for (const [key, value] of Object.entries(env)) args.push("--setenv", key, value);
  args.push("--chdir", "/", "--remount-ro", "/");
  return args;
}

/**
 * bwrap options that show the host's `dirs` as they are: a link as the same link (on a
 * merged-/usr system `/bin` links into `/usr`), a folder as a read-only bind; absent ones are
 * left out. Also used by the compile service's sandboxes (`compile/_bwrap.ts`).
 */
export function hostDirArgs(dirs: readonly string[]): string[] {
  const args: string[] = [];
  for (const dir of dirs) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(dir);
    } catch {
      continue;
    }
    if (info.isSymlink) args.push("--symlink", Deno.readLinkSync(dir), dir);
    else if (info.isDirectory) args.push("--ro-bind", dir, dir);
  }
  return args;
}

function devArgs(): string[] {
  const args = ["--tmpfs", "/dev"];
  for (const name of DEVICES) args.push("--dev-bind", `/dev/${name}`, `/dev/${name}`);
  args.push(
    "--symlink",
    "/proc/self/fd",
    "/dev/fd",
    "--symlink",
    "/proc/self/fd/0",
    "/dev/stdin",
    "--symlink",
    "/proc/self/fd/1",
    "/dev/stdout",
    "--symlink",
    "/proc/self/fd/2",
    "/dev/stderr",
    "--symlink",
    "/box/shm",
    "/dev/shm",
    "--remount-ro",
    "/dev",
  );
  return args;
}

/** Binds each root read-only; its parent folders are made traversable (bwrap makes them 0700). */
function rootArgs(roots: readonly string[]): string[] {
  const args: string[] = [];
  const made = new Set<string>();
  for (const root of [...roots].sort()) {
    const parts = root.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = `/${parts.slice(0, i).join("/")}`;
      if (made.has(dir)) continue;
      made.add(dir);
      args.push("--perms", "0755", "--dir", dir);
    }
    args.push("--ro-bind", root, root);
  }
  return args;
}

let probed: Promise<string> | undefined;

/**
 * Checks once that bubblewrap can build a worker's namespaces here, and returns its path.
 *
 * @throws {SandboxUnavailableError} with the fix, when it cannot.
 */
export function probeBwrap(): Promise<string> {
  probed ??= probe();
  probed.catch(() => probed = undefined);
  return probed;
}

async function probe(): Promise<string> {
  const fix = `install it ("apt-get install bubblewrap") or pass --sandbox none to run ` +
    `without isolation`;
  const path = which("bwrap");
  if (!path) {
    throw new SandboxUnavailableError(
      `Cannot isolate executions as "bwrap" is not on PATH: ${fix}`,
    );
  }
  if (Deno.uid() !== 0) {
    throw new SandboxUnavailableError(
      `Cannot isolate executions as the sandbox must start as root to give each execution an ` +
        `unprivileged user: current uid is ${Deno.uid()}; run as root or pass --sandbox none`,
    );
  }
  const args = [
    "--unshare-net",
    "--unshare-pid",
    "--unshare-ipc",
    "--die-with-parent",
    "--tmpfs",
    "/",
    ...hostDirArgs(SYSTEM_DIRS),
    "--proc",
    "/proc",
    "--dir",
    "/box",
    "true",
  ];
  const output = await new Deno.Command(path, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new SandboxUnavailableError(
      `Cannot isolate executions as bwrap cannot create namespaces here: "${stderr}"; allow ` +
        `namespaces (a privileged container, or kernel.unprivileged_userns_clone=1) or pass ` +
        `--sandbox none`,
    );
  }
  return path;
}
