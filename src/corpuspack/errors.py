"""Errors raised by corpuspack.

Every error a user can act on is a :class:`CorpusError`; the CLI prints its message on one
line and exits with :attr:`CorpusError.exit_code`. Problems with single source files are not
errors: they become :class:`~corpuspack.report.Skipped` records in the build report.
"""

from __future__ import annotations


class CorpusError(Exception):
    """A problem the user can fix: bad configuration, a missing folder, a failed strict build."""

    exit_code = 1


class UsageError(CorpusError):
    """The command was called wrongly (a path that does not exist, a bad option value)."""

    exit_code = 2


class ConfigError(UsageError):
    """The corpus configuration is missing, malformed or inconsistent."""


class SkipFile(Exception):  # noqa: N818 - a control-flow signal, not an error for the user
    """Raised inside a reader when a source file (or JSONL line) cannot become a document."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
