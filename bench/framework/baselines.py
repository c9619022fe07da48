"""Same-run baselines shared by benchmarks: the bare `eventsourcing` library on its own.

`TxSizes` records how many events each registry command wrote in one transaction, and
`save_like` saves exactly that shape with a trivial aggregate, so "the library alone" is
measured with the same transactions as the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from registry.application.settings import Settings

# ------------------------------------------------------------------- capturing tx sizes


@dataclass
class TxSizes:
    """Events per `insert_events` call (= per transaction) seen on a recorder."""

    sizes: list[int] = field(default_factory=list)

    def attach(self, app: Application[UUID]) -> None:
        recorder = app.recorder
        original: Callable[..., Any] = recorder.insert_events

        def insert_events(stored_events: Sequence[Any], **kwargs: Any) -> Any:
            self.sizes.append(len(stored_events))
            return original(stored_events, **kwargs)

        setattr(recorder, "insert_events", insert_events)  # noqa: B010 - instance wrapper

    def take(self) -> list[int]:
        taken, self.sizes = self.sizes, []
        return taken


# ------------------------------------------------------------------------- the baseline


class Tick(Aggregate):
    """The trivial aggregate of the baseline: a counter."""

    @event("Started")
    def __init__(self) -> None:
        self.count = 0

    @event("Ticked")
    def tick(self) -> None:
        self.count += 1


class BareApp(Application[UUID]):
    name = "Bare"


def bare_app(settings: Settings) -> BareApp:
    return BareApp(env=settings.eventsourcing_env())


def save_like(app: BareApp, sizes: Sequence[int]) -> int:
    """One `save` per size with that many events (a new Tick plus ticks); returns events."""
    total = 0
    for size in sizes:
        tick = Tick()
        for _ in range(size - 1):
            tick.tick()
        app.save(tick)
        total += size
    return total
