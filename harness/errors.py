"""Errors the harness reports to people, as opposed to bugs.

Every error a user can cause (bad input, a busy port, a version that does not exist) is a
``HarnessError``: the CLI prints its one-line message, plus the fix when one is known, and
exits with code 2. Anything else escaping is a bug in the harness and keeps its traceback.
"""

from __future__ import annotations


class HarnessError(Exception):
    """A failure with a message meant for the person running the harness."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class InputError(HarnessError):
    """Bad input: a malformed file, flag or name. Names the place and the fix."""


class VersionError(InputError):
    """A Kubernetes version that cannot be parsed, is not available, or breaks the skew policy."""


class ToolchainError(HarnessError):
    """A binary could not be built, downloaded or found."""


class ClusterError(HarnessError):
    """A cluster could not be created, upgraded, reached or removed."""


class WaitTimeout(ClusterError):
    """A wait ran past its deadline; the message says what it was waiting for."""


class ImageError(HarnessError):
    """A node or workload image could not be built or found."""
