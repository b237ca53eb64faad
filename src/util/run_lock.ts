/**
 * One process at a time per run folder: an exclusive `flock` on `<folder>/.lock`. The kernel drops
 * the lock when its process ends, however it ends (`kill -9` included), so a killed run never
 * leaves a stale lock, and a second run of the same command is refused while the first is alive.
 *
 * @example Usage
 * ```ts ignore
 * const lock = await lockRunFolder("reports/mbpp/reference-0123abcd4567");
 * try {
 *   // read and append the run's records
 * } finally {
 *   lock.release();
 * }
 * ```
 *
 * @module
 */

import { hostname } from "node:os";
import { join } from "node:path";

/** File name of the lock in a run folder. */
export const LOCK_FILE = ".lock";

/** The run folder is in use by another process. */
export class RunFolderBusyError extends Error {
  override name = "RunFolderBusyError";
}

/** A held lock; {@linkcode RunLock.release} frees it (ending the process does too). */
export interface RunLock {
  readonly path: string;
  release(): void;
}

/** Who holds a lock, as written into the lock file. */
interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly command: string;
}

/**
 * Takes the run folder `dir` (created if needed) for this process, or throws
 * {@linkcode RunFolderBusyError} at once, naming the process that holds it.
 */
export async function lockRunFolder(dir: string): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  let file: Deno.FsFile;
  try {
    await Deno.mkdir(dir, { recursive: true });
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (error) {
    throw new Error(
      `Cannot create the run folder "${dir}": ${(error as Error).message}: pass --reports DIR ` +
        `with a folder this user can write`,
      { cause: error },
    );
  }
  if (!await file.tryLock(true)) {
    file.close();
    throw new RunFolderBusyError(
      `Cannot use run folder "${dir}" as another run is using it (${await holderText(path)}): ` +
        `a run folder takes one run at a time, so wait for that run to end (or stop it); ` +
        `rerunning the same command afterwards resumes it`,
    );
  }
  await writeHolder(file);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      file.close(); // closing the descriptor drops the flock
    },
  };
}

async function writeHolder(file: Deno.FsFile): Promise<void> {
  const holder: Holder = {
    pid: Deno.pid,
    host: hostname(),
    since: new Date().toISOString(),
    command: ["deno", ...Deno.args].join(" ").slice(0, 500),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(holder) + "\n");
  await file.truncate(0);
  await file.seek(0, Deno.SeekMode.Start);
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** Who holds the lock, as its file says; the holder writes it just after locking, so wait a bit. */
async function holderText(path: string): Promise<string> {
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const holder = JSON.parse(await Deno.readTextFile(path)) as Holder;
      return `pid ${holder.pid} on ${holder.host}, since ${holder.since}`;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return "a process that has not said who it is";
}
