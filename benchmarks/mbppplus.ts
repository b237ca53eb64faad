/**
 * MBPP+ (EvalPlus, Liu et al., NeurIPS 2023): 378 of the sanitized MBPP problems, re-checked,
 * with their original tests (base) and on average 105 more inputs each (plus), the expected
 * outputs being what the canonical solution returns. The published `MbppPlus.jsonl.gz` v0.2.0;
 * one split, `test`. Task ids keep EvalPlus's (`mbppplus/Mbpp/2`).
 *
 * How a sample is judged is EvalPlus's (see `_evalplus.ts`). MBPP+'s quirks, as data below: the
 * special oracles EvalPlus keys by entry point (`eval/_special_oracle.py` and `unsafe_execute`),
 * and the inputs it turns back from JSON into tuples, sets and complex numbers by task number
 * (`mbpp_deserialize_inputs` in `data/mbpp.py`), without which the expected outputs differ.
 *
 * @module
 */

import { evalPlusBenchmark, type EvalPlusInputKind, type EvalPlusOracle } from "./_evalplus.ts";
import type { Benchmark } from "./benchmark.ts";

/** Special oracles by entry point. */
const ORACLES: Readonly<Record<string, EvalPlusOracle>> = {
  are_equivalent: "always", // Mbpp/164: any output passes
  sum_div: "zero_or_equal", // Mbpp/295: 0 passes too
  surface_Area: "surface_area", // Mbpp/581: the slant-height reading of the pyramid passes too
  digit_distance_nums: "digit_distance", // Mbpp/558: zero-padded digits pass too
  // Outputs compared as sets (MBPP_OUTPUT_SET_EQ_TASKS).
  similar_elements: "set_equal", // Mbpp/2
  find_char_long: "set_equal", // Mbpp/7
  common_in_nested_lists: "set_equal", // Mbpp/111
  extract_singly: "set_equal", // Mbpp/140
  larg_nnum: "set_equal", // Mbpp/232
  intersection_array: "set_equal", // Mbpp/249
  find_dissimilar: "set_equal", // Mbpp/579
  Diff: "set_equal", // Mbpp/769
  // Only whether the output is None counts (MBPP_OUTPUT_NOT_NONE_TASKS).
  check_str: "not_none",
  text_match_three: "not_none",
  text_starta_endb: "not_none",
};

/** Task numbers whose JSON inputs EvalPlus converts, by kind of conversion. */
const INPUT_KINDS: Readonly<Record<EvalPlusInputKind, readonly number[]>> = {
  tuple_args: [
    2,
    116,
    132,
    143,
    222,
    261,
    273,
    394,
    399,
    421,
    424,
    429,
    470,
    560,
    579,
    596,
    616,
    630,
    726,
    740,
    744,
    809,
  ],
  tuple_items: [63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780],
  first_tuple_items: [75, 413, 444, 753],
  second_tuple: [106, 750],
  sets: [115],
  float_complex: [124],
  first_tuple: [250, 405, 446, 617, 720, 763, 808],
  tuple_items_tuple: [259, 401, 445],
  mixed_tuple: [278],
  first_tuple_rest: [307],
  dict_tuples: [722],
  complex: [252],
  deep_tuple: [580, 615, 791],
};

/** MBPP+ as a {@linkcode Benchmark}. */
export const mbppplus: Benchmark = evalPlusBenchmark({
  name: "mbppplus",
  evalplus: "mbpp",
  description:
    "MBPP+ (EvalPlus, Liu et al., 2023): 378 MBPP functions on their base tests and 35x more (plus), outputs compared with the canonical solution's",
  dataset: {
    name: "mbppplus",
    version: "evalplus/mbppplus_release v0.2.0 (64fc4195)",
    files: [
      {
        name: "MbppPlus-v0.2.0.jsonl.gz",
        sha256: "af43697e8791c4c149bdfd6b489d8b5412507551ac20e28a439f650b8225db63",
        url:
          "https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz",
      },
    ],
  },
  promptTemplate: "mbppplus-completion-v1",
  oracles: ORACLES,
  inputKinds: Object.fromEntries(
    Object.entries(INPUT_KINDS).flatMap(([kind, ids]) =>
      ids.map((id) => [id, kind as EvalPlusInputKind])
    ),
  ),
});
