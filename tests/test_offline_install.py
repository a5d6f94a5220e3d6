"""`scripts/install-offline.sh`: a fresh virtual environment from a wheelhouse, with no index.

The real wheelhouse (`make wheelhouse`, ~33 MB of downloads) is too heavy for the suite, so the
test builds a tiny one of pure-Python wheels made here; the script under test is the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "install-offline.sh"


def make_wheel(source: Path, wheels: Path, name: str, requires: list[str]) -> None:
    """Build a pure-Python wheel of package `name` (version 1.0) into `wheels`."""
    package = source / name
    (package / name).mkdir(parents=True)
    (package / name / "__init__.py").write_text(
        "".join(f"import {r}\n" for r in requires) + f"VALUE = {name!r}\n"
    )
    deps = ", ".join(f'"{r}"' for r in requires)
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\ndependencies = [{deps}]\n'
    )
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"),
            *("-w", str(wheels), str(package)),
        ],
        check=True,
        capture_output=True,
    )


def install(
    wheelhouse: Path, venv: Path, modules: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    base_python = getattr(sys, "_base_executable", sys.executable)
    return subprocess.run(
        [
            *("bash", str(SCRIPT), str(wheelhouse), "--venv", str(venv), "--python", base_python),
            *("--no-tests", "--check-modules", modules),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_install_from_a_wheelhouse_into_a_fresh_venv_with_no_index(tmp_path: Path) -> None:
    wheels = tmp_path / "wheelhouse"
    make_wheel(tmp_path / "src", wheels, "lbdemo_core", [])
    make_wheel(tmp_path / "src", wheels, "lbdemo_app", ["lbdemo_core"])
    (wheels / "requirements.txt").write_text("lbdemo_core==1.0\nlbdemo_app==1.0\n")
    # Any index pip might try is unreachable: the install must come from the wheelhouse alone.
    env = {
        **os.environ,
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_EXTRA_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_FIND_LINKS": "",
    }
    venv = tmp_path / "venv"
    result = install(wheels, venv, "lbdemo_app lbdemo_core runner.errors", env)
    assert result.returncode == 0, result.stderr
    assert f"install-offline: ready: {venv}" in result.stdout
    python = venv / "bin" / "python"
    shown = subprocess.run(
        [str(python), "-c", "import lbdemo_app, runner.errors; print(lbdemo_app.VALUE)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,  # not the checkout: `runner` comes from the .pth the script wrote
    )
    assert shown.stdout.strip() == "lbdemo_app"
    assert os.access(venv / "bin" / "leaderboard", os.X_OK)

    # A wheel the wheelhouse lacks: one line naming it, exit 1.
    (wheels / "requirements.txt").write_text("lbdemo_core==1.0\nlbdemo_missing==2.0\n")
    missing = install(wheels, tmp_path / "venv2", "lbdemo_core", env)
    assert missing.returncode == 1
    [line] = missing.stderr.strip().splitlines()
    assert line.startswith("install-offline: pip could not install from")
    assert "lbdemo_missing==2.0" in line

    # A module neither the machine nor the wheelhouse provides: named, exit 1.
    (wheels / "requirements.txt").write_text("lbdemo_core==1.0\n")
    absent = install(wheels, tmp_path / "venv3", "lbdemo_core zeus_not_here", env)
    assert absent.returncode == 1
    [line] = absent.stderr.strip().splitlines()
    assert line.startswith("install-offline: module zeus_not_here does not import")
    assert "ModuleNotFoundError" in line
