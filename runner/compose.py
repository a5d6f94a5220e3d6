"""Hydra composition: overrides -> typed, validated `RunConfig`, and sweep expansion.

We use Hydra's compose API rather than `@hydra.main`, so that every job of a sweep is composed
and validated by us: a bad value is one clear line, a failed point does not stop the sweep, and
Hydra writes no `outputs/` folders.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runner.config import RunConfig, register_configs
from runner.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
_active_conf_dir: Path | None = None  # the folder `hydra_context` initialised Hydra on


def conf_dir() -> Path:
    """The config folder: $LEADERBOARD_CONF, else `conf/` beside the package."""
    return Path(os.environ.get("LEADERBOARD_CONF") or CONF_DIR).resolve()


@contextmanager
def hydra_context(config_dir: Path | None = None) -> Iterator[None]:
    """Initialise Hydra on the config folder for the duration of the block."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    global _active_conf_dir
    register_configs()
    GlobalHydra.instance().clear()
    previous, _active_conf_dir = _active_conf_dir, (config_dir or conf_dir()).resolve()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(_active_conf_dir)):
            yield
    finally:
        _active_conf_dir = previous


def expand_sweep(overrides: list[str]) -> list[list[str]]:
    """Expand sweep overrides (`batch_size=1,4,16`) into one override list per job.

    Raises:
        ConfigError: an override does not parse.
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as error:
        raise ConfigError(f"override: {_first_line(error)}") from None
    return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


def compose_run_config(overrides: list[str], config_name: str = "config") -> RunConfig:
    """Compose `config.yaml` with `overrides` and convert it to a validated `RunConfig`.

    Must be called inside `hydra_context()`. `config_name` picks another root config whose
    schema extends `RunConfig` (`evaluate` for `leaderboard eval`).

    Raises:
        ConfigError: one line naming the config file and field, and what was expected.
    """
    import yaml
    from hydra import compose
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    try:
        composed = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(_describe(error, overrides)) from None
    except yaml.YAMLError as error:
        raise ConfigError(_describe_yaml(error)) from None
    choices = dict(composed.hydra.runtime.choices)
    _check_strict_booleans(choices)
    _check_strict_boolean_overrides(overrides)
    with open_dict(composed):
        del composed["hydra"]
    try:
        config = OmegaConf.to_object(composed)
    except ConfigError as error:
        raise ConfigError(f"{_source_file(str(error), choices)}{error}") from None
    except OmegaConfBaseException as error:
        raise ConfigError(_describe(error, overrides, choices)) from None
    assert isinstance(config, RunConfig)
    for group in ("model", "task"):
        chosen = choices.get(group)
        name = getattr(config, group).name
        if chosen and chosen != name:
            raise ConfigError(
                f"conf/{group}/{chosen}.yaml: {group}.name: expected {chosen!r} "
                f"(the file name), got {name!r}"
            )
    return config


STRICT_BOOLEANS = {"model": ("trust_remote_code",)}


def _check_strict_booleans(choices: dict[str, Any]) -> None:
    """Refuse `trust_remote_code: yes`-style values: OmegaConf would read them as true.

    Running a repository's own code must be asked for with a real YAML boolean.
    """
    import yaml

    for group, keys in STRICT_BOOLEANS.items():
        chosen = choices.get(group)
        if not chosen:
            continue
        path = (_active_conf_dir or conf_dir()) / group / f"{chosen}.yaml"
        try:
            root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except (OSError, yaml.YAMLError):
            continue  # Hydra already read this file; its own errors are reported elsewhere
        if not isinstance(root, yaml.MappingNode):
            continue
        for key_node, value_node in root.value:
            if key_node.value in keys and not _is_plain_boolean(value_node):
                raise ConfigError(
                    f"conf/{group}/{chosen}.yaml: {group}.{key_node.value}: expected true or "
                    f"false (a YAML boolean), got {value_node.value!r}"
                )


def _check_strict_boolean_overrides(overrides: list[str]) -> None:
    """Refuse `model.trust_remote_code=yes`-style overrides: only true or false turn it on."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    keys = {f"{group}.{key}" for group, names in STRICT_BOOLEANS.items() for key in names}
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.is_delete() or override.key_or_group not in keys:
            continue
        if not isinstance(override.value(), bool):
            raise ConfigError(
                f"override {override.input_line}: {override.key_or_group}: expected true or "
                f"false, got {override.value()!r}"
            )


def _is_plain_boolean(node: Any) -> bool:
    """True for an unquoted `true` / `false` (not `yes`, `on`, `1` or a quoted string)."""
    import yaml

    return (
        isinstance(node, yaml.ScalarNode)
        and node.style is None
        and node.value.lower() in ("true", "false")
    )


def _describe_yaml(error: Exception) -> str:
    """`<file>:<line>: <problem>` for a YAML error (python tags, bad syntax)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or _first_line(error)
    if mark is None:
        return f"YAML: {problem}"
    name = Path(mark.name)
    try:
        name = name.relative_to((_active_conf_dir or conf_dir()).parent)
    except ValueError:
        pass
    return f"{name}:{mark.line + 1}: {problem}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _source_file(message: str, choices: dict[str, Any]) -> str:
    """`conf/<group>/<choice>.yaml: ` for an error about a group's field, else ''."""
    group = message.split(".", 1)[0].split(":", 1)[0]
    if group in ("model", "task", "backend", "eval", "scenario") and choices.get(group):
        return f"conf/{group}/{choices[group]}.yaml: "
    return ""


def _describe(
    error: BaseException, overrides: list[str], choices: dict[str, Any] | None = None
) -> str:
    """One line for a Hydra/OmegaConf error: file, full key, what went wrong.

    Hydra wraps OmegaConf's validation errors; the innermost one names the key.
    """
    inner: BaseException | None = error
    while inner is not None and not getattr(inner, "full_key", None):
        inner = inner.__cause__ or inner.__context__
    if inner is not None:
        key = str(inner.full_key)  # type: ignore[attr-defined]
        group = key.split(".", 1)[0]
        chosen = (choices or {}).get(group) or _chosen_in(overrides, group)
        prefix = f"conf/{group}/{chosen}.yaml: " if chosen and group in GROUPS else ""
        if not key.isprintable():  # a key with a newline or control character: keep one line
            escaped = key.encode("unicode_escape").decode("ascii")
            return f"{prefix}{escaped}: not a field of the config (the key has control characters)"
        return f"{prefix}{key}: {_first_line(inner)}"
    message = (
        " ".join(line.strip() for line in str(error).strip().splitlines()) or type(error).__name__
    )
    if overrides:
        return f"overrides {' '.join(overrides)}: {message}"
    return message


GROUPS = ("model", "task", "backend", "scenario")


def _chosen_in(overrides: list[str], group: str) -> str | None:
    """The config a `group=name` override picks, if any."""
    for override in overrides:
        if override.startswith(f"{group}="):
            return override.split("=", 1)[1]
    return None
