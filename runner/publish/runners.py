"""The GPU runner registry (`conf/runners.yaml`): the workflow matrix and each job's checks.

Every self-hosted runner label has one entry: which device it must have (`cuda` needs `gpus`
usable CUDA devices, default 1, each one's name matching `gpu_name` as whole words: "H200" is not
"GH200"), whether its leg also runs the accuracy suite, and its runner-side settings (batch
sizes, prompts, extra Hydra overrides). The benchmark workflow makes its matrix from the enabled
entries (`leaderboard runner-matrix`), and each job checks the machine against its entry before
it benchmarks anything (`leaderboard runner-check`), so an "h100" job that landed on a CPU, on a
machine whose driver is too old for its torch, or with fewer GPUs than its entry says, fails in
one line instead of filing CPU records as GPU ones.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import ConfigError, UserError
from runner.publish.pipeline import read_yaml
from runner.records.layout import check_safe_name

REGISTRY_FILE = "conf/runners.yaml"
SETTING_KEYS = ("batch_sizes", "num_prompts", "repeats", "warmup_batches", "idle_seconds")
ENTRY_KEYS = {
    "enabled",
    "device",
    "gpu_name",
    "gpus",
    "accuracy",
    "overrides",
    "eval_overrides",
    *SETTING_KEYS,
}


@dataclass(frozen=True)
class RunnerEntry:
    """One runner label's entry.

    Attributes:
        label: the runner label (`runs-on: [self-hosted, gpu, <label>]`).
        enabled: part of the benchmark matrix.
        device: `cuda` (a usable CUDA device is required) or `cpu`.
        gpu_name: for `cuda`, a pattern (a regular expression, case-insensitive) that the
            name of every visible GPU the leg uses must contain as whole words
            (`gpu_name_matches`).
        accuracy: this leg also runs the accuracy suite.
        settings: runner-side values of params.yaml `benchmark:` keys.
        overrides: extra Hydra overrides for every run on this runner.
        eval_overrides: extra Hydra overrides for the accuracy suite on this runner.
        gpus: GPUs of the machine a leg may use (a model that needs N runs tensor-parallel on
            N of them, `runner.publish.leg`); 1 for a CPU runner.
    """

    label: str
    enabled: bool
    device: str
    gpu_name: str | None
    accuracy: bool
    settings: dict[str, Any] = field(default_factory=dict)
    overrides: tuple[str, ...] = ()
    eval_overrides: tuple[str, ...] = ()
    gpus: int = 1


def gpu_name_pattern(gpu_name: str) -> re.Pattern[str]:
    """`gpu_name` as a case-insensitive pattern bounded by non-alphanumerics on both sides.

    Raises:
        re.error: `gpu_name` is not a valid regular expression.
    """
    return re.compile(rf"(?<![A-Za-z0-9])(?:{gpu_name})(?![A-Za-z0-9])", re.IGNORECASE)


def gpu_name_matches(gpu_name: str, device_name: str) -> bool:
    """Whether `device_name` holds `gpu_name` as whole words.

    "H100" matches "NVIDIA H100 80GB HBM3" and "NVIDIA H100 NVL" (both H100s), not
    "NVIDIA H200" or "NVIDIA GH200 480GB"; "H100 NVL" matches only the NVL part.
    """
    return gpu_name_pattern(gpu_name).search(device_name) is not None


def _field(path: Path, label: str, key: str) -> str:
    return f"{path}: runners.{label}.{key}"


def load_registry(repo: Path) -> dict[str, RunnerEntry]:
    """Every entry of `conf/runners.yaml`, validated.

    Raises:
        ConfigError: one line naming the file, the field and what was expected.
    """
    path = repo / REGISTRY_FILE
    data = read_yaml(path, "the GPU runner registry")
    runners = data.get("runners") if isinstance(data, dict) else None
    if not isinstance(runners, dict) or not runners:
        raise ConfigError(f"{path}: runners: expected a mapping of runner label -> entry")
    entries: dict[str, RunnerEntry] = {}
    for label, raw in runners.items():
        check_safe_name(f"{path}: runners label", label)
        entries[label] = _entry(path, label, raw)
    enabled_accuracy = [e.label for e in entries.values() if e.enabled and e.accuracy]
    if any(e.enabled for e in entries.values()) and len(enabled_accuracy) != 1:
        raise ConfigError(
            f"{path}: runners: expected exactly one enabled entry with accuracy: true "
            f"(accuracy is measured once per model), got {enabled_accuracy or 'none'}"
        )
    return entries


def _entry(path: Path, label: str, raw: Any) -> RunnerEntry:
    if not isinstance(raw, dict):
        raise ConfigError(f"{_field(path, label, '')[:-1]}: expected a mapping")
    unknown = sorted(set(raw) - ENTRY_KEYS)
    if unknown:
        raise ConfigError(
            f"{_field(path, label, unknown[0])}: unknown key "
            f"(expected one of {', '.join(sorted(ENTRY_KEYS))})"
        )
    for key in ("enabled", "accuracy"):
        if not isinstance(raw.get(key, False), bool):
            raise ConfigError(f"{_field(path, label, key)}: expected true or false")
    device = raw.get("device")
    if device not in ("cuda", "cpu"):
        raise ConfigError(f"{_field(path, label, 'device')}: expected cuda or cpu, got {device!r}")
    gpu_name = raw.get("gpu_name")
    if device == "cuda" and (not isinstance(gpu_name, str) or not gpu_name.strip()):
        raise ConfigError(
            f"{_field(path, label, 'gpu_name')}: expected a part of the GPU's name "
            "(e.g. 'H100') for a cuda runner"
        )
    if device == "cuda":
        try:
            gpu_name_pattern(gpu_name)
        except re.error as error:
            raise ConfigError(
                f"{_field(path, label, 'gpu_name')}: expected a regular expression ({error})"
            ) from None
    gpus = raw.get("gpus", 1)
    if isinstance(gpus, bool) or not isinstance(gpus, int) or not 1 <= gpus <= 64:
        raise ConfigError(f"{_field(path, label, 'gpus')}: expected a GPU count from 1 to 64")
    if device == "cpu" and gpus != 1:
        raise ConfigError(f"{_field(path, label, 'gpus')}: expected 1 (or none) for a cpu runner")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("overrides", "eval_overrides"):
        values = raw.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{_field(path, label, key)}: expected a list of strings")
        if any(v.split("=", 1)[0].lstrip("+~") == "backend.device" for v in values):
            raise ConfigError(
                f"{_field(path, label, key)}: backend.device comes from `device:`, not overrides"
            )
        lists[key] = tuple(values)
    settings = {key: raw[key] for key in SETTING_KEYS if key in raw}
    for key, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ConfigError(f"{_field(path, label, key)}: expected a number or a comma list")
    return RunnerEntry(
        label=label,
        enabled=bool(raw.get("enabled", False)),
        device=device,
        gpu_name=gpu_name if device == "cuda" else None,
        accuracy=bool(raw.get("accuracy", False)),
        settings=settings,
        overrides=lists["overrides"],
        eval_overrides=lists["eval_overrides"],
        gpus=gpus,
    )


def entry_for(repo: Path, label: str) -> RunnerEntry:
    """The registry entry of `label`.

    Raises:
        ConfigError: the label has no entry.
    """
    registry = load_registry(repo)
    if label not in registry:
        raise ConfigError(
            f"{repo / REGISTRY_FILE}: no entry for runner label {label!r} "
            f"(known: {', '.join(sorted(registry))})"
        )
    return registry[label]


def matrix(repo: Path) -> dict[str, list[dict[str, Any]]]:
    """The benchmark workflow's matrix: one `{label, accuracy}` per enabled entry.

    Raises:
        ConfigError: the registry is invalid or no entry is enabled.
    """
    enabled = [e for e in load_registry(repo).values() if e.enabled]
    if not enabled:
        raise ConfigError(f"{repo / REGISTRY_FILE}: no enabled runner (set enabled: true)")
    return {"include": [{"label": e.label, "accuracy": e.accuracy} for e in enabled]}


def detected_device() -> tuple[str, str | None, str]:
    """(device, GPU name or None, why CUDA is not usable or "") of this machine."""
    import torch

    if torch.version.cuda is None:
        return "cpu", None, f"torch {torch.__version__} is a CPU-only build"
    try:
        usable = torch.cuda.is_available() and torch.cuda.device_count() > 0
    except Exception as error:  # a broken driver raises here on some torch builds
        return "cpu", None, f"CUDA initialisation failed ({error})"
    if not usable:
        return (
            "cpu",
            None,
            (
                f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no usable CUDA device "
                "(no GPU, or a driver too old for this torch)"
            ),
        )
    return "cuda", torch.cuda.get_device_name(0), ""


def visible_gpu_names() -> list[str]:
    """The name of every CUDA device this process sees (CUDA_VISIBLE_DEVICES), in index order."""
    import torch

    try:
        if torch.version.cuda is None or not torch.cuda.is_available():
            return []
        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # a broken driver: `detected_device` says why
        return []


def check_machine(
    entry: RunnerEntry,
    detected: tuple[str, str | None, str],
    visible: list[str] | None = None,
) -> str:
    """Refuse a machine that is not what its runner entry says; return the device to use.

    Args:
        entry: the runner's registry entry.
        detected: `detected_device()` of this machine.
        visible: every visible GPU's name (`visible_gpu_names()`); None: only the detected one.

    Raises:
        UserError: one line: the label, what it expects, what this machine has.
    """
    device, gpu_name, why = detected
    if entry.device == "cuda":
        if device != "cuda":
            raise UserError(
                f"runner {entry.label}: expected a usable CUDA device ({entry.gpu_name}), "
                f"but {why}; nothing was benchmarked"
            )
        assert entry.gpu_name is not None
        if not gpu_name_matches(entry.gpu_name, gpu_name or ""):
            raise UserError(
                f"runner {entry.label}: expected a GPU whose name contains {entry.gpu_name!r} "
                f"as whole words, this machine has {gpu_name!r}; fix the runner's label or "
                f"{REGISTRY_FILE}"
            )
        names = visible if visible is not None else [gpu_name or ""]
        if len(names) < entry.gpus:
            raise UserError(
                f"runner {entry.label}: expected {entry.gpus} visible GPUs ({REGISTRY_FILE} "
                f"gpus), this machine shows {len(names)} (CUDA_VISIBLE_DEVICES); nothing was "
                "benchmarked"
            )
        others = [n for n in names[: entry.gpus] if not gpu_name_matches(entry.gpu_name, n)]
        if others:
            raise UserError(
                f"runner {entry.label}: expected {entry.gpus} GPUs whose names contain "
                f"{entry.gpu_name!r}, this machine also has {others[0]!r} among them; fix "
                f"CUDA_VISIBLE_DEVICES or {REGISTRY_FILE}"
            )
        return "cuda"
    return "cpu"


def run_overrides(entry: RunnerEntry, params: dict[str, Any]) -> list[str]:
    """The `leaderboard run -m` overrides of a leg.

    params.yaml `benchmark:` values, replaced by the runner's own settings where it has them,
    then the runner's device and its extra overrides.
    """
    benchmark = {**params.get("benchmark", {}), **entry.settings}
    overrides = [
        f"batch_size={benchmark.get('batch_sizes', 1)}",
        f"num_prompts={benchmark.get('num_prompts', 16)}",
        f"repeats={benchmark.get('repeats', 1)}",
        f"warmup_batches={benchmark.get('warmup_batches', 1)}",
        f"idle_seconds={benchmark.get('idle_seconds', 5)}",
    ]
    extra = str(benchmark.get("extra", "") or "").split()
    return [*overrides, *extra, f"backend.device={entry.device}", *entry.overrides]


def cmd_runner_matrix(args: argparse.Namespace) -> int:
    """Print the matrix JSON (one line, for $GITHUB_OUTPUT)."""
    print(json.dumps(matrix(args.repo), separators=(",", ":")))
    return 0


def cmd_runner_check(args: argparse.Namespace) -> int:
    """Check this machine against its runner entry; print `hardware=<slug>` and `device=`."""
    from runner.machine.provenance import hardware_slug

    entry = entry_for(args.repo, args.label)
    device = check_machine(entry, detected_device(), visible_gpu_names())
    print(f"device={device}")
    print(f"hardware={hardware_slug(device)}")
    print(f"accuracy={'true' if entry.accuracy else 'false'}")
    print(f"gpus={entry.gpus}")
    return 0


def add_parsers(commands: Any) -> None:
    """Register `runner-matrix` and `runner-check` on the CLI's subparsers."""
    matrix_parser = commands.add_parser(
        "runner-matrix", help="the benchmark workflow's matrix from conf/runners.yaml (JSON)"
    )
    matrix_parser.add_argument("--repo", type=Path, default=Path("."), help="repository root")
    matrix_parser.set_defaults(handler=cmd_runner_matrix)

    check = commands.add_parser(
        "runner-check", help="fail unless this machine is what its runner label says"
    )
    check.add_argument("--label", required=True, help="the runner label of this job")
    check.add_argument("--repo", type=Path, default=Path("."), help="repository root")
    check.set_defaults(handler=cmd_runner_check)


def eval_overrides(entry: RunnerEntry, params: dict[str, Any]) -> list[str]:
    """The `leaderboard eval` overrides of a leg: params.yaml `eval.extra`, the runner's device
    and its extra eval overrides."""
    extra = str(params.get("eval", {}).get("extra", "") or "").split()
    return [*extra, f"backend.device={entry.device}", *entry.eval_overrides]
