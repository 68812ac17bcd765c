"""The SeisfuseError family: every user-facing failure says what, where and how to fix it.

The CLI prints ``str(error)`` as one line and exits with code 2; library callers can catch
the specific subclass.
"""

from __future__ import annotations


class SeisfuseError(Exception):
    """A user error: bad input file, bad config, mismatched geometry, incomplete store."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        parts = [f"{where}: {what}" if where else what]
        if fix:
            parts.append(f"Fix: {fix}")
        super().__init__(" ".join(parts))


class SegyFormatError(SeisfuseError):
    """The SEG-Y file is malformed, truncated or uses something seisfuse cannot read."""


class GeometryError(SeisfuseError):
    """Trace keys do not form a grid, duplicate traces, or shapes that do not match."""


class StoreError(SeisfuseError):
    """The Zarr store is missing, incomplete, corrupt, or would be overwritten."""


class ConfigError(SeisfuseError):
    """An unknown or invalid configuration key or value."""


class DiskError(SeisfuseError):
    """A write failed for want of room or right: a full disk (ENOSPC), a quota (EDQUOT), a
    read-only file system (EROFS) or a permission (EACCES, EPERM)."""


class LockError(SeisfuseError):
    """Another process is writing the same store variable or training run."""


def unknown(what: str, value, choices, *, error: type[SeisfuseError] | None = None, where: str | None = None,
            note: str = "") -> SeisfuseError:
    """The error of a value that is none of the known ones: `unknown <what> <value>`, and the fix
    that lists them (raise what it returns). error: the class (default ConfigError)."""
    return (error or ConfigError)(f"unknown {what} {value!r}", where=where,
                                  fix=f"use one of {', '.join(map(str, choices))}{note}")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's time limit), handled as Ctrl-C is: exit code 143, and the same
    command again resumes."""


class RunsFailed(Exception):
    """A pipeline finished its steps, but some experiment runs failed (exit code 1, after
    their report): not a user error, and not a crash."""
