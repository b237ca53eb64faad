/**
 * A minimal bubblewrap argument builder for the compile checker: no network, its own PID, IPC
 * and UTS namespaces, a read-only view of the system, a private tmpfs /tmp, and one private
 * writable folder at `/box`. (The executor's own isolation lives in its zygote; this file only
 * builds the command line the compile workers need.)
 *
 * @module
 */

import { hostDirArgs } from "../_bwrap.ts";

/** Where a sandbox's writable folder appears inside it. */
export const BOX = "/box";

/** Where read-only helper files (the built compile servers, the C++ PCH) appear inside. */
export const OPT = "/opt/ppocoder";

/** What one sandbox sees besides the system, and its limits. */
export interface SandboxSpec {
  /** Host folder bound read-write at {@linkcode BOX}. */
  readonly box: string;
  /** Host folder bound read-only at {@linkcode OPT}, when any. */
  readonly opt?: string;
  /** Environment added to {@linkcode SANDBOX_ENV}. */
  readonly env?: Readonly<Record<string, string>>;
  readonly limits?: RlimitSpec;
}

/** Kernel resource limits set with `prlimit` before bwrap starts (inherited by every process). */
export interface RlimitSpec {
  /** CPU seconds of each process. */
  readonly cpuSeconds?: number;
  /** Address space of each process, in MiB. */
  readonly addressSpaceMb?: number;
  /** Largest file a process may write, in MiB. */
  readonly fileSizeMb?: number;
  readonly openFiles?: number;
}

const SYSTEM_DIRS = ["/usr", "/etc"] as const;
/** Top-level folders that are links into /usr on a merged-/usr system, or folders of their own. */
const ROOT_DIRS = ["/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"] as const;

/** The environment every compiler sees: the same for the persistent workers and the plain ones. */
export const SANDBOX_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/bin:/bin",
  HOME: "/tmp",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
};

/** `prlimit` options for `limits` (an empty list when none is set). */
export function prlimitArgs(limits: RlimitSpec): string[] {
  const args: string[] = [];
  if (limits.cpuSeconds !== undefined) {
    // The soft limit sends SIGXCPU (gcc reports "CPU time limit exceeded"); the hard one kills.
    const soft = Math.max(1, Math.ceil(limits.cpuSeconds));
    args.push(`--cpu=${soft}:${soft + 1}`);
  }
  if (limits.addressSpaceMb !== undefined) args.push(`--as=${limits.addressSpaceMb * 1024 * 1024}`);
  if (limits.fileSizeMb !== undefined) args.push(`--fsize=${limits.fileSizeMb * 1024 * 1024}`);
  if (limits.openFiles !== undefined) args.push(`--nofile=${limits.openFiles}`);
  return args;
}

/** The full argv that runs `command` (inside paths) in a fresh sandbox. */
export function bwrapArgv(command: readonly string[], spec: SandboxSpec): string[] {
  const rl = prlimitArgs(spec.limits ?? {});
  const prefix = rl.length > 0 ? ["prlimit", ...rl, "--"] : [];
  const args = [
    ...prefix,
    "bwrap",
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--clearenv",
  ];
  const env = { ...SANDBOX_ENV, ...spec.env };
  for (const [key, value] of Object.entries(env)) args.push("--setenv", key, value);
  args.push(...hostDirArgs([...SYSTEM_DIRS, ...ROOT_DIRS]));
  args.push("--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev");
  args.push("--bind", spec.box, BOX);
  if (spec.opt !== undefined) args.push("--ro-bind", spec.opt, OPT);
  args.push("--chdir", BOX, "--", ...command);
  return args;
}
