"""A reader that keeps checking answers in a thread while a rebuild runs beside it.

The rebuild's progress callback calls `await_rounds()`, which returns only after the reader
has completed a whole round of checks that *started* after the call: every committed batch
of the rebuild is therefore overlapped by real reads, however fast or slow the machine is
(no sleeps, no timing assumptions).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

HANG_GUARD_SECONDS = 300.0
"""Only a guard against a hung test: no assertion depends on how long anything takes."""


class ContinuousReader:
    """Runs `check` in a loop; `check` returns the wrong answers it saw in one round."""

    def __init__(self, check: Callable[[], list[str]], name: str = "reader") -> None:
        self._check = check
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.rounds = 0
        self.checks = 0
        self.problems: list[str] = []
        self.error: BaseException | None = None
        self.marked_rounds = 0  # rounds completed while `marking` was set
        self.marking = False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                problems = self._check()
            except BaseException as exc:  # a crash is a wrong answer too; report it
                with self._cond:
                    self.error = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self.rounds += 1
                if self.marking:
                    self.marked_rounds += 1
                self.problems.extend(problems)
                self._cond.notify_all()

    def count(self, checks: int) -> None:
        """Called by `check` to count individual lookups (for the report)."""
        with self._cond:
            self.checks += checks

    def await_rounds(self, rounds: int = 1) -> None:
        """Block until `rounds` complete rounds that began after this call have finished."""
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        with self._cond:
            target = self.rounds + rounds + 1  # the round in flight may have started before
            while self.rounds < target:
                if self.error is not None or not self._thread.is_alive():
                    raise AssertionError(f"the reader stopped: {self.error!r}")
                if time.monotonic() > deadline:
                    raise AssertionError("the reader made no progress (hang guard)")
                self._cond.wait(timeout=1.0)

    def __enter__(self) -> ContinuousReader:
        self._thread.start()
        self.await_rounds(1)  # the reader is warm before the test starts its rebuild
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=HANG_GUARD_SECONDS)
        if self.error is not None and exc is None:
            raise AssertionError(f"the reader crashed: {self.error!r}") from self.error
