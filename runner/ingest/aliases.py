"""Hardware aliases: published hardware names -> hardware slugs, and the boards that show them.

A published table names its GPU loosely ("A100"); a measured record names the exact part
(`nvidia-a100-sxm4-40gb`). `conf/hardware_aliases.yaml` maps each published name to the slug of
what the name tells (a family slug such as `nvidia-a100` when the memory variant is not
reported), a label for the site, and the measured slugs whose boards also show those rows, so a
board can hold both a measured A100-SXM4-40GB and a published "A100".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runner.compose import conf_dir
from runner.errors import ConfigError
from runner.records.layout import SAFE_NAME

ALIASES_FILE = "hardware_aliases.yaml"


def _check_slug(value: str) -> str:
    if not SAFE_NAME.match(value) or ".." in value:
        raise ValueError(
            f"expected a hardware slug (letters, digits, '.', '_', '-'), got {value!r}"
        )
    return value


class Alias(BaseModel):
    """One published hardware name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(description="slug of what the published name tells")
    label: str = Field(min_length=1, description="the site's name for these published rows")
    boards: tuple[str, ...] = Field(
        default=(), description="measured hardware slugs whose boards also show these rows"
    )

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return _check_slug(value)

    @field_validator("boards")
    @classmethod
    def _boards(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for slug in value:
            _check_slug(slug)
        return value


class AliasFile(BaseModel):
    """The whole file: `aliases: {published name: alias}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    aliases: dict[str, Alias]


@dataclass(frozen=True)
class HardwareAliases:
    """The loaded aliases, looked up by published name (case and outer spaces ignored)."""

    path: Path
    by_name: dict[str, Alias]
    spelled: tuple[str, ...] = ()

    @staticmethod
    def key(name: str) -> str:
        """The lookup key of a published name."""
        return name.strip().casefold()

    def lookup(self, name: str) -> Alias | None:
        """The alias of a published hardware name; None when the file has no entry for it."""
        return self.by_name.get(self.key(name))

    def by_slug(self) -> dict[str, Alias]:
        """Aliases by their (published) slug."""
        return {alias.slug: alias for alias in self.by_name.values()}

    def known(self) -> str:
        """The published names as the file spells them, for error messages."""
        return ", ".join(sorted(self.spelled))


def default_path() -> Path:
    """`conf/hardware_aliases.yaml` of the config folder in use ($LEADERBOARD_CONF or conf/)."""
    return conf_dir() / ALIASES_FILE


Model = TypeVar("Model", bound=BaseModel)


def load_conf_file(path: Path, model: type[Model]) -> Model:
    """A YAML file of `conf/` read and validated against `model`.

    Raises:
        ConfigError: one line naming the file and the field: unreadable, not YAML, or a wrong
            field.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise ConfigError(f"{path}: {location}: {first['msg']}") from None


def load_aliases(path: Path | None = None) -> HardwareAliases:
    """Read and validate the aliases file (default: `conf/hardware_aliases.yaml`).

    Raises:
        ConfigError: one line naming the file and the field: unreadable, not YAML, a wrong
            field, an unsafe slug, or two names that differ only in case.
    """
    path = path or default_path()
    parsed = load_conf_file(path, AliasFile)
    by_name: dict[str, Alias] = {}
    for name, alias in parsed.aliases.items():
        key = HardwareAliases.key(name)
        if not key:
            raise ConfigError(f"{path}: aliases: an empty hardware name")
        if key in by_name:
            raise ConfigError(f"{path}: aliases.{name}: listed twice (names ignore case)")
        by_name[key] = alias
    return HardwareAliases(path, by_name, tuple(parsed.aliases))
