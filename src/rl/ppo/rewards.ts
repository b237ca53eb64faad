/**
 * Reward terms as a table: one row per term, each a function of the task, the sample's code,
 * its execution (as the benchmark judged it) and the reference. A recipe is a weight per term;
 * the score of a rollout is the weighted sum, put on its last real token, and every term is
 * logged on its own. The per-token KL penalty to the frozen reference is not a row: it is added
 * token by token (`advantages.ts` `tokenRewards`) with the controller's coefficient, and logged
 * as `kl`.
 *
 * An execution with status `sandbox_error` is an infrastructure failure: the trainer retries it
 * or drops the sample and counts it; no term ever scores it (they throw).
 *
 * @module
 */

import { codeBleu, isCodeBleuLanguage } from "../../metrics/codebleu.ts";
import type { WrittenPart } from "../../sample_path.ts";
import type { Execution, Language, Task } from "../../types.ts";

/** What a term reads about one rollout. */
export interface RewardInput {
  readonly task: Task;
  /** The code that ran (after sanitizing). */
  readonly code: string;
  /** The benchmark's verdict on it. */
  readonly execution: Execution;
  /** Whether the program the sandbox ran parses cleanly (web-tree-sitter). */
  readonly syntaxOk: boolean;
  /** What the model wrote and the part of the reference it had to write. */
  readonly written: WrittenPart;
}

/** One reward term. */
export interface RewardTerm {
  readonly description: string;
  /** Languages the term can score. @default every language */
  supports?(language: Language): boolean;
  compute(input: RewardInput): number | Promise<number>;
}

/** Weight of each term; terms left out weigh 0. */
export type RewardWeights = Readonly<Partial<Record<RewardTermName, number>>>;

/** The terms. */
export const REWARD_TERMS = {
  compile: {
    description:
      "PPOCoder compiler signal: +1 when the program compiles (parses, for interpreted languages), -1 when not",
    compute: (input: RewardInput): number => (infrastructureChecked(input).compiled ? 1 : -1),
  },
  ast_match: {
    description:
      "PPOCoder AST match: CodeBLEU's syntax (subtree) match of what the model wrote against the part of the reference it had to write",
    supports: isCodeBleuLanguage,
    compute: async (input: RewardInput): Promise<number> => (await structuralMatch(input)).syntax,
  },
  dataflow_match: {
    description:
      "PPOCoder data-flow match: CodeBLEU's data-flow match on the same pair; 0 when the reference part has no data flow (PPOCoder's CodeBLEU copy, not counted as 1)",
    supports: isCodeBleuLanguage,
    compute: async (input: RewardInput): Promise<number> => (await structuralMatch(input)).dataflow,
  },
  coderl: {
    description:
      "CodeRL tiers: +1 passed, -0.3 failed tests, -0.6 runtime error (timeout, memory or output limit included), -1 compile error",
    compute: (input: RewardInput): number => CODERL_TIERS[infrastructureChecked(input).status]!,
  },
  test_fraction: {
    description: "APPS test-case fraction: test cases passed over test cases run (0 when none ran)",
    compute: (input: RewardInput): number => {
      const { casesPassed, casesTotal } = infrastructureChecked(input);
      return casesTotal === 0 ? 0 : casesPassed / casesTotal;
    },
  },
  syntax: {
    description:
      "Syntax signal: +1 when the program parses with no ERROR or MISSING node (web-tree-sitter), -1 when not",
    compute: (input: RewardInput): number => (input.syntaxOk ? 1 : -1),
  },
} as const satisfies Record<string, RewardTerm>;

/** A term's name. */
export type RewardTermName = keyof typeof REWARD_TERMS;

/** Named recipes (`--reward NAME`). */
export const REWARD_RECIPES = {
  /** Shojaee et al. 2023: compiler signal plus structural match to the reference. */
  ppocoder: { compile: 1, ast_match: 1, dataflow_match: 1 },
  /** Le et al. 2022: test-outcome tiers. */
  coderl: { coderl: 1 },
  /** Syntax only: the control that shows reward hacking on completion tasks. */
  syntax: { syntax: 1 },
} as const satisfies Record<string, RewardWeights>;

/** A recipe's name. */
export type RewardRecipe = keyof typeof REWARD_RECIPES;

const CODERL_TIERS: Readonly<Partial<Record<Execution["status"], number>>> = {
  passed: 1,
  failed: -0.3,
  runtime_error: -0.6,
  timeout: -0.6,
  memory_limit: -0.6,
  output_limit: -0.6,
  compile_error: -1,
};

/** A sandbox error that reached a term: a bug of the caller, which must retry or drop it. */
export class InfrastructureError extends Error {
  override name = "InfrastructureError";
}

function infrastructureChecked(input: RewardInput): Execution {
  if (input.execution.status === "sandbox_error") {
    throw new InfrastructureError(
      `Cannot score task "${input.task.id}" as its execution is a sandbox error, an infrastructure failure and not the model's: retry the execution or drop the sample`,
    );
  }
  return input.execution;
}

const structural = new WeakMap<RewardInput, Promise<{ syntax: number; dataflow: number }>>();

/** CodeBLEU's syntax and data-flow match of the written part, computed once per input. */
function structuralMatch(input: RewardInput): Promise<{ syntax: number; dataflow: number }> {
  let match = structural.get(input);
  if (match === undefined) {
    match = computeStructuralMatch(input);
    structural.set(input, match);
  }
  return match;
}

async function computeStructuralMatch(input: RewardInput) {
  const { reference, hypothesis } = input.written;
  const language = input.task.language;
  if (!isCodeBleuLanguage(language)) {
    throw new RangeError(
      `Cannot compute AST or data-flow match for "${language}" as CodeBLEU has no rules for it: use a recipe without ast_match and dataflow_match`,
    );
  }
  if (hypothesis.trim() === "" || reference.trim() === "") return { syntax: 0, dataflow: 0 };
  const score = await codeBleu([reference], [hypothesis], language, { dataflowZeroAsOne: false });
  return { syntax: score.syntax, dataflow: score.dataflow };
}

/** A rollout's score and each term's value (unweighted). */
export interface RewardBreakdown {
  readonly score: number;
  readonly terms: Readonly<Record<string, number>>;
}

/** The weighted sum of the terms that weigh something, and each of their values. */
export async function scoreRollout(
  input: RewardInput,
  weights: RewardWeights,
): Promise<RewardBreakdown> {
  const terms: Record<string, number> = {};
  let score = 0;
  for (const [name, weight] of Object.entries(weights) as [RewardTermName, number][]) {
    if (weight === 0) continue;
    const term: RewardTerm = REWARD_TERMS[name];
    terms[name] = await term.compute(input);
    score += weight * terms[name];
  }
  return { score, terms };
}

/**
 * Parses `--reward`: a recipe name, optionally followed by `,term=weight` overrides, or only
 * overrides (`compile=1,syntax=0.5`).
 */
export function parseRewardSpec(spec: string): { name: string; weights: RewardWeights } {
  const [head, ...rest] = spec.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const recipe = head !== undefined && !head.includes("=") ? head : undefined;
  if (recipe !== undefined && !Object.hasOwn(REWARD_RECIPES, recipe)) {
    throw new RangeError(
      `Cannot use reward recipe "${recipe}" as it is unknown: use one of ${
        Object.keys(REWARD_RECIPES).join(", ")
      }, or term=weight pairs`,
    );
  }
  const weights: Partial<Record<RewardTermName, number>> = {
    ...(recipe === undefined ? {} : REWARD_RECIPES[recipe as RewardRecipe]),
  };
  for (const pair of recipe === undefined ? [head!, ...rest] : rest) {
    const [name, value] = pair.split("=");
    if (
      name === undefined || !Object.hasOwn(REWARD_TERMS, name) || !Number.isFinite(Number(value))
    ) {
      throw new RangeError(
        `Cannot parse reward weight "${pair}" as it must be term=number with a term among ${
          Object.keys(REWARD_TERMS).join(", ")
        }`,
      );
    }
    weights[name as RewardTermName] = Number(value);
  }
  return { name: recipe ?? "custom", weights };
}

/** Throws when a weighted term cannot score `language`. */
export function checkRewardLanguages(weights: RewardWeights, languages: Iterable<Language>) {
  for (const language of languages) {
    for (const [name, weight] of Object.entries(weights) as [RewardTermName, number][]) {
      const term: RewardTerm = REWARD_TERMS[name];
      if (weight !== 0 && term.supports && !term.supports(language)) {
        throw new RangeError(
          `Cannot use reward term "${name}" on ${language} tasks as it does not support that language: set its weight to 0 or choose another recipe`,
        );
      }
    }
  }
}
