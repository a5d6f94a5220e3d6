#!/usr/bin/env bash
# The whole GPU proof in one command, for one short loan of a GPU machine (an H200 or an H100):
# it must fit one device run of at most 10 minutes, start-up included.
#
#   WHEELHOUSE=wheelhouse benchmarks/gpu_proof.sh OUT   # on the GPU machine
#   benchmarks/gpu_proof.sh OUT                         # when .venv-gpu is installed already
#   benchmarks/gpu_proof.sh --smoke OUT                 # the same steps on CPU, tiny model
#
# Every step has a time budget (seconds, below; `BUDGET_SCALE` multiplies them, 4 in smoke mode
# on a shared CPU); a step still running at its budget is stopped with one line saying so, and
# the next step runs. The budgets add up to 545 s on one GPU (the tensor-parallel step returns at
# once there), so the proof ends within 10 minutes whatever happens (a step that ignores the stop
# is killed 2 s later: at worst 573 s; 40 s more on a machine of 2+ GPUs). Each step's time is
# printed as it ends and listed in OUT/SUMMARY.md.
#
#   step             budget  what it writes under OUT
#   versions             10  versions.txt: Python, torch (+CUDA), transformers, zeus, ..., git commit
#   nvidia-smi           10  nvidia-smi.txt: GPU, driver, memory, power limit, clocks
#   install              40  install.txt: scripts/install-offline.sh WHEELHOUSE --no-tests (no
#                            second test run; skipped, saying so, without WHEELHOUSE)
#   gpu-tests            80  gpu-tests.txt/.xml: pytest -m gpu on tests/measure/test_gpu.py only
#   calibrate            35  calibrate.txt: leaderboard calibrate (into OUT/results/calibration/)
#   decode-floor         90  decode_floor.md: the 1.24 B shape, eager and graph at batch 1 and 8,
#                            one compiled point (batch 8), each looped to a 3 s window, against
#                            the floor measured on this GPU
#   overhead             30  overhead.md: the timing machinery's overhead, eager and graph (no
#                            compile)
#   meter-agreement      30  meter_agreement.md: Zeus' counter vs the PowerMonitor step integral
#                            on 1, 5 and 10 s windows
#   token-check          70  token_check.md: bf16, the first 32 greedy tokens of graph and
#                            compiled against eager's, on the 1.24 B shape
#   run                  50  run.txt + a record: static batches of 8, graph, chat, 128 tokens, a
#                            window of at least 10 s (the GPU window rule); eager is in the floor
#   serving              35  serving.txt + a record: one request rate (8 req/s), 3 s warm-up,
#                            10 s window, 5 s drain
#   steady               55  steady.txt + a record: scenario=steady at batch cap 32 (N grows
#                            until the window lasts 10 s)
#   tensor-parallel      40  tensor_parallel.txt + a record, on a machine with 2+ GPUs only: the
#                            run step's point on 2 GPUs (parallel.tensor=2, NCCL, one meter
#                            window over both GPUs); skipped at once, saying so, on one GPU and
#                            in --smoke (its CPU path is tests/measure/test_tensor_parallel.py)
#   validate             10  validate.txt: leaderboard validate on OUT/results
#
# GPU_PROOF_STEPS="token-check steady" runs only the steps named (a rerun of failed steps on a
# short loan). A failing step is recorded and the next one runs; the exit code is 1 if any failed.
# PY picks the interpreter (default: .venv-gpu/bin/python, else .venv/bin/python, else python3).
set -uo pipefail

smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--smoke] OUT" >&2; exit 2; }
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 2

py_given=${PY:-}
pick_python() {
  if [ -n "$py_given" ]; then PY=$py_given; return; fi
  PY=python3
  for candidate in .venv-gpu/bin/python .venv/bin/python; do
    if [ -x "$candidate" ]; then PY=$candidate; return; fi
  done
}
pick_python
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
task=chat

if [ "$smoke" = 1 ]; then
  export LEADERBOARD_CACHE=${LEADERBOARD_CACHE:-$out/.cache}
  # A check of the script, not a measurement: one thread per process runs the 210 k-parameter
  # model fastest on a shared CPU (measured here: a 16-point sweep 11 s with 1 thread, 25 s with 2).
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  scale=${BUDGET_SCALE:-4}
  device=cpu; dtype=float32; shape=tiny-random
  calibrate=(--device cpu --dtype float32 --size small)
  # No compiled point here: the token check below compiles the same loop (one compile, not two).
  floor=(--models tiny-random --batch-sizes 1 --backends eager graph --new-tokens 8
         --prompt-tokens 32 --window-s 0.3 --device cpu --dtype float32 --copy-mb 64)
  overhead=(--model tiny-random --device cpu --dtype float32 --batch-size 2 --new-tokens 8
            --pairs 2 --backends eager graph)
  meter=(--windows 0.2 0.5 1 --device cpu)
  tokens=(--model tiny-random --device cpu --dtype bfloat16 --tokens 32 --prompt-tokens 64)
  run=(model=tiny-random model.dtype=float32 backend.device=cpu num_prompts=8
       task.max_new_tokens=8 min_window_s=0.2 idle_seconds=0.1 idle_settle_s=0.1)
  serving=(model=tiny-random model.dtype=float32 backend.device=cpu task.max_new_tokens=8
           idle_seconds=0.1 idle_settle_s=0.1 scenario.request_rate=16 scenario.warmup_s=1
           scenario.duration_s=2 scenario.drain_timeout_s=1)
  steady=(model=tiny-random model.dtype=float32 backend.device=cpu task.max_new_tokens=8
          idle_seconds=0.1 idle_settle_s=0.1 scenario.max_num_seqs=8 scenario.num_requests=64
          min_window_s=0.5)
else
  scale=${BUDGET_SCALE:-1}
  device=cuda; dtype=bfloat16; shape=random__Llama-3.2-1B
  calibrate=(--device cuda --dtype bfloat16 --size standard)
  floor=(--models "$shape" --batch-sizes 1 8 --compiled-batch-sizes 8 --new-tokens 128
         --prompt-tokens 128 --window-s 3 --device cuda --dtype bfloat16)
  overhead=(--model random__Qwen2.5-0.5B --device cuda --dtype bfloat16 --batch-size 8
            --new-tokens 64 --pairs 5 --backends eager graph)
  meter=(--windows 1 5 10 --device cuda)
  tokens=(--model "$shape" --device cuda --dtype bfloat16 --tokens 32 --prompt-tokens 64)
  run=(model="$shape" model.dtype=bfloat16 backend.device=cuda num_prompts=16
       task.max_new_tokens=128 min_window_s=10 idle_seconds=2 idle_settle_s=2)
  serving=(model=random__Qwen2.5-0.5B model.dtype=bfloat16 backend.device=cuda
           task.max_new_tokens=128 idle_seconds=2 idle_settle_s=2 scenario.request_rate=8
           scenario.warmup_s=3 scenario.duration_s=10 scenario.drain_timeout_s=5)
  steady=(model="$shape" model.dtype=bfloat16 backend.device=cuda task.max_new_tokens=128
          task.sampling.fixed_output_length=true idle_seconds=2 idle_settle_s=2
          scenario.max_num_seqs=32 scenario.num_requests=128 min_window_s=10)
fi

mkdir -p "$out/logs"
summary="$out/SUMMARY.md"
started_all=$SECONDS
{
  echo "# GPU proof ($([ "$smoke" = 1 ] && echo "smoke, CPU" || echo "GPU"))"
  echo
  echo "started $(date -u +%Y-%m-%dT%H:%M:%SZ), interpreter $PY, device $device, dtype $dtype,"
  echo "budgets x$scale"
  echo
  echo "| step | exit | seconds | budget s | output |"
  echo "|---|---|---|---|---|"
} > "$summary"
failed=0

# step NAME BUDGET OUTPUT-FILE COMMAND...: run under the budget (x scale), log stdout+stderr to
# logs/NAME.log, copy it to OUTPUT-FILE unless the step wrote that itself, record the result.
step() {
  local name=$1 budget=$(( $2 * scale )) file=$3; shift 3
  if [ -n "${GPU_PROOF_STEPS:-}" ] && [[ " $GPU_PROOF_STEPS " != *" $name "* ]]; then
    return 0
  fi
  local started=$SECONDS
  echo "== $name (budget $budget s): $*" >&2
  if declare -F "$1" > /dev/null; then  # a function of this script: run it in a child bash
    timeout --kill-after=2 "$budget" bash -c '"$@"' step "$@" > "$out/logs/$name.log" 2>&1
  else
    timeout --kill-after=2 "$budget" "$@" > "$out/logs/$name.log" 2>&1
  fi
  local code=$?
  local took=$((SECONDS - started)) shown=$code
  if [ "$code" = 124 ] || [ "$code" = 137 ]; then
    shown="$code (stopped: over its budget of $budget s)"
    echo "== $name: STOPPED after $took s: over its budget of $budget s" >&2
    echo "stopped by gpu_proof.sh: over its budget of $budget s" >> "$out/logs/$name.log"
  fi
  if [ -n "$file" ] && [ ! -e "$out/$file" ]; then cp "$out/logs/$name.log" "$out/$file"; fi
  [ "$code" = 0 ] || failed=$((failed + 1))
  echo "| $name | $shown | $took | $budget | ${file:-logs/$name.log} |" >> "$summary"
  echo "== $name: exit $code in $took s (total $((SECONDS - started_all)) s)" >&2
}

versions() {
  "$PY" - <<'PY'
import importlib, platform, sys
print(f"python {sys.version.split()[0]} ({platform.platform()})")
for name in ("torch", "transformers", "tokenizers", "zeus", "pydantic", "hydra", "omegaconf"):
    try:
        print(f"{name} {importlib.import_module(name).__version__}")
    except Exception as error:
        print(f"{name} not importable ({type(error).__name__}: {error})")
import torch
print(f"torch cuda {torch.version.cuda}; cuda available: {torch.cuda.is_available()}")
if torch.cuda.is_available():
    print(f"gpu {torch.cuda.get_device_name(0)}; capability {torch.cuda.get_device_capability(0)}")
PY
  echo "git $(git rev-parse HEAD 2>/dev/null) dirty=$([ -n "$(git status --porcelain 2>/dev/null)" ] && echo yes || echo no)"
}

gpu_facts() {
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit,clocks.max.sm,clocks.max.mem,pcie.link.gen.max --format=csv
    echo
    nvidia-smi
  else
    echo "no nvidia-smi on this machine"
  fi
}

# The offline install without its own test run (the proof runs the GPU tests once, next step).
install() {
  if [ "$smoke" = 1 ]; then
    # The script under test with an empty wheelhouse into a throwaway venv: its flags and checks
    # run; the proof itself goes on with the interpreter it has.
    local base
    base=$("$PY" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')
    mkdir -p "$out/wheelhouse" && : > "$out/wheelhouse/requirements.txt"
    bash scripts/install-offline.sh "$out/wheelhouse" --venv "$out/venv-smoke" \
      --python "$base" --no-tests --check-modules "runner.errors"
  elif [ -n "${WHEELHOUSE:-}" ]; then
    bash scripts/install-offline.sh "$WHEELHOUSE" --no-tests
  else
    echo "skipped: no WHEELHOUSE given; the proof uses $PY as it is"
  fi
}

lb() { "$PY" -m runner.cli "$@"; }

# A 2-GPU tensor-parallel point (issue 25) where the machine has two GPUs; arguments: the run's
# overrides.
tensor_parallel() {
  local gpus=0
  if [ "$smoke" = 0 ]; then
    gpus=$("$PY" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
  fi
  if [ "$gpus" -lt 2 ]; then
    echo "skipped: $gpus GPU(s) visible$([ "$smoke" = 1 ] && echo " (smoke run)"); needs 2"
    return 0
  fi
  lb run --no-progress "$@"
}
export -f versions gpu_facts install lb tensor_parallel
export PY smoke out

step versions 10 versions.txt versions
step nvidia-smi 10 nvidia-smi.txt gpu_facts
step install 40 install.txt install
pick_python  # a fresh .venv-gpu from the install step is used from here on
export PY
step gpu-tests 80 gpu-tests.txt "$PY" -m pytest -q -m gpu tests/measure/test_gpu.py \
  -p no:cacheprovider --junitxml "$out/gpu-tests.xml"
step calibrate 35 calibrate.txt lb calibrate --results "$out/results" "${calibrate[@]}"
step decode-floor 90 decode_floor.md "$PY" benchmarks/decode_floor.py "${floor[@]}" \
  --out "$out/decode_floor.md"
step overhead 30 overhead.md "$PY" benchmarks/runner_overhead.py "${overhead[@]}" \
  --out "$out/overhead.md"
step meter-agreement 30 meter_agreement.md "$PY" benchmarks/meter_agreement.py "${meter[@]}" \
  --out "$out/meter_agreement.md"
step token-check 70 token_check.md "$PY" benchmarks/token_check.py "${tokens[@]}" \
  --out "$out/token_check.md"
step run 50 run.txt lb run --no-progress "${run[@]}" "task=$task" batch_size=8 \
  backend=graph task.sampling.fixed_output_length=true repeats=1 warmup_batches=1 \
  "results_dir=$out/results"
step serving 35 serving.txt lb run --no-progress scenario=serving "${serving[@]}" \
  "task=$task" "results_dir=$out/results"
step steady 55 steady.txt lb run --no-progress scenario=steady "${steady[@]}" "task=$task" \
  "results_dir=$out/results"
step tensor-parallel 40 tensor_parallel.txt tensor_parallel "${run[@]}" "task=$task" \
  batch_size=8 backend=eager task.sampling.fixed_output_length=true repeats=1 warmup_batches=1 \
  parallel.tensor=2 "results_dir=$out/results"
step validate 10 validate.txt lb validate --results "$out/results"

{
  echo
  echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ) after $((SECONDS - started_all)) s; $failed step(s) failed"
} >> "$summary"
cat "$summary"
[ "$failed" = 0 ]
