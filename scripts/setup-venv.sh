#!/usr/bin/env sh
# Create or update a virtual environment for this project, idempotently.
#
#   sh scripts/setup-venv.sh [--summary] VENV
#
# The full install (default): torch first from constraints.txt (an unpinned torch pulls a
# multi-GB CUDA build), then this project editable with its dev extras. `--summary`: only what
# the workflow jobs that plan, summarise and comment need (no torch): the project without its
# dependencies, plus pydantic, PyYAML, OmegaConf and DVC.
#
# The venv may live outside the checkout (a self-hosted runner keeps $RUNNER_TOOL_CACHE between
# jobs). It is reinstalled only when the content of pyproject.toml or constraints.txt, the
# Python version or the kind of install changed: the stamp holds their hash, not a time.
set -eu
kind=full
if [ "${1:-}" = "--summary" ]; then kind=summary; shift; fi
venv="${1:?usage: setup-venv.sh [--summary] VENV}"
python="${PY:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
stamp="$venv/.installed"
want="$kind $("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') $(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
have="$(cat "$stamp" 2>/dev/null || true)"
# A full install has everything a summary install has.
if [ -x "$venv/bin/python" ] && { [ "$have" = "$want" ] || [ "$have" = "full ${want#summary }" ]; }; then
  echo "setup: $venv is up to date ($kind)"
  exit 0
fi
test -x "$venv/bin/python" || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
if [ "$kind" = summary ]; then
  "$venv/bin/python" -m pip install -q -c constraints.txt pydantic pyyaml omegaconf dvc
  "$venv/bin/python" -m pip install -q --no-deps -e .
else
  "$venv/bin/python" -m pip install -q -c constraints.txt torch==2.13.0
  "$venv/bin/python" -m pip install -q -c constraints.txt -e '.[dev]'
fi
echo "$want" > "$stamp"
echo "setup: $venv installed ($kind)"
