"""Wheels of packages installed in this venv, so a test can install them for real with no index.

`make setup-summary` (scripts/setup-venv.sh --summary) installs what the hosted workflow jobs
need with pip. The end-to-end test runs that install for real, once, into a fresh venv, with
`PIP_NO_INDEX=1` and `PIP_FIND_LINKS` pointing at wheels repacked here from the distributions
this venv already holds (the pinned versions): pip resolves and installs exactly as it would on
a runner, and nothing reaches the network. A job that needs a package the summary install does
not bring then fails in the test as it would on GitHub.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

SKIPPED = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: list[str]) -> dict[str, metadata.Distribution]:
    """Every installed distribution `roots` need here (markers evaluated for this Python)."""
    environment = default_environment()
    found: dict[str, metadata.Distribution] = {}
    pending = [(Requirement(root), set(Requirement(root).extras)) for root in roots]
    while pending:
        requirement, extras = pending.pop()
        name = canonical(requirement.name)
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency that is not installed here is not needed
        seen = name in found
        found[name] = distribution
        if seen and not extras:
            continue
        for text in distribution.requires or []:
            child = Requirement(text)
            wanted = child.marker is None or any(
                child.marker.evaluate({**environment, "extra": extra})
                for extra in ("", *sorted(extras))
            )
            if wanted:
                pending.append((child, set(child.extras)))
    return found


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def repack(distribution: metadata.Distribution, dest: Path) -> Path:
    """One installed distribution as a wheel in `dest` (its files, its own WHEEL tags).

    Console scripts are left out: pip writes them again from entry_points.txt.
    """
    wheel_text = distribution.read_text("WHEEL") or ""
    tags = [
        line.split(":", 1)[1].strip() for line in wheel_text.splitlines() if line.startswith("Tag:")
    ]
    if not tags:
        raise ValueError(f"{distribution.metadata['Name']}: no WHEEL tags (not from a wheel)")
    name = re.sub(r"[-_.]+", "_", distribution.metadata["Name"])
    version = distribution.version
    # The compressed tag set (`py2.py3-none-any`): pip accepts the wheel if any tag fits.
    python, abi, platform = (
        ".".join(dict.fromkeys(tag.split("-")[i] for tag in tags)) for i in range(3)
    )
    target = dest / f"{name}-{version}-{python}-{abi}-{platform}.whl"
    records: list[str] = []
    dist_info = None
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for file in distribution.files or []:
            arcname = file.as_posix()
            parts = arcname.split("/")
            if arcname.startswith("..") or "__pycache__" in parts or arcname.endswith(".pyc"):
                continue
            if parts[0].endswith(".dist-info"):
                dist_info = parts[0]
                if parts[-1] in SKIPPED:
                    continue
            data = Path(str(file.locate())).read_bytes()
            archive.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        if dist_info is None:
            raise ValueError(f"{name}: no .dist-info among its files")
        record_name = f"{dist_info}/RECORD"
        archive.writestr(record_name, "\n".join([*records, f"{record_name},,"]) + "\n")
    return target


def wheelhouse(roots: list[str], dest: Path) -> list[Path]:
    """Repack the closure of `roots` (plus pip and setuptools) into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    found = closure([*roots, "pip", "setuptools"])
    return [repack(distribution, dest) for distribution in found.values()]
