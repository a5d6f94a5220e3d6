"""`leaderboard new-model <hf-id> --revision SHA`: scaffold `conf/model/<org>__<name>.yaml`.

The revision must be a full 40-hex commit SHA: a branch or tag (`main`) moves, and a record
must say exactly which weights it measured. The new file is written only if its name is new and
safe, it composes and validates with the rest of conf/, and the model is then appended to the
`models` list of params.yaml so the DVC pipeline gets its stages.
"""

from __future__ import annotations

import argparse
import os
import re
import uuid
from pathlib import Path
from typing import Any

import yaml

from runner.config import DTYPES, HF_ID, check_safe_name
from runner.errors import ConfigError, UserError
from runner.publish.pipeline import PARAMS_FILE
from runner.records.store import safe_subdir

FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")


def config_name(hf_id: str) -> str:
    """`org/name` -> `org__name` (the config and results folder name).

    Raises:
        ConfigError: not a Hugging Face repo id (path separators, `..`, NUL, drive letters...).
    """
    if not isinstance(hf_id, str) or not HF_ID.match(hf_id) or ".." in hf_id:
        raise ConfigError(
            f"hf-id: expected a Hugging Face repo id like 'org/name' "
            f"(letters, digits, '.', '_', '-'), got {hf_id!r}"
        )
    name = hf_id.replace("/", "__")
    check_safe_name("hf-id", name)
    return name


def check_revision(revision: str | None) -> str:
    """The revision, lower-cased, if it is a full commit SHA.

    Raises:
        ConfigError: missing, or not 40 hex digits (a branch like `main` is not a pin).
    """
    if not revision:
        raise ConfigError(
            "--revision: required; pin the model to a full 40-hex commit SHA "
            "(see the 'Files and versions' > 'History' tab on the hub)"
        )
    if not FULL_SHA.match(revision):
        raise ConfigError(
            f"--revision: expected a full 40-hex commit SHA (a branch or tag such as 'main' "
            f"moves), got {revision!r}"
        )
    return revision.lower()


def render_config(
    *,
    name: str,
    hf_id: str,
    revision: str,
    display_name: str,
    dtype: str,
    license_name: str,
    params: int | None,
) -> str:
    """The YAML text of a model config (values quoted by the YAML dumper)."""
    data: dict[str, Any] = {
        "name": name,
        "hf_id": hf_id,
        "revision": revision,
        "display_name": display_name,
        "dtype": dtype,
        "url": f"https://huggingface.co/{hf_id}",
        "license": license_name,
    }
    if params is not None:
        data["params"] = params
    header = f"# Scaffolded by `leaderboard new-model {hf_id}`. Check every field before the PR.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def add_to_params(params_path: Path, name: str) -> bool:
    """Append `name` to the top-level `models:` list of params.yaml, keeping the rest as is.

    Returns:
        False when the name was already listed.

    Raises:
        ConfigError: params.yaml has no top-level block list `models:`.
    """
    lines = params_path.read_text(encoding="utf-8").splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip() == "models:")
    except StopIteration:
        raise ConfigError(f"{params_path}: expected a top-level block list 'models:'") from None
    last_item = start
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if lines[index].startswith("  - "):
            if stripped[2:].split("#")[0].strip() == name:
                return False
            last_item = index
        elif stripped and not stripped.startswith("#"):
            break
    if last_item == start:
        raise ConfigError(f"{params_path}: models: expected a non-empty block list ('  - name')")
    if not lines[last_item].endswith("\n"):
        lines[last_item] += "\n"
    lines.insert(last_item + 1, f"  - {name}\n")
    _replace_text(params_path, "".join(lines))
    return True


def _replace_text(path: Path, text: str) -> None:
    """Replace a (config, not record) file atomically: temp file in the same folder + rename."""
    temp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def scaffold_model(
    repo: Path,
    hf_id: str,
    revision: str | None,
    *,
    display_name: str | None = None,
    dtype: str = "bfloat16",
    license_name: str = "",
    params: int | None = None,
) -> Path:
    """Write and validate `conf/model/<org>__<name>.yaml`; list it in params.yaml.

    Raises:
        ConfigError: bad id, revision, dtype, an existing file, or the config does not validate
            (in which case the new file is removed again).
    """
    from runner.compose import compose_run_config, hydra_context

    name = config_name(hf_id)
    pinned = check_revision(revision)
    if dtype not in DTYPES:
        raise ConfigError(f"--dtype: expected one of {', '.join(DTYPES)}, got {dtype!r}")
    shown = display_name or hf_id.split("/")[-1]
    conf = repo / "conf"
    path = safe_subdir(conf / "model", f"{name}.yaml")
    check_safe_name("config name", name)
    text = render_config(
        name=name,
        hf_id=hf_id,
        revision=pinned,
        display_name=shown,
        dtype=dtype,
        license_name=license_name,
        params=params,
    )
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ConfigError(f"conf/model/{name}.yaml: already exists; edit it instead") from None
    try:
        with hydra_context(conf.resolve()):
            compose_run_config([f"model={name}"])
    except UserError:
        path.unlink()
        raise
    params_path = repo / PARAMS_FILE
    if params_path.exists():
        add_to_params(params_path, name)
    return path


def cmd_new_model(args: argparse.Namespace) -> int:
    """Scaffold a model config and print its path and the next steps."""
    path = scaffold_model(
        args.repo,
        args.hf_id,
        args.revision,
        display_name=args.display_name,
        dtype=args.dtype,
        license_name=args.license,
        params=args.params,
    )
    print(f"wrote {path} (and listed it in {PARAMS_FILE})")
    print("next: leaderboard validate && git add conf/model params.yaml && open a PR")
    return 0


def add_parser(commands: Any) -> None:
    """Register `new-model` on the CLI's subparsers."""
    parser = commands.add_parser(
        "new-model", help="scaffold conf/model/<org>__<name>.yaml with a pinned revision"
    )
    parser.add_argument("hf_id", help="Hugging Face repo id, e.g. Qwen/Qwen2.5-0.5B-Instruct")
    parser.add_argument("--revision", default=None, help="full 40-hex commit SHA (required)")
    parser.add_argument("--display-name", default=None, help="name shown on the leaderboard")
    parser.add_argument("--dtype", default="bfloat16", help=f"one of {', '.join(DTYPES)}")
    parser.add_argument("--license", default="", help="SPDX id or license name")
    parser.add_argument("--params", type=int, default=None, help="parameter count (optional)")
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository root")
    parser.set_defaults(handler=cmd_new_model)
