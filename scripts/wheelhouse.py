"""Download the runner's wheels for an air-gapped GPU machine (`make wheelhouse`).

On a connected machine with the developer install (`make setup`), this walks the dependency
closure of the runner core (`energy-leaderboard` without extras) plus a small test kit (pytest,
pytest-timeout, hypothesis), taking each package at the version installed here (the versions the
tests ran with), evaluating markers for the target Python and platform, and downloads one wheel
per package with `pip download --no-deps --only-binary=:all:`. A package published only as a
source distribution (antlr4-python3-runtime, for omegaconf) is built into a wheel here with
`pip wheel --no-deps` (pure Python).

Left out, by design:

- torch and everything only torch needs (the machine's own CUDA build is used);
- transformers and what only it needs, with `--without-transformers` (then the machine's own is
  used; the static-cache backends are tested with the transformers version pinned in
  constraints.txt);
- the `--provided` packages (default: numpy, scipy, scikit-learn, pandas), which GPU images
  ship and which together weigh ~70 MB for cp312; pass `--provided ""` to include them.
  `scripts/install-offline.sh` checks that every module the runner imports is importable after
  the install and names the one that is not.

It writes `requirements.txt` (the pins to install with `--no-index --no-deps`) and `MANIFEST.txt`
(target, sizes, what was left out) into the destination, and fails when the wheels exceed
`--max-mb` (40 MB by default: the wheelhouse is copied to the GPU machine).

    .venv/bin/python scripts/wheelhouse.py --dest wheelhouse --python-version 3.12
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

PROJECT = "energy-leaderboard"
TEST_KIT = ("pytest", "pytest-timeout", "hypothesis")
ALWAYS_LEFT_OUT = ("torch",)
DEFAULT_PROVIDED = ("numpy", "scipy", "scikit-learn", "pandas")
PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "linux_x86_64",
    "any",
)


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def target_environment(python_version: str) -> dict[str, str]:
    """Marker environment of a CPython `python_version` on Linux x86_64."""
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
        "implementation_version": f"{python_version}.0",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }


def applies(requirement: Requirement, environment: dict[str, str], extras: set[str]) -> bool:
    """Whether `requirement` is needed in `environment` when `extras` are requested."""
    if requirement.marker is None:
        return True
    if requirement.marker.evaluate({**environment, "extra": ""}):
        return True
    return any(requirement.marker.evaluate({**environment, "extra": e}) for e in extras)


def closure(
    roots: list[Requirement], environment: dict[str, str], skip: set[str]
) -> dict[str, str | None]:
    """name -> installed version (None when not installed here) of everything `roots` need."""
    found: dict[str, str | None] = {}
    pending = [(root, set(root.extras)) for root in roots]
    while pending:
        requirement, extras = pending.pop()
        name = canonical(requirement.name)
        if name in skip:
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            found.setdefault(name, None)
            continue
        seen_before = name in found
        found[name] = distribution.version
        if seen_before and not extras:
            continue
        for text in distribution.requires or []:
            child = Requirement(text)
            if applies(child, environment, extras):
                pending.append((child, set(child.extras)))
    return found


def project_roots(environment: dict[str, str]) -> list[Requirement]:
    """The project's core requirements (no extras) and the test kit."""
    roots = [
        Requirement(text)
        for text in metadata.requires(PROJECT) or []
        if applies(Requirement(text), environment, set())
    ]
    return roots + [Requirement(name) for name in TEST_KIT]


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m pip ...` of this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False
    )


def download(pins: list[str], dest: Path, python_version: str) -> list[str]:
    """Download one wheel per pin; build pure-Python wheels of sdist-only ones. The failures."""
    target = ["--python-version", python_version, "--implementation", "cp"]
    for platform in PLATFORMS:
        target += ["--platform", platform]
    common = ["download", "--no-deps", "--only-binary=:all:", "-d", str(dest), *target]
    if pip(*common, *pins).returncode == 0:
        return []
    failures = []
    for pin in pins:  # one at a time, to find the ones without a wheel
        if pip(*common, pin).returncode == 0:
            continue
        built = pip("wheel", "--no-deps", "-w", str(dest), pin)
        if built.returncode != 0:
            failures.append(pin)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path("wheelhouse"))
    parser.add_argument("--python-version", default="3.12", help="target CPython, e.g. 3.12")
    parser.add_argument("--without-transformers", action="store_true")
    parser.add_argument(
        "--provided",
        default=",".join(DEFAULT_PROVIDED),
        help="comma list of packages the GPU machine already has (left out)",
    )
    parser.add_argument("--max-mb", type=float, default=40.0)
    parser.add_argument("--list-only", action="store_true", help="print the pins, download none")
    args = parser.parse_args(argv)

    environment = target_environment(args.python_version)
    provided = {canonical(p) for p in args.provided.split(",") if p.strip()}
    skip = {canonical(p) for p in ALWAYS_LEFT_OUT} | provided
    if args.without_transformers:
        skip.add("transformers")
    found = closure(project_roots(environment), environment, skip)
    pins = sorted(f"{name}=={version}" if version else name for name, version in found.items())
    if args.list_only:
        print("\n".join(pins))
        return 0
    args.dest.mkdir(parents=True, exist_ok=True)
    failures = download(pins, args.dest, args.python_version)
    if failures:
        print(f"wheelhouse: no wheel for {', '.join(failures)}", file=sys.stderr)
        return 1
    wheels = sorted(args.dest.glob("*.whl"))
    sizes = {wheel.name: wheel.stat().st_size for wheel in wheels}
    total_mb = sum(sizes.values()) / 1e6
    (args.dest / "requirements.txt").write_text(
        "# Installed by scripts/install-offline.sh with --no-index --no-deps\n"
        + "".join(f"{pin}\n" for pin in pins)
    )
    left_out = sorted(skip)
    (args.dest / "MANIFEST.txt").write_text(
        f"target: CPython {args.python_version}, Linux x86_64 ({', '.join(PLATFORMS)})\n"
        f"left out (the machine's own): {', '.join(left_out)}\n"
        f"wheels: {len(wheels)}, {total_mb:.1f} MB\n\n"
        + "".join(f"{size / 1e6:8.2f} MB  {name}\n" for name, size in sizes.items())
    )
    print(f"wheelhouse: {len(wheels)} wheels, {total_mb:.1f} MB -> {args.dest}")
    print(f"left out (the machine's own): {', '.join(left_out)}")
    if total_mb > args.max_mb:
        print(
            f"wheelhouse: {total_mb:.1f} MB is more than --max-mb {args.max_mb:g}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
