"""The one user-facing error class, caught at the CLI edge (one clear line, exit code 1).

Bugs are not `UserError`s: they keep their tracebacks.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad config, bad input file, missing model, no space left.

    The message is one line that names the file and/or field and what was expected.
    """


class ConfigError(UserError):
    """A config value failed validation. The message names the field and the expected value."""


class RecordError(UserError):
    """A result record is malformed, of an unknown schema version, or would be overwritten."""


class PointFailed(UserError):
    """One benchmark point failed (out of memory, model not loadable); no record was written."""
