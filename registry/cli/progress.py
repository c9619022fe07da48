"""Progress bars for long CLI work (demo, rebuild, supervise, export) on stderr.

They draw only when stderr is a terminal, so stdout (and `--json` output) stays clean.
"""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressBar:
    """A rich progress bar on stderr; silent when stderr is not a terminal or when asked.

    Call it (``bar(n)``) or use :meth:`advance` to move it on; the instance is what the
    application's and projections' ``progress`` callbacks expect.
    """

    def __init__(
        self,
        total: int | None,
        description: str,
        *,
        quiet: bool = False,
        console: Console | None = None,
    ) -> None:
        self._console = console or Console(stderr=True)
        enabled = not quiet and self._console.is_terminal
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            disable=not enabled,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(description, total=total)
        self.completed = 0

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def __call__(self, advance: int = 1) -> None:
        self.advance(advance)

    def advance(self, n: int = 1) -> None:
        self.completed += n
        self._progress.update(self._task, advance=n)

    def update(
        self,
        *,
        completed: int | None = None,
        total: int | None = None,
        description: str | None = None,
    ) -> None:
        if completed is not None:
            self.completed = completed
        self._progress.update(self._task, completed=completed, total=total, description=description)

    @property
    def enabled(self) -> bool:
        return not self._progress.disable


def progress_bar(total: int | None, description: str, *, quiet: bool = False) -> ProgressBar:
    """A progress bar for long work (demo, rebuild, supervise) that keeps stdout clean.

    Use as a context manager: ``with progress_bar(n, "Rebuilding") as bar: bar(1)``.
    It draws only when stderr is a terminal and ``quiet`` is false.
    """
    return ProgressBar(total, description, quiet=quiet or not sys.stderr.isatty())
