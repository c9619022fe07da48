"""Read models built from the registry's event log (SPEC §5).

The package depends on the domain and on the port in `projections.ports` only; the
composition root (`registry.bootstrap.open_projections`) builds that port from the app.
"""

from projections.fold import ProjectionError
from projections.ports import ReadModelPorts, RebuildLockTarget
from projections.projector import RebuildReport, RegistryProjections
from projections.rebuild_lock import RebuildInProgress
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
    "ReadModelPorts",
    "RebuildInProgress",
    "RebuildLockTarget",
    "RebuildReport",
    "RegistrationView",
    "RegistryProjections",
    "Statistics",
    "StatusAsOf",
]
