"""User-facing errors.

Anything raised as a :class:`GanforgeError` is a mistake the user can fix (a bad name, a missing
file, a corrupt checkpoint). The CLI prints its message on one line and exits non-zero, without a
traceback. Bugs stay ordinary exceptions so that they do show a traceback.
"""


class GanforgeError(Exception):
    """A problem with the user's input or files, explained in one line."""


class ConfigError(GanforgeError):
    """An unknown name, key or a value of the wrong type in a configuration."""


class DataError(GanforgeError):
    """A dataset that is missing, corrupt, or has a wrong checksum."""


class CheckpointError(GanforgeError):
    """A checkpoint that is missing, corrupt, truncated or from another architecture."""


class RunDirError(GanforgeError):
    """A run directory that would be overwritten, or one that is not a run."""


class TrainingDiverged(GanforgeError):
    """A loss or a weight became NaN or infinite."""


class RunInUseError(RunDirError):
    """Another live process is training or resuming the same run directory."""


class DiskFullError(GanforgeError):
    """A write failed because the disk (or the user's quota) is full; nothing half-written is left."""


def unknown_name(kind: str, name: str, valid) -> ConfigError:
    """Build the standard 'unknown X' error that lists every accepted value."""
    return ConfigError(f"unknown {kind} {name!r}; valid {_plural(kind)}: {', '.join(sorted(valid))}")


def _plural(noun: str) -> str:
    """English plural of a setting's noun: loss -> losses, architecture -> architectures."""
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")
