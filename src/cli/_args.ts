/**
 * The command line of every `deno task`: one way to declare a command, parse its arguments, print
 * its help, and end with a documented exit status. Built on `node:util` `parseArgs` (typed values,
 * no dependency), with what it lacks added here: help generated from the declaration, `--version`,
 * "did you mean" for options and choices, usage errors on stderr, and no stack trace for a user's
 * mistake.
 *
 * Every command does the same three things:
 *
 * ```ts ignore
 * import { type CommandSpec, integer, runCommand, UsageError } from "./_args.ts";
 *
 * // 1. Declare it: each option with its type, value name, help line and section.
 * export const TRAIN = {
 *   name: "train",
 *   usage: "<benchmark> [options]",
 *   summary: "Fine-tunes a policy with PPO on a benchmark's train split.",
 *   positionals: { min: 1, max: 1, label: "benchmark" },
 *   options: {
 *     steps: { type: "string", value: "N", help: "PPO updates (default 100)" },
 *     resume: { type: "boolean", help: "continue from the last checkpoint" },
 *   },
 * } as const satisfies CommandSpec;
 *
 * // 2. Turn values into typed options with the helpers below: they throw UsageError (exit 2).
 * // 3. Run it: --help, --version, errors, SIGINT and the exit status are handled here.
 * if (import.meta.main) {
 *   await runCommand(TRAIN, async ({ values, positionals }) => {
 *     const steps = integer("steps", values.steps) ?? 100;
 *     // ... work; throw an Error with a full sentence when something fails (exit 1)
 *     return 0;
 *   });
 * }
 * ```
 *
 * Exit status, the same for every command unless its `exitCodes` say more: 0 success; 1 the
 * command ran and failed (its error says why); 2 the command line is wrong (unknown option, bad
 * value, a path that does not exist); 130 interrupted (Ctrl-C). Set `PPOCODER_DEBUG=1` to see the
 * stack of an unexpected error.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { didYouMean } from "../util/did_you_mean.ts";

export { didYouMean };

/** Exit statuses every command shares. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const EXIT_TEXT: Readonly<Record<number, string>> = {
  0: "success",
  1: "the command ran and failed (the error says why)",
  2: "the command line is wrong (unknown option, bad value, a path that does not exist)",
  130: "interrupted (Ctrl-C)",
};

/** One option of a command. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  /** May be given several times (values collect in an array). */
  readonly multiple?: boolean;
  /** One-letter alias, e.g. `h`. */
  readonly short?: string;
  /** Name of the value in the help, e.g. `N`, `PATH`. @default "VALUE" */
  readonly value?: string;
  /** One line (or a few) for the help; say the default there. */
  readonly help: string;
  /** Heading the option is listed under in the help. */
  readonly section?: string;
}

/** What a command declares. */
export interface CommandSpec {
  /** The task name, e.g. `bench`, `perf:sandbox`. */
  readonly name: string;
  /** What follows the task name in the usage line. @default "[options]" */
  readonly usage?: string;
  /** What the command does, a few sentences. */
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Positional arguments taken (none when absent). */
  readonly positionals?: { readonly min: number; readonly max: number; readonly label: string };
  /** Exit statuses that mean more for this command than the shared ones. */
  readonly exitCodes?: Readonly<Record<number, string>>;
  /** Text after the options in the help (examples, notes). */
  readonly notes?: string;
  /** What Ctrl-C prints. @default "interrupted" */
  readonly interrupted?: string;
  /**
   * Exit status for an error the command throws, where 1 means something else (`check`: 1 is a
   * regression, so an error that stops the check is 2). @default 1
   */
  readonly errorExit?: number;
}

type ParseConfig<S extends CommandSpec> = { options: S["options"]; allowPositionals: true };

/** Typed option values of a command, as `parseArgs` derives them from its declaration. */
export type Values<S extends CommandSpec> = ReturnType<typeof parseArgs<ParseConfig<S>>>["values"];

/** A parsed command line. */
export interface Parsed<S extends CommandSpec> {
  readonly values: Values<S>;
  readonly positionals: readonly string[];
}

/** A mistake in the command line: printed with the usage line, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Where a command writes; tests pass their own. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const CONSOLE: Io = { out: (t) => console.log(t), err: (t) => console.error(t) };

const BUILT_IN: Readonly<Record<string, OptionSpec>> = {
  help: { type: "boolean", short: "h", help: "show this text" },
  version: { type: "boolean", help: "print the version of ppocoder" },
};

/**
 * Parses `args` for `spec`; `"help"` or `"version"` when asked for. Throws {@linkcode UsageError}
 * with "did you mean" for an unknown option, a missing value, or the wrong number of positionals.
 */
export function parseCommand<S extends CommandSpec>(
  spec: S,
  args: readonly string[],
): Parsed<S> | "help" | "version" {
  const options = { ...spec.options, ...BUILT_IN };
  const flags = args.slice(0, args.includes("--") ? args.indexOf("--") : args.length);
  if (flags.includes("--help") || flags.includes("-h")) return "help"; // whatever else is wrong
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(parseErrorText(error as Error & { code?: string }, options));
  }
  if (parsed.values.help) return "help";
  if (parsed.values.version) return "version";
  checkPositionals(spec, parsed.positionals);
  const { help: _h, version: _v, ...values } = parsed.values;
  return { values: values as Values<S>, positionals: parsed.positionals };
}

function parseErrorText(
  error: Error & { code?: string },
  options: Readonly<Record<string, OptionSpec>>,
): string {
  const unknown = /^Unknown option '([^']+)'/.exec(error.message)?.[1];
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown !== undefined) {
    const names = Object.entries(options).flatMap(([name, o]) => [
      `--${name}`,
      ...(o.short ? [`-${o.short}`] : []),
    ]);
    const bare = unknown.split("=")[0]!;
    return `unknown option ${bare}${didYouMean(bare, names)}`;
  }
  const option = /^Option '(?:-\w, )?(--[\w-]+)/.exec(error.message)?.[1];
  if (option !== undefined && /argument missing|ambiguous/.test(error.message)) {
    const spec = options[option.slice(2)];
    return `option ${option} needs a value: ${option} ${spec?.value ?? "VALUE"}` +
      (/ambiguous/.test(error.message)
        ? ` (for a value that starts with "-", write ${option}=-X)`
        : "");
  }
  if (option !== undefined && /does not take an argument/.test(error.message)) {
    return `option ${option} takes no value: write ${option} alone`;
  }
  return error.message;
}

function checkPositionals(spec: CommandSpec, positionals: readonly string[]): void {
  const { min = 0, max = 0, label = "argument" } = spec.positionals ?? {};
  if (positionals.length > max) {
    const extra = positionals.slice(max).map((p) => JSON.stringify(p)).join(" ");
    throw new UsageError(
      max === 0
        ? `unexpected argument ${extra}: ${spec.name} takes only options`
        : `unexpected argument ${extra}: ${spec.name} takes ${max === 1 ? "one" : max} ${label}` +
          (max === 1 ? "" : "s"),
    );
  }
  if (positionals.length < min) {
    throw new UsageError(`missing ${label}: ${spec.name} needs ${min === 1 ? "one" : min}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Help

/** The usage line: `Usage: deno task bench <benchmark> [options]`. */
export function usageLine(spec: CommandSpec): string {
  return `Usage: deno task ${spec.name} ${spec.usage ?? "[options]"}`;
}

/** The whole help text, generated from the declaration. */
export function helpText(spec: CommandSpec): string {
  const sections = new Map<string, [string, OptionSpec][]>();
  for (const [name, option] of Object.entries({ ...spec.options, ...BUILT_IN })) {
    const section = BUILT_IN[name] === option ? "Other" : option.section ?? "Options";
    sections.set(section, [...(sections.get(section) ?? []), [name, option]]);
  }
  const blocks = [...sections].map(([title, options]) =>
    [`${title}:`, ...options.map(([name, option]) => optionLine(name, option))].join("\n")
  );
  const codes = { ...EXIT_TEXT, ...spec.exitCodes };
  const exit = Object.entries(codes).map(([code, text]) => `  ${code.padEnd(4)}${text}`);
  return [
    usageLine(spec),
    "",
    wrap(spec.summary, 100, ""),
    "",
    ...blocks.flatMap((b) => [b, ""]),
    ...(spec.notes ? [spec.notes.trimEnd(), ""] : []),
    "Exit status:",
    ...exit,
  ].join("\n");
}

const NAME_WIDTH = 26;

function optionLine(name: string, option: OptionSpec): string {
  const flag = `${option.short ? `-${option.short}, ` : ""}--${name}` +
    (option.type === "string" ? ` ${option.value ?? "VALUE"}` : "");
  const help = option.help + (option.multiple ? " (repeatable)" : "");
  const head = `  ${flag}`;
  const indent = " ".repeat(NAME_WIDTH);
  if (head.length >= NAME_WIDTH - 1) return `${head}\n${wrap(help, 100, indent)}`;
  return head.padEnd(NAME_WIDTH) + wrap(help, 100, indent).slice(NAME_WIDTH);
}

/** Wraps `text` at `width` columns, each line starting with `indent`; newlines are kept. */
function wrap(text: string, width: number, indent: string): string {
  return text.split("\n").map((paragraph) => {
    const lines: string[] = [];
    let line = indent;
    for (const word of paragraph.split(" ")) {
      if (line.length > indent.length && line.length + 1 + word.length > width) {
        lines.push(line);
        line = indent;
      }
      line += (line.length > indent.length ? " " : "") + word;
    }
    lines.push(line);
    return lines.join("\n");
  }).join("\n");
}

// ---------------------------------------------------------------------------------------------
// Running

/**
 * Parses `args`, answers `--help` and `--version`, runs `main`, and returns the exit status;
 * errors are printed as one line (a usage error with the usage line), never as a stack.
 */
export async function execute<S extends CommandSpec>(
  spec: S,
  main: (parsed: Parsed<S>) => Promise<number>,
  args: readonly string[],
  io: Io = CONSOLE,
): Promise<number> {
  try {
    const parsed = parseCommand(spec, args);
    if (parsed === "help") {
      io.out(helpText(spec));
      return EXIT.ok;
    }
    if (parsed === "version") {
      io.out(await versionText());
      return EXIT.ok;
    }
    return await main(parsed);
  } catch (error) {
    return reportError(spec, error, io);
  }
}

function reportError(spec: CommandSpec, error: unknown, io: Io): number {
  if (error instanceof UsageError) {
    io.err(
      `error: ${error.message}\n${
        usageLine(spec)
      }\n(deno task ${spec.name} --help lists every option)`,
    );
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`error: ${message}`);
  if (debugging() && error instanceof Error) io.err(error.stack ?? "");
  return spec.errorExit ?? EXIT.failed;
}

/** Whether `PPOCODER_DEBUG` is set; false where the task may not read the environment. */
function debugging(): boolean {
  try {
    return Boolean(Deno.env.get("PPOCODER_DEBUG"));
  } catch {
    return false;
  }
}

/** `ppocoder 0.1.0 (commit 0123abc)`. */
async function versionText(): Promise<string> {
  const { harnessVersion } = await import("../report/provenance.ts");
  const { version, commit, dirty } = await harnessVersion();
  return `ppocoder ${version} (commit ${commit.slice(0, 12)}${
    dirty ? ", with local changes" : ""
  })`;
}

const interruptHandlers: (() => void)[] = [];

/** Runs `handler` on Ctrl-C before the command's "interrupted" line (a progress bar ends its line). */
export function onInterrupt(handler: () => void): void {
  interruptHandlers.push(handler);
}

/**
 * {@linkcode execute} with `Deno.args`, then exits with its status. Ctrl-C prints the command's
 * `interrupted` line and exits with 130.
 */
export async function runCommand<S extends CommandSpec>(
  spec: S,
  main: (parsed: Parsed<S>) => Promise<number>,
): Promise<never> {
  Deno.addSignalListener("SIGINT", () => {
    for (const handler of interruptHandlers) handler();
    console.error(spec.interrupted ?? "interrupted");
    Deno.exit(EXIT.interrupted);
  });
  Deno.exit(await execute(spec, main, Deno.args));
}

// ---------------------------------------------------------------------------------------------
// Values: each helper returns `undefined` for an absent option and throws UsageError otherwise.

/** A whole number at least `min` (default 0). */
export function integer(flag: string, text: string | undefined, min = 0): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(
      `option --${flag} must be a whole number${
        min > 0 ? ` of at least ${min}` : " (0 or more)"
      }: ` +
        `current value is "${text}"`,
    );
  }
  return value;
}

/** A finite number within `[min, max]`. */
export function number(
  flag: string,
  text: string | undefined,
  range: { readonly min?: number; readonly max?: number } = {},
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  const { min = -Infinity, max = Infinity } = range;
  if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
    const bounds = Number.isFinite(min) && Number.isFinite(max)
      ? ` from ${min} to ${max}`
      : Number.isFinite(min)
      ? ` of at least ${min}`
      : Number.isFinite(max)
      ? ` of at most ${max}`
      : "";
    throw new UsageError(`option --${flag} must be a number${bounds}: current value is "${text}"`);
  }
  return value;
}

/** One of `choices`, with "did you mean" for a near miss. */
export function choice<const C extends string>(
  flag: string,
  text: string | undefined,
  choices: readonly C[],
): C | undefined {
  if (text === undefined) return undefined;
  if ((choices as readonly string[]).includes(text)) return text as C;
  throw new UsageError(
    `option --${flag} must be one of ${choices.join(", ")}: current value is "${text}"` +
      didYouMean(text, choices),
  );
}

/** `KEY=VALUE` items as a record. */
export function pairs(
  flag: string,
  items: readonly string[] | undefined,
): Record<string, string> | undefined {
  if (items === undefined) return undefined;
  return Object.fromEntries(items.map((item) => {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(
        `option --${flag} must be KEY=VALUE: current value is "${item}"`,
      );
    }
    return [item.slice(0, eq), item.slice(eq + 1)];
  }));
}

/** A comma-separated list, blanks dropped. */
export function list(text: string | undefined): string[] | undefined {
  return text?.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

/** A path that must exist (a `"file"` or `"folder"` when `kind` says so); `hint` says what to do. */
export async function existingPath(
  flag: string,
  path: string | undefined,
  options: { readonly kind?: "file" | "folder"; readonly hint?: string } = {},
): Promise<string | undefined> {
  if (path === undefined) return undefined;
  const { kind, hint } = options;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new UsageError(
      `option --${flag} names "${path}", which does not exist${hint ? `: ${hint}` : ""}`,
    );
  }
  if (kind === "folder" && !info.isDirectory) {
    throw new UsageError(`option --${flag} must name a folder: "${path}" is not one`);
  }
  if (kind === "file" && !info.isFile) {
    throw new UsageError(`option --${flag} must name a file: "${path}" is not one`);
  }
  return path;
}
