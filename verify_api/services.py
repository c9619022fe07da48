"""Everything a request handler needs, built once per process by the app factory."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from projections import RegistryProjections
from registry.application import RegistryApp
from registry.auth import UserStore
from registry.clock import Clock
from registry.config import Settings
from registry.credentials.keystore import KeyStore
from verify_api.evidence import EvidenceStore
from verify_api.ratelimit import RateLimiter


@dataclass
class Services:
    settings: Settings
    registry: RegistryApp
    projections: RegistryProjections
    users: UserStore
    keys: KeyStore
    evidence: EvidenceStore
    limiter: RateLimiter
    clock: Clock
    data_dir: Path
    catch_up_interval: float = 0.5
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_catch_up: float = 0.0

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
