/**
 * The executor's language table: one row per language, data rather than branches.
 * (First cut: the sandbox work fills in how each row compiles, runs and reports its version.)
 *
 * @module
 */

/** How the sandbox handles one language. */
export interface LanguageSpec {
  /** Source file extension, with the dot. */
  readonly ext: string;
  /** Name shown in reports. */
  readonly displayName: string;
}

/** Every language the executor knows. */
export const LANGUAGES = {
  python: { ext: ".py", displayName: "Python" },
  java: { ext: ".java", displayName: "Java" },
  cpp: { ext: ".cpp", displayName: "C++" },
  c: { ext: ".c", displayName: "C" },
  csharp: { ext: ".cs", displayName: "C#" },
  javascript: { ext: ".js", displayName: "JavaScript" },
  typescript: { ext: ".ts", displayName: "TypeScript" },
  php: { ext: ".php", displayName: "PHP" },
  go: { ext: ".go", displayName: "Go" },
  rust: { ext: ".rs", displayName: "Rust" },
} as const satisfies Record<string, LanguageSpec>;

/** A language the executor knows. */
export type Language = keyof typeof LANGUAGES;

/** Whether `name` is a known language. */
export function isLanguage(name: string): name is Language {
  return Object.hasOwn(LANGUAGES, name);
}
