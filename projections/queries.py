"""The query API over the registry's read models: views on any day, search, queue, stats.

Split from the projector (`projections.projector`) because reading needs none of the
catch-up and rebuild machinery: these queries only read `proj_*` tables, and every rule
that turns a stored status into a standing on a day comes from `domain.standing`.
"""

from __future__ import annotations

import math
import statistics as stats
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.clock import DEFAULT_BUSINESS_TIME, BusinessTime
from domain.standing import (
    LAPSED_REASON,
    end_of_day,
    lapse_moment,
    next_anniversary,
    standing,
    standing_note,
    title_eligible,
)
from domain.status import IN_REVIEW, REREVIEW, Status
from domain.workdays import WorkingCalendar
from projections.fold import (
    DECISION_COLUMNS,
    HISTORY_COLUMNS,
    ProjectionError,
    RegState,
    parse_date,
    parse_ts,
    ts,
)
from projections.ports import Clock, Database
from projections.tables import LIVE, STATE_COLUMNS, VIEW_TABLES, placeholders, tracked_position
from projections.views import (
    DishonestyEntry,
    EligibilityView,
    QueueItem,
    RegistrationView,
    Statistics,
    StatusAsOf,
)

__all__ = ["ViewQueries", "end_of_day"]

_IN_REVIEW_VALUES = tuple(sorted(s.value for s in IN_REVIEW))
_REREVIEW_VALUES = tuple(sorted(s.value for s in REREVIEW))
_PRACTISING_VALUES = tuple(sorted({Status.ACTIVE.value, *_REREVIEW_VALUES}))
_STATE_SELECT = LIVE.state_select


def _public_status_sql(today: date) -> tuple[str, list[Any]]:
    """SQL for the public status on `today` (`domain.standing.standing` as a CASE), so
    filters and counts agree with the views."""
    practising = placeholders(_PRACTISING_VALUES)
    rereview = placeholders(_REREVIEW_VALUES)
    sql = (
        f"(CASE WHEN number IS NOT NULL AND status IN {practising} AND lapses = 1 "
        "AND valid_until < ? "
        f"THEN '{Status.EXPIRED.value}' "
        f"WHEN number IS NOT NULL AND status IN {rereview} THEN '{Status.ACTIVE.value}' "
        "ELSE status END)"
    )
    return sql, [*_PRACTISING_VALUES, today.isoformat(), *_REREVIEW_VALUES]


class ViewQueries:
    """Read-only answers from the live view tables."""

    def __init__(
        self,
        database: Database,
        calendar: WorkingCalendar,
        clock: Clock,
        business: BusinessTime = DEFAULT_BUSINESS_TIME,
    ) -> None:
        self.business = business
        self.db = database
        self.calendar = calendar
        self.clock = clock

    def position(self) -> int:
        """How far the live views have read the event log (a notification id)."""
        return tracked_position(self.db, LIVE)

    def today(self) -> date:
        """Today's local calendar date in the registry's zone."""
        return self.business.day(self.clock.now())

    def _today(self, today: date | None) -> date:
        return today if today is not None else self.business.day(self.clock.now())

    def _state(self, where: str, params: Sequence[Any]) -> RegState | None:
        rows = self.db.query(f"{_STATE_SELECT} WHERE {where}", params)
        return RegState.from_row(rows[0]) if rows else None

    def by_id(self, registration_id: UUID, today: date | None = None) -> RegistrationView | None:
        state = self._state("registration_id = ?", (str(registration_id),))
        return self._view(state, self._today(today)) if state else None

    def by_number(self, number: str, today: date | None = None) -> RegistrationView | None:
        state = self._state("number = ?", (number,))
        return self._view(state, self._today(today)) if state else None

    def _view(self, state: RegState, today: date) -> RegistrationView:
        valid_until = parse_date(state.valid_until)
        numbered = state.number is not None
        now = standing(Status(state.status), numbered, state.expiry, today)
        status, public = now.lifecycle.value, now.public.value
        reason, since = state.status_reason, parse_ts(state.status_since)
        if now.lapsed and valid_until is not None:
            reason, since = LAPSED_REASON, lapse_moment(valid_until, self.business)
        assert since is not None
        return RegistrationView(
            registration_id=UUID(state.registration_id),
            number=state.number,
            scheme=state.scheme,
            status=status,
            public_status=public,
            status_reason=reason,
            status_since=since,
            valid_until=valid_until,
            next_ce_deadline=self._next_ce_deadline(state, public, valid_until, today),
            masked_name=state.masked_name,
            employer_id=state.employer_id,
            employer_name=state.employer_name,
            region=state.region,
            approved_at=parse_ts(state.approved_at),
            dishonest=bool(state.dishonest),
            certificate_serial=state.certificate_serial,
            permitted_to_practise=public == Status.ACTIVE.value,
            note=standing_note(Status(state.status), numbered, now.lapsed),
            submitted_at=parse_ts(state.submitted_at),
            today=today,
            pending_employer_id=state.pending_employer_id,
            pending_employer_name=state.pending_employer_name,
            pending_endorsed=bool(state.pending_endorsed),
        )

    def _next_ce_deadline(
        self, state: RegState, public: str, valid_until: date | None, today: date
    ) -> date | None:
        """Scheme A: CE must be registered before validity ends. Scheme B: the CE compliance
        review deadline (`valid_until`, moved on by each passed review). Otherwise, where
        hours are due yearly: the end of the current registration year."""
        if state.number is None or public in {Status.REVOKED.value, Status.EXPIRED.value}:
            return None
        if state.ce_renews or not state.lapses:
            return valid_until
        if not state.ce_annual:
            return None
        start_at = parse_ts(state.reinstated_at) or parse_ts(state.approved_at)
        assert start_at is not None
        return next_anniversary(self.business.day(start_at), today)

    def _history_at(self, registration_id: str, moment: datetime) -> tuple[Any, ...] | None:
        rows = self.db.query(
            f"SELECT {', '.join(HISTORY_COLUMNS)} FROM proj_history "
            "WHERE registration_id = ? AND at <= ? ORDER BY seq DESC LIMIT 1",
            (registration_id, ts(moment)),
        )
        return rows[0] if rows else None

    def lifecycle_status_at(self, registration_id: UUID, moment: datetime) -> str | None:
        """What `Registration.status_at(moment)` answers, or None before the draft existed."""
        row = self._history_at(str(registration_id), moment)
        if row is None:
            return None
        h = dict(zip(HISTORY_COLUMNS, row, strict=True))
        state = self._state("registration_id = ?", (str(registration_id),))
        lapses = state is None or bool(state.lapses)
        then = standing(
            Status(h["status"]),
            bool(h["numbered"]),
            parse_date(h["valid_until"]) if lapses else None,
            self.business.day(moment),
        )
        return then.lifecycle.value

    def status_as_of(self, number: str, on: date) -> StatusAsOf | None:
        """Standing on `on` (through the end of that local day), as the registry knew it then."""
        state = self._state("number = ?", (number,))
        if state is None:
            return None
        row = self._history_at(state.registration_id, end_of_day(on, self.business))
        h = dict(zip(HISTORY_COLUMNS, row, strict=True)) if row is not None else None
        if h is None or not h["numbered"]:
            return StatusAsOf(
                number=number,
                on=on,
                status="not_registered",
                permitted_to_practise=False,
                reason_code=None,
                since=None,
                valid_until=None,
                employer_id=None,
                scheme=state.scheme,
                lifecycle_status=None if h is None else h["status"],
                note="not yet approved on that date" if h is not None else None,
            )
        valid_until = parse_date(h["valid_until"])
        then = standing(Status(h["status"]), True, valid_until if state.lapses else None, on)
        lifecycle, public = then.lifecycle.value, then.public.value
        reason, since = h["reason_code"], parse_ts(h["since"])
        if then.lapsed and valid_until is not None:
            reason, since = LAPSED_REASON, lapse_moment(valid_until, self.business)
        return StatusAsOf(
            number=number,
            on=on,
            status=public,
            permitted_to_practise=public == Status.ACTIVE.value,
            reason_code=reason,
            since=since,
            valid_until=valid_until,
            employer_id=h["employer_id"],
            scheme=state.scheme,
            lifecycle_status=lifecycle,
            employer_name=h["employer_name"],
            note=standing_note(Status(h["status"]), True, then.lapsed),
            pending_employer_id=h["pending_employer_id"],
            pending_endorsed=bool(h["pending_endorsed"]),
        )

    def search(
        self,
        *,
        number: str | None = None,
        employer_id: str | None = None,
        status: str | None = None,
        scheme: str | None = None,
        expiring_within_days: int | None = None,
        today: date | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RegistrationView]:
        """Filters combine with AND; `status` is the public status on `today`."""
        day = self._today(today)
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        where: list[str] = []
        params: list[Any] = []
        if number is not None:
            where.append("number = ?")
            params.append(number)
        if employer_id is not None:
            where.append("employer_id = ?")
            params.append(employer_id)
        if scheme is not None:
            where.append("scheme = ?")
            params.append(scheme)
        if status is not None or expiring_within_days is not None:
            public_sql, public_params = _public_status_sql(day)
            if status is not None:
                where.append(f"{public_sql} = ?")
                params.extend([*public_params, status])
            if expiring_within_days is not None:
                if expiring_within_days < 0:
                    raise ValueError("expiring_within_days must not be negative")
                horizon = day + timedelta(days=expiring_within_days)
                where.append(
                    f"{public_sql} = ? AND lapses = 1 AND valid_until >= ? AND valid_until <= ?"
                )
                params.extend(
                    [*public_params, Status.ACTIVE.value, day.isoformat(), horizon.isoformat()]
                )
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.query(
            f"{_STATE_SELECT}{clause} ORDER BY (CASE WHEN number IS NULL THEN 1 ELSE 0 END), "
            "number, registration_id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [self._view(RegState.from_row(r), day) for r in rows]

    def employer_claims(
        self, employer_id: str, today: date | None = None
    ) -> list[RegistrationView]:
        """Registrations whose engineer asked to move to `employer_id`, pending its answer
        or the registrar's (SPEC §12: employers see and can decline engineers who claim them)."""
        day = self._today(today)
        rows = self.db.query(
            f"{_STATE_SELECT} WHERE pending_employer_id = ? ORDER BY number, registration_id",
            (employer_id,),
        )
        return [self._view(RegState.from_row(r), day) for r in rows]

    def owned_by(self, owner_id: str, today: date | None = None) -> list[RegistrationView]:
        """The registrations the engineer `owner_id` applied for, numbered ones first (an
        engineer's own list: `/api/v1/me`)."""
        day = self._today(today)
        rows = self.db.query(
            f"{_STATE_SELECT} WHERE owner_id = ? ORDER BY "
            "(CASE WHEN number IS NULL THEN 1 ELSE 0 END), number, created_at, registration_id",
            (owner_id,),
        )
        return [self._view(RegState.from_row(r), day) for r in rows]

    def review_queue(
        self, today: date | None = None, overdue_only: bool = False
    ) -> list[QueueItem]:
        """Applications awaiting a decision, most urgent first.

        The deadline counts working days from the (latest) submission: the scheme's review
        period, or its further-verification period once that was requested.
        """
        day = self._today(today)
        rows = self.db.query(
            f"{_STATE_SELECT} WHERE status IN {placeholders(_IN_REVIEW_VALUES)}", _IN_REVIEW_VALUES
        )
        items = []
        for row in rows:
            state = RegState.from_row(row)
            submitted = parse_ts(state.submitted_at)
            if submitted is None:
                raise ProjectionError(f"{state.registration_id} is in review but never submitted")
            allowed = (
                state.fv_days
                if state.status == Status.FURTHER_VERIFICATION.value
                else state.review_days
            )
            due = self.calendar.add_working_days(self.business.day(submitted), allowed)
            overdue = day > due
            if overdue_only and not overdue:
                continue
            items.append(
                QueueItem(
                    registration_id=UUID(state.registration_id),
                    scheme=state.scheme,
                    status=state.status,
                    employer_id=state.employer_id,
                    submitted_at=submitted,
                    due=due,
                    working_days_elapsed=max(
                        0, self.calendar.working_days_between(self.business.day(submitted), day)
                    ),
                    overdue=overdue,
                    number=state.number,
                    working_days_allowed=allowed,
                )
            )
        items.sort(key=lambda i: (i.due, i.submitted_at, str(i.registration_id)))
        return items

    def dishonesty_list(self) -> list[DishonestyEntry]:
        rows = self.db.query(
            "SELECT registration_id, number, masked_name, scheme, dishonest_since, "
            "dishonest_reason FROM proj_registration WHERE dishonest = 1 "
            "ORDER BY dishonest_since, registration_id"
        )
        entries = []
        for rid, number, masked_name, scheme, since, reason in rows:
            listed_at = parse_ts(since)
            assert listed_at is not None
            entries.append(
                DishonestyEntry(UUID(rid), number, masked_name, scheme, listed_at, reason or "")
            )
        return entries

    def title_eligible(self, on: date) -> list[EligibilityView]:
        """Rule A on `on`: registered without a lapse for the scheme's years, active that
        day, never suspended or revoked by then, not on the dishonesty list."""
        moment = ts(end_of_day(on, self.business))
        rows = self.db.query(
            "SELECT r.registration_id, r.number, r.masked_name, r.title_years, r.first_bad_at,"
            " h.status, h.valid_until, h.dishonest, h.run_start, h.numbered,"
            " r.region, r.title_regions, r.lapses "
            "FROM proj_registration r JOIN proj_history h"
            " ON h.registration_id = r.registration_id AND h.seq = ("
            "  SELECT MAX(h2.seq) FROM proj_history h2"
            "  WHERE h2.registration_id = r.registration_id AND h2.at <= ?) "
            "WHERE r.title_years IS NOT NULL AND r.number IS NOT NULL AND r.approved_at <= ? "
            "ORDER BY r.number",
            (moment, moment),
        )
        eligible = []
        for (
            rid,
            number,
            masked,
            years,
            first_bad,
            status,
            valid_until,
            dishonest,
            run_start,
            numbered,
            region,
            title_regions,
            lapses,
        ) in rows:
            if region not in str(title_regions).split(","):
                continue  # rule A is a Guangdong provision, only where the policy applies it
            since = parse_ts(run_start)
            expiry = parse_date(valid_until) if lapses else None
            then = standing(Status(status), bool(numbered), expiry, on)
            if title_eligible(
                years=int(years),
                lifecycle_on=then.lifecycle,
                dishonest=bool(dishonest),
                bad_record=first_bad is not None and first_bad <= moment,
                run_start=self.business.day(since) if since is not None else None,
                on=on,
            ):
                assert since is not None
                eligible.append(EligibilityView(UUID(rid), number, masked, since))
        return eligible

    def statistics(self, today: date | None = None) -> Statistics:
        day = self._today(today)
        public_sql, public_params = _public_status_sql(day)
        grouped = self.db.query(
            f"SELECT scheme, region, {public_sql} AS public_status, "
            "CASE WHEN number IS NULL THEN 0 ELSE 1 END AS numbered, COUNT(*) "
            "FROM proj_registration GROUP BY 1, 2, 3, 4",
            public_params,
        )
        by_scheme: dict[str, int] = {}
        by_status: dict[str, int] = {}
        by_region: dict[str, int] = {}
        by_scheme_status: dict[str, dict[str, int]] = {}
        total = numbered = 0
        for scheme, region, status, is_numbered, count in grouped:
            n = int(count)
            total += n
            numbered += n if is_numbered else 0
            by_scheme[scheme] = by_scheme.get(scheme, 0) + n
            by_status[status] = by_status.get(status, 0) + n
            by_region[region] = by_region.get(region, 0) + n
            per = by_scheme_status.setdefault(scheme, {})
            per[status] = per.get(status, 0) + n
        queue = self.review_queue(day)
        dishonest = self.db.query("SELECT COUNT(*) FROM proj_registration WHERE dishonest = 1")
        turnaround: dict[str, list[int]] = {}
        for scheme, submitted_at, decided_at in self.db.query(
            "SELECT scheme, submitted_at, decided_at FROM proj_decision"
        ):
            submitted, decided = parse_ts(submitted_at), parse_ts(decided_at)
            if submitted is None or decided is None:
                continue
            days = self.calendar.working_days_between(
                self.business.day(submitted), self.business.day(decided)
            )
            turnaround.setdefault(scheme, []).append(max(0, days))
        everything = sorted(d for values in turnaround.values() for d in values)
        return Statistics(
            today=day,
            total=total,
            numbered=numbered,
            permitted=by_status.get(Status.ACTIVE.value, 0),
            by_scheme=dict(sorted(by_scheme.items())),
            by_status=dict(sorted(by_status.items())),
            by_region=dict(sorted(by_region.items())),
            by_scheme_status={
                k: dict(sorted(v.items())) for k, v in sorted(by_scheme_status.items())
            },
            in_review=len(queue),
            overdue_reviews=sum(1 for item in queue if item.overdue),
            dishonest=int(dishonest[0][0]),
            decisions=len(everything),
            turnaround_median_working_days=_median(everything),
            turnaround_p90_working_days=_p90(everything),
            turnaround_by_scheme={
                scheme: {"median": _median(sorted(v)), "p90": _p90(sorted(v)), "count": len(v)}
                for scheme, v in sorted(turnaround.items())
            },
            position=self.position(),
        )

    def snapshot(self) -> dict[str, Any]:
        """Every view's full content in a canonical order: rebuilt and incremental must match."""
        out: dict[str, Any] = {"position": self.position()}
        keys = {
            "proj_registration": ("registration_id",),
            "proj_history": ("registration_id", "seq"),
            "proj_decision": ("registration_id", "seq"),
        }
        columns = {
            "proj_registration": STATE_COLUMNS,
            "proj_history": HISTORY_COLUMNS,
            "proj_decision": DECISION_COLUMNS,
        }
        for table in VIEW_TABLES:
            cols = columns[table]
            rows = self.db.query(
                f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(keys[table])}"
            )
            out[table] = [dict(zip(cols, row, strict=True)) for row in rows]
        return out


def _median(values: Sequence[int]) -> float | None:
    return float(stats.median(values)) if values else None


def _p90(values: Sequence[int]) -> float | None:
    """Nearest-rank 90th percentile of sorted `values`: an actual observed turnaround."""
    if not values:
        return None
    return float(values[max(0, math.ceil(0.9 * len(values)) - 1)])
