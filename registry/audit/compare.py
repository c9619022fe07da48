"""Put the independent replay next to the live projections and list every disagreement.

Kept apart from `replay` on purpose: this module may import the projections, the replay may
not. Compared for each date: for every registration, the lifecycle status at the end of that
local day (the registry's zone, SPEC §12 "Time"); for every numbered registration also the
public status, reason, since and validity that `status_as_of` (the tender check) reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from projections import RegistryProjections
from registry.audit.replay import ReplayResult


@dataclass(frozen=True)
class Difference:
    on: date
    registration: str
    field: str
    replayed: Any
    live: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.on.isoformat(),
            "registration": self.registration,
            "field": self.field,
            "replayed": self.replayed,
            "live": self.live,
        }

    def __str__(self) -> str:
        return (
            f"{self.on} {self.registration} {self.field}: replay {self.replayed!r} "
            f"!= live {self.live!r}"
        )


def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def live_registration_ids(projections: RegistryProjections) -> set[str]:
    ids: set[str] = set()
    offset = 0
    while True:
        page = projections.search(limit=500, offset=offset)
        ids.update(str(view.registration_id) for view in page)
        if len(page) < 500:
            return ids
        offset += 500


def compare(result: ReplayResult, projections: RegistryProjections) -> list[Difference]:
    """Every field where the replay and the live projections disagree, for every date.

    Both must read the dates as days of the same zone; a replay in another zone than the
    registry's is refused (ValueError) rather than reported as a flood of differences."""
    if result.timezone != projections.business.timezone:
        raise ValueError(
            f"the replay's dates are days in {result.timezone}, the registry's in "
            f"{projections.business.timezone}: replay with --timezone "
            f"{projections.business.timezone} to compare"
        )
    projections.catch_up()
    differences: list[Difference] = []
    live_ids = live_registration_ids(projections)
    for rid in sorted(live_ids - set(result.registrations)):
        for day in result.dates:
            moment = projections.business.end_of_day(day)
            status = projections.lifecycle_status_at(UUID(rid), moment)
            if status is not None:
                differences.append(Difference(day, rid, "lifecycle_status", None, status))
    for rid, reg in sorted(result.registrations.items()):
        label = reg.number or rid
        for day in result.dates:
            replayed = reg.standing(day)
            moment = projections.business.end_of_day(day)
            live_lifecycle = projections.lifecycle_status_at(UUID(rid), moment)
            mine = None if replayed is None else replayed.lifecycle_status
            if mine != live_lifecycle:
                differences.append(Difference(day, label, "lifecycle_status", mine, live_lifecycle))
            if reg.number is None:
                continue
            live = projections.status_as_of(reg.number, day)
            if live is None:
                differences.append(Difference(day, label, "number", reg.number, None))
                continue
            if replayed is None:
                if live.lifecycle_status is not None:
                    differences.append(
                        Difference(day, label, "exists", False, live.lifecycle_status)
                    )
                continue
            pairs = {
                "status": (replayed.status, live.status),
                "permitted_to_practise": (
                    replayed.permitted_to_practise,
                    live.permitted_to_practise,
                ),
                "reason_code": (replayed.reason_code, live.reason_code),
                "since": (_text(replayed.since), _text(live.since)),
                "valid_until": (_text(replayed.valid_until), _text(live.valid_until)),
            }
            if replayed.status != "not_registered":
                pairs["status_lifecycle"] = (replayed.lifecycle_status, live.lifecycle_status)
            for name, (a, b) in pairs.items():
                if a != b:
                    differences.append(Difference(day, label, name, a, b))
    return differences
