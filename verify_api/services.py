"""Everything a request handler needs, built once per process by the app factory."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from projections import RegistryProjections
from registry.application import Clock, CredentialArchive, RegistryApp, Settings, Users
from registry.application.ports import BulkReports
from registry.credentials import KeyStore, KeyStoreError, TrustStore
from verify_api.evidence import EvidenceReceiver
from verify_api.ratelimit import RateLimiter
from verify_api.verification import LiveStatus, StatusUnavailable, public_status

TRUST_LIST_VALIDITY = timedelta(days=7)


@dataclass
class Services:
    settings: Settings
    registry: RegistryApp
    projections: RegistryProjections
    users: Users
    keys: KeyStore
    archive: CredentialArchive
    bulk_reports: BulkReports
    evidence: EvidenceReceiver
    limiter: RateLimiter
    clock: Clock
    catch_up_interval: float = 0.5
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_catch_up: float = 0.0
    _trust: tuple[float, TrustStore] | None = None
    _write_checked: float = -1e9
    write_check_interval: float = 1.0

    def store_writable(self) -> None:
        """Raise the store's error unless a probe write commits (at most once a second).

        `/readyz` relies on it: a read-only SQLite file, a full disk or a PostgreSQL server
        that accepts no writes is "not ready" even though reads still work.
        """
        now = time.monotonic()
        if now - self._write_checked < self.write_check_interval:
            return
        self.registry.db.check_writable(self.clock.now().isoformat())
        self._write_checked = time.monotonic()

    def refresh(self, *, force: bool = False) -> None:
        """Bring the read models up to date (at most every `catch_up_interval` unless forced).

        Reads after the caller's own write are consistent because commands force a catch-up;
        other readers see changes within the interval.
        """
        now = time.monotonic()
        if not force and now - self._last_catch_up < self.catch_up_interval:
            return
        with self._lock:
            if not force and time.monotonic() - self._last_catch_up < self.catch_up_interval:
                return
            self.projections.catch_up()
            self._last_catch_up = time.monotonic()

    # ------------------------------------------------------------------ trust

    def _index_mtime(self) -> float:
        try:
            return (self.keys.directory / "index.json").stat().st_mtime
        except OSError:
            return -1.0

    def trust_store(self) -> TrustStore:
        """Our own keys (active and retired), reloaded when the key index changes."""
        mtime = self._index_mtime()
        cached = self._trust
        if cached is not None and cached[0] == mtime:
            return cached[1]
        keys = self.keys.public_keys()
        if not keys:
            raise KeyStoreError("no signing keys; run `registry keys generate`")
        store = TrustStore.from_public_keys(
            keys,
            issuer=self.settings.issuer,
            region=self.settings.issuer_region,
            source=f"registry:{self.settings.issuer}",
        )
        self._trust = (mtime, store)
        return store

    def trust_or_error(self) -> TrustStore | Exception:
        try:
            return self.trust_store()
        except (KeyStoreError, OSError, ValueError) as exc:
            return exc

    def jwks(self) -> dict[str, Any]:
        return self.keys.export_jwks()

    def live_status(self, number: str) -> LiveStatus | None:
        """The current public view of `number`; raises StatusUnavailable, never guesses."""
        try:
            self.refresh()
            view = self.projections.by_number(number)
        except Exception as exc:  # any store failure is "could not check", not "clean"
            raise StatusUnavailable(type(exc).__name__) from None
        if view is None or view.number is None:
            return None
        return LiveStatus(
            number=view.number,
            scheme=view.scheme,
            status=public_status(view.public_status),
            lifecycle_status=view.status,
            permitted_to_practise=view.permitted_to_practise,
            reason=view.status_reason or None,
            since=view.status_since,
            valid_until=view.valid_until,
            masked_name=view.masked_name,
            issuer=self.settings.issuer,
            certificate_serial=view.certificate_serial,
        )
