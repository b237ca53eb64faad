/**
 * What the sandbox tests look at on the host: fixtures, processes and stray files.
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Language, LANGUAGES } from "../../sandbox/languages.ts";
import { fixturePath } from "../_shared.ts";

/** Absolute path of the repository root. */
export const REPO_DIR: string = fileURLToPath(new URL("../../", import.meta.url)).replace(
  /\/$/,
  "",
);

/** `tests/fixtures/<group>/<language>/<name><ext>`, with `{{MARKER}}` replaced; undefined if absent. */
export function readFixture(
  group: "languages" | "hostile",
  language: Language,
  name: string,
  marker = "",
): string | undefined {
  const file = fixturePath(`${group}/${language}/${name}${LANGUAGES[language].ext}`);
  if (!existsSync(file)) return undefined;
  return readFileSync(file, "utf8").replaceAll("{{MARKER}}", marker);
}

/** Names of the fixture files in `tests/fixtures/<group>/<language>/`, without extension. */
export function fixtureNames(group: "languages" | "hostile", language: Language): string[] {
  const dir = fixturePath(`${group}/${language}`);
  if (!existsSync(dir)) return [];
  const ext = LANGUAGES[language].ext;
  return readdirSync(dir).filter((f) => f.endsWith(ext)).map((f) => f.slice(0, -ext.length));
}

let markerCount = 0;
const MARKER_PREFIX = `hx${crypto.randomUUID().replaceAll("-", "").slice(0, 5)}`;

/** The prefix every marker of this test process starts with. */
export function markerPrefix(): string {
  return MARKER_PREFIX;
}

/**
 * A fresh marker, short enough to be a process name (15 bytes): hostile programs put it into their
 * process name or command line so that the host can find any of them left behind.
 */
export function newMarker(): string {
  markerCount++;
  return `${MARKER_PREFIX}${markerCount.toString(36).padStart(3, "0")}`;
}

function readProc(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return ""; // the process ended while we looked
  }
}

function pids(): string[] {
  return readdirSync("/proc").filter((name) => /^\d+$/.test(name));
}

/** Live (not zombie) host processes whose name or command line contains `marker`. */
export function processesWith(marker: string): string[] {
  return pids().flatMap((pid) => {
    if (/^\d+ \(.*\) Z/s.test(readProc(pid, "stat"))) return [];
    const comm = readProc(pid, "comm");
    const cmdline = readProc(pid, "cmdline");
    const found = comm.includes(marker) || cmdline.includes(marker);
    return found ? [`${pid} ${comm}: ${cmdline.slice(0, 120)}`] : [];
  });
}

function parentOf(pid: string): string {
  return /^PPid:\s+(\d+)$/m.exec(readProc(pid, "status"))?.[1] ?? "0";
}

function pidNamespace(pid: string): string {
  try {
    return Deno.readLinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return ""; // gone, or not ours to read
  }
}

/**
 * Live processes that run in a PID namespace other than the host's (so, inside some sandbox)
 * but descend from no Deno process: they outlived the executor that started them.
 */
export function escapedProcesses(): string[] {
  const host = pidNamespace("self");
  return pids().flatMap((pid) => {
    const ns = pidNamespace(pid);
    if (ns === "" || ns === host || /^\d+ \(.*\) Z/s.test(readProc(pid, "stat"))) return [];
    for (let p = parentOf(pid); p !== "0" && p !== "1"; p = parentOf(p)) {
      if (readProc(p, "comm") === "deno") return [];
    }
    return [`${pid} ${readProc(pid, "comm")}: ${readProc(pid, "cmdline").slice(0, 120)}`];
  });
}

/** Number of processes on the host. */
export function processCount(): number {
  return pids().length;
}

/**
 * Live (not zombie) processes that descend from process `root` (this test process by default):
 * its executors' workers, their bwraps and whatever runs inside, and nothing another job on the
 * machine started.
 */
export function descendantsOf(root: string = String(Deno.pid)): string[] {
  const all = pids();
  const parents = new Map(all.map((pid) => [pid, parentOf(pid)]));
  return all.filter((pid) => {
    if (pid === root || /^\d+ \(.*\) Z/s.test(readProc(pid, "stat"))) return false;
    for (let p = parents.get(pid); p !== undefined && p !== "0"; p = parents.get(p)) {
      if (p === root) return true;
    }
    return false;
  });
}

/** Waits until `check()` holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

const SKIPPED_DIRS = new Set([".git", "node_modules", "proc", "sys"]);

/** Files under `roots` (to `depth` levels, links not followed) whose name contains `needle`. */
export function findFiles(roots: readonly string[], needle: string, depth = 6): string[] {
  const found: string[] = [];
  const walk = (dir: string, level: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or gone
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.name.includes(needle)) found.push(path);
      if (entry.isDirectory() && level < depth && !SKIPPED_DIRS.has(entry.name)) {
        walk(path, level + 1);
      }
    }
  };
  for (const root of roots) walk(root, 0);
  return found;
}
