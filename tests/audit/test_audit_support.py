"""Shared builders for the audit tests (no tests here): a small registry with its audit tree."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from registry.adapters.secrets import Secret, SecretFiles
from registry.application import Revoke, Suspend
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.audit.checkpoints import Checkpoint, Checkpointer
from registry.audit.export import export_history
from registry.audit.log import AuditLog
from registry.bootstrap import open_app
from registry.credentials._internal.keystore import KeyStore
from registry.credentials._internal.truststore import TrustStore
from tests.builders import REGISTRAR, approved


@dataclass
class World:
    app: RegistryApp
    audit: AuditLog
    keys: KeyStore
    clock: SimulatedClock

    @property
    def checkpointer(self) -> Checkpointer:
        return Checkpointer(self.audit, self.keys)

    @property
    def mac_key(self) -> bytes:
        """The event-mac secret the store authenticates its events with."""
        return SecretFiles(self.app.settings.keys_dir).get(Secret.EVENT_MAC)

    def trust(self) -> TrustStore:
        return TrustStore.from_jwks(self.keys.export_jwks())

    def export(self, size: int | None = None) -> list[bytes]:
        buffer = io.BytesIO()
        export_history(self.audit, buffer, size=size)
        return buffer.getvalue().splitlines(keepends=True)

    def checkpoint(self) -> Checkpoint:
        return self.checkpointer.make()[0]


def populate(world: World, engineers: int = 4) -> None:
    """A few lifecycles: approvals, a suspension, a revocation with dishonesty listing."""
    results = [approved(world.app, world.clock, n) for n in range(1, engineers + 1)]
    world.clock.advance(timedelta(days=20))
    world.app.handle(Suspend(results[1].registration_id, "investigation", "complaint"), REGISTRAR)
    world.app.handle(Revoke(results[2].registration_id, "fraud", "forged diploma"), REGISTRAR)
    world.clock.advance(timedelta(days=3))


@contextmanager
def world_on(settings: Settings, clock: SimulatedClock) -> Iterator[World]:
    keys = KeyStore(settings.keys_dir)
    keys.generate()
    app = open_app(settings, clock=clock)
    audit = AuditLog(app)
    audit.follow()
    try:
        yield World(app, audit, keys, clock)
    finally:
        audit.close()
        app.close()
