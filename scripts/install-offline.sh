#!/usr/bin/env bash
# Install the runner on an air-gapped GPU machine from a wheelhouse (`make wheelhouse` on a
# connected machine), on top of the machine's own torch (and transformers, when the wheelhouse
# was built --without-transformers), then run the GPU tests.
#
#   scripts/install-offline.sh WHEELHOUSE [--venv DIR] [--python PY] [--no-tests]
#                              [--check-modules "mod ..."]
#
# - makes a virtual environment (default .venv-gpu) with --system-site-packages, so the
#   machine's torch, CUDA libraries, numpy, pandas and scikit-learn are used as they are;
# - installs WHEELHOUSE/requirements.txt with --no-index --no-deps: nothing is downloaded and
#   nothing the wheelhouse lacks is fetched behind your back;
# - makes this checkout importable in that environment (a .pth file, no build step) and adds a
#   `leaderboard` command to its bin/;
# - checks that every module the runner needs imports, and names the first that does not;
# - unless --no-tests: runs `pytest -m gpu` (the site and pipeline stacks are not needed:
#   their test modules are skipped at collection).
set -euo pipefail

usage() { echo "usage: $0 WHEELHOUSE [--venv DIR] [--python PY] [--no-tests] [--check-modules 'mod ...']" >&2; exit 2; }
[ $# -ge 1 ] || usage
wheelhouse=$1; shift
venv=.venv-gpu
python=python3
run_tests=1
modules="torch transformers tokenizers zeus.monitor hydra omegaconf pydantic jinja2 rich yaml runner.cli pytest"
while [ $# -gt 0 ]; do
  case $1 in
    --venv) venv=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --no-tests) run_tests=0; shift ;;
    --check-modules) modules=$2; shift 2 ;;
    *) usage ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "install-offline: $*" >&2; exit 1; }
[ -f "$wheelhouse/requirements.txt" ] || fail "$wheelhouse/requirements.txt not found (make it with 'make wheelhouse' on a connected machine)"

"$python" -m venv --system-site-packages "$venv" || fail "cannot create $venv with $python"
py="$venv/bin/python"
# Only the wheelhouse: no index, and no pip configuration that could add one.
export PIP_NO_INDEX=1 PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
log=$(mktemp)
if ! "$py" -m pip install -q --no-index --no-deps --find-links "$wheelhouse" \
    -r "$wheelhouse/requirements.txt" >"$log" 2>&1; then
  missing=$(grep -m1 -o "No matching distribution found for [^ ]*" "$log" || true)
  fail "pip could not install from $wheelhouse${missing:+: $missing} (full log: $log)"
fi
rm -f "$log"

# This checkout, importable without a build step (what an editable install does).
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$repo" > "$site/energy-leaderboard-checkout.pth"
cat > "$venv/bin/leaderboard" <<SHIM
#!/bin/sh
exec "$(cd "$venv" && pwd)/bin/python" -m runner.cli "\$@"
SHIM
chmod +x "$venv/bin/leaderboard"

for module in $modules; do
  if ! err=$("$py" -c "import $module" 2>&1); then
    why=$(printf '%s\n' "$err" | grep -E "Error" | tail -n 1)
    fail "module $module does not import in $venv: ${why:-$err} (neither the machine nor the wheelhouse provides it: rebuild the wheelhouse with it, e.g. --provided without it)"
  fi
done
"$py" - <<'PY'
import importlib
for name in ("torch", "transformers", "zeus"):
    try:
        version = importlib.import_module(name).__version__
    except Exception as error:  # noqa: BLE001 (a report line, not a failure)
        version = f"not importable ({type(error).__name__})"
    print(f"{name} {version}")
try:
    import torch

    print(f"cuda available: {torch.cuda.is_available()}")
except ImportError:
    pass
PY
echo "install-offline: ready: $venv (leaderboard: $venv/bin/leaderboard)"

if [ "$run_tests" = 1 ]; then
  cd "$repo"
  "$py" -m pytest -q -m gpu tests
fi
