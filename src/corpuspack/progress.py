"""Progress reporting: a small interface the library calls, and a rich implementation."""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class ProgressHook(Protocol):
    """What long-running library functions report to."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage starts; ``total`` units of work if known."""

    def advance(self, units: int = 1, nbytes: int = 0) -> None:
        """Some units (files, documents) and bytes of the current stage are done."""


class NoProgress:
    """Reports nothing (pipes, CI, library use)."""

    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, units: int = 1, nbytes: int = 0) -> None:
        pass


def wants_progress(console: Console) -> bool:
    """Animated progress only on an interactive terminal, and never in CI."""
    return console.is_terminal and not os.environ.get("CI")


class RichProgress:
    """A rich progress bar per stage, on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(file=sys.stderr)
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(),
            console=self.console, transient=True,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def stage(self, name: str, total: int | None = None) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(name, total=total)

    def advance(self, units: int = 1, nbytes: int = 0) -> None:
        if self._task is not None:
            self._progress.advance(self._task, units)
