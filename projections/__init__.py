"""Read models built from the registry's event log (SPEC §5)."""

from projections.fold import ProjectionError
from projections.rebuild_lock import RebuildInProgress
from projections.registry_views import RebuildReport, RegistryProjections
from projections.views import (
    DishonestyEntry,
    EligibilityView,
    QueueItem,
    RegistrationView,
    Statistics,
    StatusAsOf,
)

__all__ = [
    "DishonestyEntry",
    "EligibilityView",
    "ProjectionError",
    "QueueItem",
    "RebuildInProgress",
    "RebuildReport",
    "RegistrationView",
    "RegistryProjections",
    "Statistics",
    "StatusAsOf",
]
