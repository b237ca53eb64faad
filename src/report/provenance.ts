/**
 * How and where a run was produced: harness commit, host, Deno.
 *
 * @module
 */

import { cpus, totalmem } from "node:os";
import denoJson from "../../deno.json" with { type: "json" };

/** The harness version and git commit (`unknown` outside a git checkout). */
export async function harnessVersion(): Promise<
  { version: string; commit: string; dirty: boolean }
> {
  const commit = (await git(["rev-parse", "HEAD"])) ?? "unknown";
  const status = await git(["status", "--porcelain", "--untracked-files=no"]);
  return { version: denoJson.version, commit, dirty: status !== undefined && status !== "" };
}

/** CPU model, cores, memory, OS and Deno version of this machine. */
export function hostInfo(): {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  deno: string;
} {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
  };
}

async function git(args: string[]): Promise<string | undefined> {
  try {
    const cwd = new URL("../..", import.meta.url);
    const output = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "null" })
      .output();
    return output.success ? new TextDecoder().decode(output.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}
