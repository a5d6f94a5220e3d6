"""Provenance and hardware identity: git state, library versions, GPU/CPU, timestamps."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from runner.records.performance import Provenance

REPO_ROOT = Path(__file__).resolve().parents[2]
HARDWARE_SUFFIX_ENV = "LEADERBOARD_HARDWARE_SUFFIX"
LIBRARIES = (
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "zeus",
    "hydra-core",
    "omegaconf",
    "lm_eval",
    "pydantic",
    "energy-leaderboard",
)


def utc_now() -> str:
    """The current UTC time as ISO 8601 with a trailing Z, to the microsecond."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def slugify(text: str, limit: int = 60) -> str:
    """Lower-case letters, digits and single dashes; never empty."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "unknown"


def cpu_name() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else `platform.processor()`."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def gpu_facts() -> tuple[str | None, str | None, str | None]:
    """(GPU name, driver version, CUDA version) of CUDA device 0, or Nones without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return None, None, None
    name = torch.cuda.get_device_name(0)
    driver = None
    try:
        import pynvml

        pynvml.nvmlInit()
        driver = pynvml.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else str(driver)
    except Exception:  # NVML missing or unreadable: the driver version stays unknown
        driver = None
    return name, driver, torch.version.cuda


def hardware_slug(device: str) -> str:
    """The hardware a record belongs to: `nvidia-h100-80gb-hbm3`, or `cpu-<model>`.

    A runner may append a qualifier with $LEADERBOARD_HARDWARE_SUFFIX (e.g. `pl400w` for a
    power-capped GPU, or a host name): the slug becomes `<detected>-<suffix>`. The detected part
    always comes first, so a suffix can tell runners apart but never rename the hardware.
    """
    if device == "cuda":
        name, _, _ = gpu_facts()
        base = slugify(name or "cuda-gpu")
    else:
        base = "cpu-" + slugify(cpu_name(), limit=56)
    suffix = os.environ.get(HARDWARE_SUFFIX_ENV, "").strip()
    return f"{base}-{slugify(suffix, limit=40)}" if suffix else base


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that shape a measurement (None if absent)."""
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(repo: Path = REPO_ROOT) -> tuple[str | None, bool | None]:
    """(commit SHA, dirty flag) of the checkout the code runs from; Nones outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())


def collect_provenance(device: str, seed: int, started_utc: str, ended_utc: str) -> Provenance:
    """Everything needed to reproduce and audit a run."""
    commit, dirty = git_state()
    gpu_name, driver, cuda = gpu_facts() if device == "cuda" else (None, None, None)
    return Provenance(
        git_commit=commit,
        git_dirty=dirty,
        library_versions=library_versions(),
        python=sys.version.split()[0],
        platform=platform.platform(),
        gpu_name=gpu_name,
        gpu_driver=driver,
        cuda_version=cuda,
        cpu=cpu_name(),
        device=device,
        started_utc=started_utc,
        ended_utc=ended_utc,
        seed=seed,
        command_line=list(sys.argv),
    )
