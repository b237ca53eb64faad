/**
 * A tiny learnable setting for the trainer's tests: a 2-layer GPT-2 over an 11-token alphabet
 * (digits 0-2, `+ * ( )`, space, `x`, `=` and an end-of-sequence token), saved as a Hugging Face
 * folder with a real `tokenizer.json`, and a benchmark whose one task is "complete `x = ` so that
 * it compiles as Python", judged by the real sandbox in compile mode.
 *
 * @module
 */

import { join } from "node:path";
import { parseConfig } from "../../../src/rl/config.ts";
import { CausalLm } from "../../../src/rl/model.ts";
import { ActorCritic } from "../../../src/rl/policy.ts";
import { savePolicy } from "../../../src/rl/checkpoint.ts";
import { ValueHead } from "../../../src/rl/value_head.ts";
import type { Benchmark, LoadedTasks } from "../../../benchmarks/benchmark.ts";
import type { Execution, Task } from "../../../src/types.ts";

const ALPHABET = ["<eos>", "0", "1", "2", "+", "*", "(", ")", " ", "x", "="];

/** The characters of the function-completion setting: its prompt's and an expression's. */
export const FUNCTION_ALPHABET = [
  ...ALPHABET,
  "\n",
  "d",
  "e",
  "f",
  ":",
  "r",
  "t",
  "u",
  "n",
  "-",
  "y",
];

/** A character-level `tokenizer.json` over `alphabet` (id 0 is end of sequence). */
export function tinyTokenizerJson(alphabet: readonly string[] = ALPHABET) {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{
      id: 0,
      content: "<eos>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }],
    normalizer: null,
    pre_tokenizer: { type: "Split", pattern: { Regex: "." }, behavior: "Isolated", invert: false },
    post_processor: null,
    decoder: { type: "Fuse" },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(alphabet.map((c, i) => [c, i])),
      merges: [],
    },
  };
}

/** Writes the tiny random GPT-2 (seeded) with its tokenizer into `dir`. */
export async function writeTinyModel(
  dir: string,
  seed = 0,
  alphabet: readonly string[] = ALPHABET,
): Promise<void> {
  const config = parseConfig({
    model_type: "gpt2",
    vocab_size: alphabet.length,
    n_embd: 32,
    n_layer: 2,
    n_head: 2,
    n_positions: 32,
    bos_token_id: 0,
    eos_token_id: 0,
    pad_token_id: 0,
  });
  const policy = new ActorCritic(
    CausalLm.random(config, { seed }),
    ValueHead.random(config.hiddenSize, { seed }),
  );
  await savePolicy(dir, policy);
  policy.dispose();
  await Deno.writeTextFile(
    join(dir, "tokenizer.json"),
    JSON.stringify(tinyTokenizerJson(alphabet)),
  );
}

const TASK: Task = {
  id: "x-compiles/1",
  language: "python",
  prompt: "x =",
  reference: "x = 1",
  check: { kind: "compile" },
  meta: {},
};

/** The one-task benchmark: `x =` plus the completion must compile as Python. */
export const X_COMPILES: Benchmark = {
  name: "x-compiles",
  description: "Complete `x =` so that it compiles as Python (the trainer's learning test)",
  metric: "compile_rate",
  dataset: { name: "x-compiles", version: "1", files: [] },
  splits: ["train"],
  promptTemplate: "x-compiles-v1",
  completesPrompt: true,
  load: () => Promise.resolve(X_TASKS),
  prompt: (task: Task) => task.prompt,
  request: (_task: Task, code: string) => ({ language: "python", mode: "compile", code }),
  judge: (_task: Task, execution: Execution) => execution,
};

/** The loaded tasks of {@linkcode X_COMPILES}. */
export const X_TASKS: LoadedTasks = { tasks: [TASK], sha256: {}, source: "tests", split: "train" };

const FUNCTION_TASK: Task = {
  id: "f-completion/1",
  language: "python",
  prompt: "def f(x):\n    return",
  reference: "def f(x):\n    return x*2+1",
  check: { kind: "compile" },
  meta: {},
};

/**
 * A completion task in PPOCoder's shape: continue `def f(x):\n    return` (the reference returns
 * `x*2+1`); the program is prompt + completion, compiled as Python. `return` alone already
 * compiles, so a compile- or syntax-only reward is met by writing nothing: the reward hack.
 */
export const F_COMPLETION: Benchmark = {
  ...X_COMPILES,
  name: "f-completion",
  description: "Complete `def f(x): return` (reference `x*2+1`): the reward-hacking experiment",
  promptTemplate: "f-completion-v1",
  load: () => Promise.resolve(F_TASKS),
};

/** The loaded tasks of {@linkcode F_COMPLETION}. */
export const F_TASKS: LoadedTasks = {
  tasks: [FUNCTION_TASK],
  sha256: {},
  source: "tests",
  split: "train",
};
