/**
 * HumanEval+ (EvalPlus, Liu et al., NeurIPS 2023): HumanEval's 164 problems with their original
 * tests (base) and on average 750 more inputs each (plus), the expected outputs being what the
 * canonical solution returns. The published `HumanEvalPlus.jsonl.gz` v0.1.10; one split, `test`.
 * Task ids keep EvalPlus's (`humanevalplus/HumanEval/0`), so EvalPlus samples files
 * (`{"task_id": "HumanEval/0", "solution" | "completion"}`) are read as they are.
 *
 * How a sample is judged is EvalPlus's (see `_evalplus.ts`); the one special oracle here is
 * HumanEval/32's: `find_zero` passes when the polynomial at its output is within `atol` of 0.
 *
 * @module
 */

import { evalPlusBenchmark } from "./_evalplus.ts";
import type { Benchmark } from "./benchmark.ts";

/** HumanEval+ as a {@linkcode Benchmark}. */
export const humanevalplus: Benchmark = evalPlusBenchmark({
  name: "humanevalplus",
  evalplus: "humaneval",
  description:
    "HumanEval+ (EvalPlus, Liu et al., 2023): HumanEval's 164 functions on its base tests and 80x more (plus), outputs compared with the canonical solution's",
  dataset: {
    name: "humanevalplus",
    version: "evalplus/humanevalplus_release v0.1.10 (200defce)",
    files: [
      {
        name: "HumanEvalPlus-v0.1.10.jsonl.gz",
        sha256: "272720b90ac375502c8ed23cd791c2a93dfb22a911641a494da74a426c09f101",
        url:
          "https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz",
      },
    ],
  },
  promptTemplate: "humanevalplus-completion-v1",
  oracles: { find_zero: "poly_root" },
  inputKinds: {},
});
