#!/usr/bin/env bash
# Installs the real clients of SandboxFusion's API that tests/service/ drive the sandbox service
# with, into .ppocoder/service-clients/ (never committed):
#   - the `sandbox-fusion` PyPI client (SandboxFusion's own SDK), with its dependencies;
#   - verl's client module, verl/utils/reward_score/sandbox_fusion/utils.py, taken from PyPI's
#     `verl` wheel (downloaded without dependencies: the module needs only `requests`, which the
#     first package brings; importing the whole verl package would need torch).
# Safe to run again; prints the folder on success. Versions can be overridden by the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
SANDBOX_FUSION_VERSION="${SANDBOX_FUSION_VERSION:-0.3.7}"
VERL_VERSION="${VERL_VERSION:-0.9.1}"
dir=.ppocoder/service-clients
stamp="$dir/installed-$SANDBOX_FUSION_VERSION-$VERL_VERSION"
# Test files run in parallel and each may call this: one installs, the others wait for it.
mkdir -p .ppocoder
exec 9>.ppocoder/service-clients.lock
flock 9
if [ -f "$stamp" ]; then
  echo "$dir"
  exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/wheels"
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check "sandbox-fusion==$SANDBOX_FUSION_VERSION"
"$dir/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
  "verl==$VERL_VERSION" -d "$dir/wheels"
"$dir/venv/bin/python" - "$dir" <<'PY'
import glob, sys, zipfile
target = sys.argv[1]
wheel = glob.glob(f"{target}/wheels/verl-*.whl")[0]
member = "verl/utils/reward_score/sandbox_fusion/utils.py"
with zipfile.ZipFile(wheel) as archive, open(f"{target}/verl_sandbox_fusion.py", "wb") as out:
    out.write(archive.read(member))
PY
rm -rf "$dir/wheels"
touch "$stamp"
echo "$dir"
