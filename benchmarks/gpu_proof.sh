#!/usr/bin/env bash
# The whole GPU proof in one command, for one short loan of a GPU machine.
#
#   benchmarks/gpu_proof.sh OUT            # on the GPU machine (after scripts/install-offline.sh)
#   benchmarks/gpu_proof.sh --smoke OUT    # the same steps on CPU with the tiny model (< 3 min)
#
# Everything is written under OUT:
#   versions.txt       Python, torch (+CUDA), transformers, zeus, pydantic, hydra, git commit
#   nvidia-smi.txt     GPU, driver, memory, power limit, clocks (or why there is none)
#   gpu-tests.txt/.xml pytest -m gpu
#   calibrate.txt      leaderboard calibrate (the record goes to OUT/results/calibration/)
#   decode_floor.md    ms/step vs the bandwidth floor: 1.24 B and 0.5 B random-init shapes,
#                      eager / compiled / graph, batch 1 and 8, each point looped to a window
#   overhead.md        the timing machinery's overhead per backend (bare / clocked / sync clock)
#   meter_agreement.md Zeus' counter vs the PowerMonitor power integral on 1, 5 and 15 s windows
#   serving.txt        a serving sweep (scenario=serving) of one shape at two request rates
#   tensor_parallel.txt  on a machine with 2+ GPUs: the same shape tensor-parallel on 2 GPUs
#                      (parallel.tensor=2, NCCL, one meter window over both GPUs) into results/;
#                      skipped (and said so) with fewer GPUs and in --smoke
#   results/           real records of `leaderboard run -m`: one shape, four tasks, batch 1 and 8,
#                      eager and graph, fixed output length (+ run.txt, validate.txt)
#   SUMMARY.md         each step, its exit code and its time; logs/ has each step's output
#
# A failing step is recorded and the next one runs; the exit code is 1 if any step failed.
# PY picks the interpreter (default: .venv-gpu/bin/python, else .venv/bin/python, else python3).
set -uo pipefail

smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--smoke] OUT" >&2; exit 2; }
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 2

if [ -z "${PY:-}" ]; then
  for candidate in .venv-gpu/bin/python .venv/bin/python; do
    if [ -x "$candidate" ]; then PY=$candidate; break; fi
  done
  PY=${PY:-python3}
fi
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
lb=("$PY" -m runner.cli)
tasks=chat,chat-concise,instruct,instruct-concise

if [ "$smoke" = 1 ]; then
  export LEADERBOARD_CACHE=${LEADERBOARD_CACHE:-$out/.cache}
  # A check of the script, not a measurement: one thread per process runs the 210 k-parameter
  # model fastest on a shared CPU (measured here: a 16-point sweep 11 s with 1 thread, 25 s with 2).
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  device=cpu; dtype=float32
  calibrate=(--device cpu --dtype float32 --size small)
  floor=(--models tiny-random --batch-sizes 1 --new-tokens 8 --prompt-tokens 32 --window-s 0.3
         --device cpu --dtype float32 --copy-mb 64)
  overhead=(--model tiny-random --device cpu --dtype float32 --batch-size 2 --new-tokens 8
            --pairs 2 --backends eager graph)
  meter=(--windows 0.2 0.5 1 --device cpu)
  run=(model=tiny-random model.dtype=float32 backend.device=cpu num_prompts=8
       task.max_new_tokens=8 min_window_s=0.2 idle_seconds=0.1)
  serving=(model=tiny-random model.dtype=float32 backend.device=cpu task.max_new_tokens=8
           idle_seconds=0.1 scenario.request_rate=4,16 scenario.warmup_s=1
           scenario.duration_s=3)
else
  device=cuda; dtype=bfloat16
  calibrate=(--device cuda --dtype bfloat16 --size standard)
  floor=(--models random__Llama-3.2-1B random__Qwen2.5-0.5B --batch-sizes 1 8 --new-tokens 128
         --prompt-tokens 128 --window-s 3 --device cuda --dtype bfloat16)
  overhead=(--model random__Qwen2.5-0.5B --device cuda --dtype bfloat16 --batch-size 8
            --new-tokens 64 --pairs 5)
  meter=(--windows 1 5 15 --device cuda)
  run=(model=random__Llama-3.2-1B model.dtype=bfloat16 backend.device=cuda num_prompts=8
       task.max_new_tokens=128 min_window_s=3 idle_seconds=2)
  serving=(model=random__Qwen2.5-0.5B model.dtype=bfloat16 backend.device=cuda
           task.max_new_tokens=128 idle_seconds=2 scenario.request_rate=4,16
           scenario.warmup_s=5 scenario.duration_s=60)
fi

mkdir -p "$out/logs"
summary="$out/SUMMARY.md"
{
  echo "# GPU proof ($([ "$smoke" = 1 ] && echo "smoke, CPU" || echo "GPU"))"
  echo
  echo "started $(date -u +%Y-%m-%dT%H:%M:%SZ), interpreter $PY, device $device, dtype $dtype"
  echo
  echo "| step | exit | seconds | output |"
  echo "|---|---|---|---|"
} > "$summary"
failed=0

# step NAME OUTPUT-FILE COMMAND...: run, tee stdout+stderr to logs/NAME.log, record the result.
step() {
  local name=$1 file=$2; shift 2
  local started=$SECONDS
  echo "== $name: $*" >&2
  "$@" > "$out/logs/$name.log" 2>&1
  local code=$?
  if [ -n "$file" ] && [ ! -e "$out/$file" ]; then cp "$out/logs/$name.log" "$out/$file"; fi
  [ "$code" = 0 ] || failed=$((failed + 1))
  echo "| $name | $code | $((SECONDS - started)) | ${file:-logs/$name.log} |" >> "$summary"
  echo "== $name: exit $code in $((SECONDS - started)) s" >&2
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

step versions versions.txt versions
step nvidia-smi nvidia-smi.txt gpu_facts
step gpu-tests gpu-tests.txt "$PY" -m pytest -q -m gpu tests -p no:cacheprovider \
  --junitxml "$out/gpu-tests.xml"
step calibrate calibrate.txt "${lb[@]}" calibrate --results "$out/results" "${calibrate[@]}"
step decode-floor decode_floor.md "$PY" benchmarks/decode_floor.py "${floor[@]}" \
  --out "$out/decode_floor.md"
step overhead overhead.md "$PY" benchmarks/runner_overhead.py "${overhead[@]}" \
  --out "$out/overhead.md"
step meter-agreement meter_agreement.md "$PY" benchmarks/meter_agreement.py "${meter[@]}" \
  --out "$out/meter_agreement.md"
step run run.txt "${lb[@]}" run -m --no-progress "${run[@]}" "task=$tasks" batch_size=1,8 \
  backend=eager,graph task.sampling.fixed_output_length=true repeats=1 warmup_batches=1 \
  "results_dir=$out/results"
# A short serving sweep of one shape (issue 16): energy per request and SLO attainment at two
# request rates, continuous batching, into the same results folder.
step serving serving.txt "${lb[@]}" run -m --no-progress scenario=serving "${serving[@]}" \
  task=chat "results_dir=$out/results"
# A 2-GPU tensor-parallel point (issue 25) where the machine has two GPUs: one record whose
# energy is both GPUs' in one window, beside the 1-GPU records of the same shape.
gpus=0
if [ "$smoke" = 0 ]; then
  gpus=$("$PY" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
fi
if [ "$gpus" -ge 2 ]; then
  step tensor-parallel tensor_parallel.txt "${lb[@]}" run --no-progress "${run[@]}" task=chat \
    batch_size=8 backend=eager task.sampling.fixed_output_length=true repeats=1 \
    warmup_batches=1 parallel.tensor=2 "results_dir=$out/results"
else
  echo "| tensor-parallel | skipped | 0 | $gpus GPU(s) visible$([ "$smoke" = 1 ] && echo ", smoke run") |" \
    >> "$summary"
fi
step validate validate.txt "${lb[@]}" validate --results "$out/results"

{
  echo
  echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ); $failed step(s) failed"
} >> "$summary"
cat "$summary"
[ "$failed" = 0 ]
