"""The event store: `eventsourcing` recorders that authenticate every event (SPEC §12).

`core` holds the MAC rules and errors; `sqlite` and `postgres` the recorder subclasses and the
infrastructure factories that `Settings.eventsourcing_env` selects via ``PERSISTENCE_MODULE``.
"""

from registry.adapters.event_store.core import (
    Adoption,
    AuthenticatedRecorder,
    Authenticator,
    CheckedNotification,
    EventAuthenticationError,
    UnauthenticatedEventError,
    WrongEventKeyError,
)

__all__ = [
    "Adoption",
    "AuthenticatedRecorder",
    "Authenticator",
    "CheckedNotification",
    "EventAuthenticationError",
    "UnauthenticatedEventError",
    "WrongEventKeyError",
]
