"""`leaderboard new-model <hf-id> --revision SHA`: scaffold `conf/model/<org>__<name>.yaml`.

The revision must be a full 40-hex commit SHA: a branch or tag (`main`) moves, and a record
must say exactly which weights it measured. The new file is written only if its name is new and
safe and it composes and validates with the rest of conf/. It is the PR's only file: the
benchmark workflow finds changed configs by git diff (`leaderboard changed-models`).

`--random-init --init-config config.json` scaffolds the model's architecture with random
weights instead (`random__<name>`, `source: random-init`, nothing downloaded at run time): its
energy and time are real, its accuracy is meaningless, and its records say so. Its revision is
the hash of its init config and seed (`init-<16 hex>`), so a changed shape is a new revision.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import yaml

from runner.config import DTYPES, HF_ID, check_safe_name, init_config_revision
from runner.errors import ConfigError, UserError
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
    init_config: dict[str, Any] | None = None,
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
    if init_config is not None:
        data["display_name"] = f"{display_name} shape (random weights)"
        data["source"] = "random-init"
        data["random_weights"] = True
        data["init_config"] = init_config
    header = f"# Scaffolded by `leaderboard new-model {hf_id}`. Check every field before the PR.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# Architecture fields kept from a hub config.json for a random-init config.
INIT_CONFIG_KEYS = (
    "model_type",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "max_position_embeddings",
    "rope_theta",
    "rope_scaling",
    "tie_word_embeddings",
    "rms_norm_eps",
    "hidden_act",
    "sliding_window",
    "use_sliding_window",
    "attention_bias",
    "mlp_bias",
    "bos_token_id",
    "eos_token_id",
)


def read_init_config(path: Path) -> dict[str, Any]:
    """The architecture fields of a hub `config.json` (see INIT_CONFIG_KEYS).

    Raises:
        ConfigError: unreadable, not a JSON object, or no `model_type`.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"--init-config {path}: cannot read ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"--init-config {path}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        raise ConfigError(f"--init-config {path}: expected a config.json with a 'model_type'")
    return {key: data[key] for key in INIT_CONFIG_KEYS if key in data and data[key] is not None}


def scaffold_model(
    repo: Path,
    hf_id: str,
    revision: str | None,
    *,
    display_name: str | None = None,
    dtype: str = "bfloat16",
    license_name: str = "",
    params: int | None = None,
    init_config: dict[str, Any] | None = None,
) -> Path:
    """Write and validate `conf/model/<org>__<name>.yaml` (`random__<name>` for random-init).

    Args:
        init_config: architecture fields: write a random-init config (no revision needed).

    Raises:
        ConfigError: bad id, revision, dtype, an existing file, or the config does not validate
            (in which case the new file is removed again).
    """
    from runner.compose import compose_run_config, hydra_context

    name = config_name(hf_id)
    if init_config is not None:
        name = "random__" + name.split("__")[-1]
        pinned = init_config_revision(init_config)
    else:
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
        init_config=init_config,
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
    return path


def cmd_new_model(args: argparse.Namespace) -> int:
    """Scaffold a model config and print its path and the next steps."""
    if args.random_init != (args.init_config is not None):
        raise ConfigError("--random-init and --init-config go together (the architecture file)")
    path = scaffold_model(
        args.repo,
        args.hf_id,
        args.revision,
        display_name=args.display_name,
        dtype=args.dtype,
        license_name=args.license,
        params=args.params,
        init_config=read_init_config(args.init_config) if args.init_config else None,
    )
    print(f"wrote {path}")
    print(f"next: leaderboard validate && git add {path} && open a PR (that file only)")
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
    parser.add_argument(
        "--random-init",
        action="store_true",
        help="the architecture with random weights (random__<name>); needs --init-config",
    )
    parser.add_argument(
        "--init-config", type=Path, default=None, help="the model's config.json (architecture)"
    )
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository root")
    parser.set_defaults(handler=cmd_new_model)
