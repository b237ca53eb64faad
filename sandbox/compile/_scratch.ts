/**
 * Where the compile checker keeps its job files: many tiny files, each written, read once and
 * deleted. On a disk file system the inode churn costs more than some compiles (ext4 searches
 * for a free inode among the recently deleted ones), so they go to memory when it can be had.
 *
 * @module
 */

import { runCommand } from "./_run.ts";

/**
 * Room the memory file system must have for the checker to use it (a job's diagnostics may reach
 * the file-size limit).
 */
const MIN_FREE_KIB = 1024 * 1024;

let root: Promise<string | undefined> | undefined;

/**
 * The folder for job files: `$PPOCODER_COMPILE_TMP` when set, `/dev/shm` when it is a writable
 * folder with at least 1 GiB free, or the system's temporary folder (undefined).
 */
export function scratchRoot(): Promise<string | undefined> {
  root ??= findRoot();
  return root;
}

async function findRoot(): Promise<string | undefined> {
  const chosen = Deno.env.get("PPOCODER_COMPILE_TMP");
  if (chosen !== undefined && chosen !== "") return chosen;
  const result = await runCommand(["df", "-Pk", "/dev/shm"], { timeoutMs: 10_000 })
    .catch(() => undefined);
  // "Filesystem 1024-blocks Used Available Capacity Mounted-on", then one line of figures.
  const free = Number(result?.output.trim().split("\n")[1]?.split(/\s+/)[3]);
  if (result?.code !== 0 || !(free >= MIN_FREE_KIB)) return undefined;
  try {
    const probe = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "ppocoder-probe-" });
    await Deno.remove(probe);
    return "/dev/shm";
  } catch {
    return undefined;
  }
}
