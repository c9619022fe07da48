"""A suspension just before and just after midnight in Beijing (issue 11, SPEC §12 "Time").

23:30 Beijing on 31 May is 15:30 UTC on 31 May; 00:30 Beijing on 1 June is 16:30 UTC on
31 May — the same UTC date. The live read models, the tender check and the independent
replay of the export must all put the first on 31 May and the second on 1 June.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from registry.application import Approve, Suspend
from registry.application.bulk_check import CredentialCheck, Lookups, check_rows
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.audit.compare import compare
from registry.audit.replay import replay
from registry.bootstrap import open_projections
from tests.audit.test_audit_support import world_on
from tests.builders import REGISTRAR, REVIEWER
from tests.projections.projection_lifecycle import draft, to_review

MAY_30, MAY_31, JUNE_1 = date(2026, 5, 30), date(2026, 5, 31), date(2026, 6, 1)


@pytest.mark.parametrize(
    ("suspended_at", "last_permitted_day", "first_suspended_day"),
    [
        (datetime(2026, 5, 31, 15, 30, tzinfo=UTC), MAY_30, MAY_31),  # 23:30 Beijing, 31 May
        (datetime(2026, 5, 31, 16, 30, tzinfo=UTC), MAY_31, JUNE_1),  # 00:30 Beijing, 1 June
    ],
    ids=["23:30-beijing", "00:30-beijing"],
)
def test_a_suspension_at_the_day_boundary_counts_on_the_local_day(
    settings: Settings,
    suspended_at: datetime,
    last_permitted_day: date,
    first_suspended_day: date,
) -> None:
    clock = SimulatedClock(datetime(2026, 3, 1, 2, tzinfo=UTC))
    with world_on(settings, clock) as world:
        app = world.app
        rid = draft(app, 1)
        to_review(app, clock, rid, 1)
        number = app.handle(Approve(rid), REVIEWER).number
        assert number is not None
        clock.set(suspended_at)
        app.handle(Suspend(rid, "complaint", "投诉调查"), REGISTRAR)

        views = open_projections(app)
        views.catch_up()
        before = views.status_as_of(number, last_permitted_day)
        after = views.status_as_of(number, first_suspended_day)
        assert before is not None and before.permitted_to_practise
        assert after is not None and after.status == "suspended"
        assert after.since == suspended_at
        assert views.business.day(suspended_at) == first_suspended_day
        # Through the end of the last permitted local day, the aggregate says active too.
        assert app.get(rid).status_at(views.business.end_of_day(last_permitted_day)).value == (
            "active"
        )

        lookups = Lookups(
            status_as_of=views.status_as_of,
            current=views.by_number,
            check_credential=lambda raw: CredentialCheck(False, None, "not.used"),
        )
        verdicts = [
            check_rows([number], day, None, lookups)[0].verdict
            for day in (last_permitted_day, first_suspended_day)
        ]
        assert verdicts == ["pass", "fail"]

        # The independent replay reads the same days in the same zone.
        result = replay(world.export(), [last_permitted_day, first_suspended_day])
        standings = result.registrations[str(rid)]
        assert standings.standing(last_permitted_day).status == "active"  # type: ignore[union-attr]
        assert standings.standing(first_suspended_day).status == "suspended"  # type: ignore[union-attr]
        assert compare(result, views) == []
        # Read in UTC, both suspensions fall on 31 May: the replay would disagree with the
        # registry, so comparing a replay in another zone is refused.
        in_utc = replay(world.export(), [MAY_31], timezone="UTC")
        assert in_utc.registrations[str(rid)].standing(MAY_31).status == "suspended"  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="Asia/Shanghai"):
            compare(in_utc, views)
