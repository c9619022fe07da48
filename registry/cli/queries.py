"""Read-model queries: status (today or as of any date), show, search, queue, dishonesty
list, title eligibility, statistics. Answers come from the caught-up projections."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.text import Text

from projections import RegistryProjections
from registry.application import NotFound
from registry.cli.common import (
    QUERIES,
    JsonOpt,
    RefArg,
    parse_date,
    parse_ref,
    query_session,
    resolve,
)
from registry.cli.output import CliInputError, Output, key_values, table
from registry.cli.root import app


@app.command("status", rich_help_panel=QUERIES)
def status(
    ref: RefArg,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The date to answer for (YYYY-MM-DD; default today).",
            show_default=False,
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Permitted to practise? Status, reason and since when — today or on any past date."""
    out = Output(json_)
    with query_session(out) as (_registry, projections):
        on = parse_date(as_of, "--as-of") or projections.today()
        number = _number_for(projections, ref)
        answer = projections.status_as_of(number, on)
        view = projections.by_number(number)
        if answer is None or view is None:
            raise NotFound(f"no registration with number {number}")
        data = {**answer.as_dict(), "masked_name": view.masked_name}
        verdict = (
            Text("PERMITTED TO PRACTISE", style="bold green")
            if answer.permitted_to_practise
            else Text("NOT PERMITTED TO PRACTISE", style="bold red")
        )
        since = f" since {projections.business.show(answer.since)}" if answer.since else ""
        reason = f" ({answer.reason_code})" if answer.reason_code else ""
        out.emit(
            data,
            [
                Text.assemble(f"{number} {view.masked_name or '(erased)'} on {on}: ", verdict),
                f"status [bold]{answer.status}[/bold]{reason}{since}",
                key_values(
                    {
                        "scheme": answer.scheme,
                        "valid_until": answer.valid_until,
                        "employer": answer.employer_name or answer.employer_id,
                        "note": answer.note,
                    }
                ),
            ],
        )


def _number_for(projections: RegistryProjections, ref: str) -> str:
    registration_id = parse_ref(ref, "is not a well-formed registration number")
    if isinstance(registration_id, str):
        return registration_id
    view = projections.by_id(registration_id)
    if view is None:
        raise NotFound(f"no registration {registration_id}")
    if view.number is None:
        raise CliInputError(
            f"registration {registration_id} has no number yet (it is {view.status})",
            code="registration.not_numbered",
        )
    return str(view.number)


@app.command("show", rich_help_panel=QUERIES)
def show(ref: RefArg, json_: JsonOpt = False) -> None:
    """The registration's current view (masked name only, never personal data)."""
    out = Output(json_)
    with query_session(out) as (registry, projections):
        view = projections.by_id(resolve(registry, ref))
        if view is None:
            raise NotFound(f"no registration {ref}")
        out.emit(view.as_dict())


class PublicStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    employer_endorsed = "employer_endorsed"
    under_review = "under_review"
    returned_for_supplement = "returned_for_supplement"
    further_verification = "further_verification"
    active = "active"
    suspended = "suspended"
    expired = "expired"
    revoked = "revoked"
    rejected = "rejected"
    withdrawn = "withdrawn"


@app.command("search", rich_help_panel=QUERIES)
def search(
    number: Annotated[str | None, typer.Option("--number")] = None,
    employer: Annotated[str | None, typer.Option("--employer", help="Employer id.")] = None,
    status_: Annotated[PublicStatus | None, typer.Option("--status")] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="SIE or IET.")] = None,
    expiring_within: Annotated[
        int | None, typer.Option("--expiring-within", min=0, help="Active, lapsing within N days.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    json_: JsonOpt = False,
) -> None:
    """Find registrations by number, employer, status, scheme or expiry window."""
    out = Output(json_)
    with query_session(out) as (_registry, projections):
        views = projections.search(
            number=number.upper() if number else None,
            employer_id=employer,
            status=status_.value if status_ else None,
            scheme=scheme.upper() if scheme else None,
            expiring_within_days=expiring_within,
            limit=limit,
            offset=offset,
        )
        out.emit(
            [v.as_dict() for v in views],
            [
                table(
                    ["number", "scheme", "status", "name", "employer", "valid until", "next CE"],
                    [
                        [
                            v.number or str(v.registration_id),
                            v.scheme,
                            v.public_status,
                            v.masked_name,
                            v.employer_name or v.employer_id,
                            v.valid_until,
                            v.next_ce_deadline,
                        ]
                        for v in views
                    ],
                    title=f"{len(views)} registrations",
                )
            ],
        )


@app.command("queue", rich_help_panel=QUERIES)
def queue(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue reviews.")] = False,
    json_: JsonOpt = False,
) -> None:
    """The review queue with working-day deadlines; overdue reviews highlighted."""
    out = Output(json_)
    with query_session(out) as (_registry, projections):
        items = projections.review_queue(overdue_only=overdue)
        rows = []
        for i in items:
            mark = "[bold red]OVERDUE[/bold red]" if i.overdue else ""
            rows.append(
                [
                    str(i.registration_id),
                    i.scheme,
                    i.status,
                    i.employer_id,
                    i.submitted_at,
                    i.due,
                    f"{i.working_days_elapsed}/{i.working_days_allowed}",
                    mark,
                ]
            )
        late = sum(1 for i in items if i.overdue)
        out.emit(
            [i.as_dict() for i in items],
            [
                table(
                    [
                        "registration",
                        "scheme",
                        "status",
                        "employer",
                        "submitted",
                        "due",
                        "working days",
                        "",
                    ],
                    rows,
                    title=f"Review queue: {len(items)} waiting, {late} overdue",
                ),
            ],
        )


@app.command("dishonesty-list", rich_help_panel=QUERIES)
def dishonesty_list(json_: JsonOpt = False) -> None:
    """The dishonesty list (失信名单)."""
    out = Output(json_)
    with query_session(out) as (_registry, projections):
        entries = projections.dishonesty_list()
        out.emit(
            [e.as_dict() for e in entries],
            [
                table(
                    ["number", "scheme", "name", "listed", "reason"],
                    [
                        [
                            e.number or str(e.registration_id),
                            e.scheme,
                            e.masked_name,
                            e.listed_at,
                            e.reason,
                        ]
                        for e in entries
                    ],
                    title=f"Dishonesty list: {len(entries)}",
                ),
            ],
        )


@app.command("eligible-for-title", rich_help_panel=QUERIES)
def eligible_for_title(
    on: Annotated[str | None, typer.Option("--on", help="Date (default today).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Engineers who may apply directly for the intermediate title (two clean SIE years)."""
    out = Output(json_)
    with query_session(out) as (_registry, projections):
        day = parse_date(on, "--on") or projections.today()
        views = projections.title_eligible(day)
        out.emit(
            [v.as_dict() for v in views],
            [
                table(
                    ["number", "name", "registered since"],
                    [[v.number, v.masked_name, v.since] for v in views],
                    title=f"Eligible for the intermediate title on {day}: {len(views)}",
                ),
            ],
        )


@app.command("stats", rich_help_panel=QUERIES)
def stats(json_: JsonOpt = False) -> None:
    """Counts by scheme, status and region; review turnaround in working days."""
    out = Output(json_)
    with query_session(out) as (_registry, projections):
        s = projections.statistics()
        schemes = list(s.by_scheme_status)
        statuses = sorted({k for per in s.by_scheme_status.values() for k in per})
        out.emit(
            s.as_dict(),
            [
                table(
                    ["status", *schemes, "total"],
                    [
                        [
                            st,
                            *(s.by_scheme_status[k].get(st, 0) for k in schemes),
                            s.by_status.get(st, 0),
                        ]
                        for st in statuses
                    ],
                    title=f"Registrations on {s.today}: {s.total} ({s.permitted} permitted)",
                ),
                key_values(
                    {
                        "by region": s.by_region,
                        "in review": s.in_review,
                        "overdue reviews": s.overdue_reviews,
                        "dishonesty list": s.dishonest,
                        "decisions": s.decisions,
                        "turnaround median (working days)": s.turnaround_median_working_days,
                        "turnaround p90 (working days)": s.turnaround_p90_working_days,
                        "projection position": s.position,
                    }
                ),
            ],
        )
