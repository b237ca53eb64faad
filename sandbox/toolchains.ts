/**
 * Finds each language's tools once: their real paths (behind version-manager shims such as
 * pyenv's, which cost tens of milliseconds per start) and their versions.
 *
 * @module
 */

import { ToolchainError } from "./errors.ts";
import { type Language, LANGUAGES, type LanguageSpec, type ToolSpec } from "./languages.ts";
import type { ToolchainInfo } from "./types.ts";

/** One tool, found. */
export interface ResolvedTool {
  /** Placeholder name in the language row, e.g. `javac`. */
  readonly name: string;
  /** Real path, symlinks and shims resolved. */
  readonly path: string;
  readonly version: string;
}

/** A language's tools, found. */
export interface Toolchain {
  readonly language: Language;
  readonly tools: Readonly<Record<string, ResolvedTool>>;
  /** The row's first tool, as reports show it. */
  readonly info: ToolchainInfo;
  /** Folders outside the system folders that the tools need to see (bound read-only). */
  readonly roots: readonly string[];
}

/** Folders the sandbox always shows read-only; tools below them need no extra root. */
export const SYSTEM_DIRS = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64"] as const;

const cache = new Map<Language, Promise<Toolchain>>();

/**
 * Finds the tools of `language`, once per process.
 *
 * @throws {ToolchainError} when a tool is missing or does not start.
 */
export function resolveToolchain(language: Language): Promise<Toolchain> {
  let found = cache.get(language);
  if (!found) {
    found = resolve(language);
    cache.set(language, found);
    found.catch(() => cache.delete(language));
  }
  return found;
}

/** Like {@linkcode resolveToolchain}, but `null` where a tool is missing. */
export async function findToolchain(language: Language): Promise<Toolchain | null> {
  try {
    return await resolveToolchain(language);
  } catch (error) {
    if (error instanceof ToolchainError) return null;
    throw error;
  }
}

async function resolve(language: Language): Promise<Toolchain> {
  const spec: LanguageSpec = LANGUAGES[language];
  const tools: Record<string, ResolvedTool> = {};
  for (const [name, tool] of Object.entries(spec.tools)) {
    tools[name] = await resolveTool(language, name, tool);
  }
  const first = Object.values(tools)[0]!;
  const roots = [...new Set(Object.values(tools).map((tool) => toolRoot(tool.path)))]
    .filter((root): root is string => root !== null);
  return { language, tools, info: { language, path: first.path, version: first.version }, roots };
}

async function resolveTool(
  language: Language,
  name: string,
  tool: ToolSpec,
): Promise<ResolvedTool> {
  const command = tool.commands.map(which).find((path) => path !== null);
  if (!command) {
    const names = tool.commands.map((c) => `"${c}"`).join(" or ");
    throw new ToolchainError(
      `Cannot run "${language}" code as ${names} is not on PATH: install it with ` +
        `"apt-get install ${tool.apt}" or leave "${language}" out of the languages`,
      tool.apt,
    );
  }
  const located = tool.locate ? await locate(command, tool.locate) : command;
  const path = await Deno.realPath(located);
  const version = await versionOf(path, tool.versionArgs);
  if (version === null) {
    throw new ToolchainError(
      `Cannot run "${language}" code as "${path} ${tool.versionArgs.join(" ")}" failed: ` +
        `reinstall it with "apt-get install --reinstall ${tool.apt}"`,
      tool.apt,
    );
  }
  return { name, path, version };
}

/** The first executable file named `command` on PATH, or `null`. */
export function which(command: string): string | null {
  if (command.includes("/")) return isExecutable(command) ? command : null;
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    if (!dir) continue;
    const path = `${dir}/${command}`;
    if (isExecutable(path)) return path;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function locate(
  command: string,
  how: { readonly args: readonly string[]; readonly suffix?: string },
): Promise<string> {
  const out = await capture(command, how.args);
  const printed = out?.stdout.trim().split("\n")[0]?.trim();
  if (!printed) return command;
  return how.suffix ? `${printed.replace(/\/+$/, "")}/${how.suffix}` : printed;
}

async function versionOf(path: string, args: readonly string[]): Promise<string | null> {
  const out = await capture(path, args);
  if (!out) return null;
  const firstLine = (text: string) => text.split("\n").map((l) => l.trim()).find((l) => l) ?? "";
  return firstLine(out.stdout) || firstLine(out.stderr) || null;
}

async function capture(
  command: string,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string } | null> {
  try {
    const output = await new Deno.Command(command, {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    if (!output.success) return null;
    const decoder = new TextDecoder();
    return { stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
  } catch {
    return null;
  }
}

/**
 * The folder to show for a tool outside the system folders: the parent of its `bin` folder
 * (`/root/.pyenv/versions/3.11.7` for `.../bin/python3.11`), else its own folder.
 */
function toolRoot(path: string): string | null {
  if (SYSTEM_DIRS.some((dir) => path === dir || path.startsWith(`${dir}/`))) return null;
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  return dir.endsWith("/bin") ? dir.slice(0, -"/bin".length) || "/" : dir;
}
