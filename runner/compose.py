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


def conf_dir() -> Path:
    """The config folder: $LEADERBOARD_CONF, else `conf/` beside the package."""
    return Path(os.environ.get("LEADERBOARD_CONF") or CONF_DIR).resolve()


@contextmanager
def hydra_context(config_dir: Path | None = None) -> Iterator[None]:
    """Initialise Hydra on the config folder for the duration of the block."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir or conf_dir())):
        yield


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
    from hydra import compose
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    try:
        composed = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(_describe(error, overrides)) from None
    choices = dict(composed.hydra.runtime.choices)
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


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _source_file(message: str, choices: dict[str, Any]) -> str:
    """`conf/<group>/<choice>.yaml: ` for an error about a group's field, else ''."""
    group = message.split(".", 1)[0].split(":", 1)[0]
    if group in ("model", "task", "backend", "eval") and choices.get(group):
        return f"conf/{group}/{choices[group]}.yaml: "
    return ""


def _describe(
    error: BaseException, overrides: list[str], choices: dict[str, Any] | None = None
) -> str:
    """One line for a Hydra/OmegaConf error: file, full key, what went wrong."""
    key = getattr(error, "full_key", None)
    message = _first_line(error)
    if key:
        prefix = _source_file(str(key), choices or {})
        return f"{prefix}{key}: {message}"
    if overrides:
        return f"overrides {' '.join(overrides)}: {message}"
    return message
