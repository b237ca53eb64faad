/**
 * Which toolchains this machine has, judged by the tests themselves from the language table's
 * data (the commands each tool may be called and its apt package), never by the executor under
 * test: a language is ignored, with a reason naming the package, only when a tool is really absent.
 *
 * @module
 */

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Language, LANGUAGES, type ToolSpec } from "../../sandbox/languages.ts";

/** Whether `command` is an executable file in one of the PATH directories. */
export function onPath(command: string): boolean {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((dir) => dir !== "");
  return dirs.some((dir) => {
    const file = join(dir, command);
    return existsSync(file) && statSync(file).isFile() && (statSync(file).mode & 0o111) !== 0;
  });
}

/** Why `language` cannot be tested here (naming what to install), or undefined when it can. */
export function missingToolchain(language: Language): string | undefined {
  const tools: readonly ToolSpec[] = Object.values(LANGUAGES[language].tools);
  const missing = tools.filter((tool) => !tool.commands.some(onPath));
  if (missing.length === 0) return undefined;
  const commands = missing.map((tool) => `"${tool.commands.join('" or "')}"`).join(", ");
  const packages = [...new Set(missing.map((tool) => tool.apt))].join(" ");
  return `${LANGUAGES[language].displayName} is not tested as ${commands} is not on PATH: ` +
    `install it with "apt-get install ${packages}"`;
}
