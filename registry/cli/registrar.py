"""The registrar's supervision (人社备案): annual assessment, suspend, reinstate, revoke, the
dishonesty list, erasure, and the time-driven scheme-rule sweep."""

from __future__ import annotations

from typing import Annotated

import typer

from domain.registration import REVOCATION_REASONS, SUSPENSION_REASONS
from registry.application import (
    ErasePersonalData,
    LiftDishonesty,
    ListAsDishonest,
    RecordAnnualAssessment,
    Reinstate,
    Revoke,
    Suspend,
)
from registry.bootstrap import registry_session
from registry.cli.common import (
    REGISTRAR,
    AsOpt,
    JsonOpt,
    KeyOpt,
    OptionalReasonOpt,
    ReasonOpt,
    RefArg,
    RoleOpt,
    VersionOpt,
    resolve,
    run_command,
)
from registry.cli.output import Output, table
from registry.cli.progress import progress_bar
from registry.cli.root import app


@app.command("assess", rich_help_panel=REGISTRAR)
def assess(
    ref: RefArg,
    year: Annotated[int, typer.Option("--year", help="Assessment year.")],
    passed: Annotated[bool, typer.Option("--passed/--failed", help="Outcome.")],
    note: Annotated[str, typer.Option("--note")] = "",
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record an annual assessment (IET); a failure suspends the registration."""
    run_command(
        json_,
        "Assessed",
        lambda r: RecordAnnualAssessment(resolve(r, ref), year, passed, note),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("suspend", rich_help_panel=REGISTRAR)
def suspend(
    ref: RefArg,
    code: Annotated[str, typer.Option("--reason-code", help=", ".join(sorted(SUSPENSION_REASONS)))],
    reason: OptionalReasonOpt = "",
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Suspend an active registration."""
    run_command(
        json_,
        "Suspended",
        lambda r: Suspend(resolve(r, ref), code, reason),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("reinstate", rich_help_panel=REGISTRAR)
def reinstate(
    ref: RefArg,
    reason: ReasonOpt,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Lift a suspension, or revive a lapsed registration (new validity)."""
    run_command(
        json_,
        "Reinstated",
        lambda r: Reinstate(resolve(r, ref), reason),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("revoke", rich_help_panel=REGISTRAR)
def revoke(
    ref: RefArg,
    code: Annotated[str, typer.Option("--reason-code", help=", ".join(sorted(REVOCATION_REASONS)))],
    reason: OptionalReasonOpt = "",
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Revoke; fraud or forged material also puts the engineer on the dishonesty list."""
    run_command(
        json_,
        "Revoked",
        lambda r: Revoke(resolve(r, ref), code, reason),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


dishonesty_app = typer.Typer(
    help="The dishonesty list (失信名单): add, lift.", no_args_is_help=True
)
app.add_typer(dishonesty_app, name="dishonesty", rich_help_panel=REGISTRAR)


@dishonesty_app.command("add")
def dishonesty_add(
    ref: RefArg,
    reason: ReasonOpt,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Put the registration's holder on the dishonesty list."""
    run_command(
        json_,
        "Listed as dishonest",
        lambda r: ListAsDishonest(resolve(r, ref), reason),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@dishonesty_app.command("lift")
def dishonesty_lift(
    ref: RefArg,
    reason: ReasonOpt,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Lift a dishonesty listing (a revocation stays)."""
    run_command(
        json_,
        "Dishonesty lifted",
        lambda r: LiftDishonesty(resolve(r, ref), reason),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("erase", rich_help_panel=REGISTRAR)
def erase(
    ref: RefArg,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    as_: AsOpt = None,
    role: RoleOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Erase the engineer's personal data (destroys their key; the log stays intact)."""
    if not yes:
        Output(json_).fail(
            "input.confirmation_required", "erasure cannot be undone: add --yes to confirm", 2
        )
    run_command(
        json_,
        "Personal data erased",
        lambda r: ErasePersonalData(resolve(r, ref)),
        as_=as_,
        role=role,
    )


@app.command("supervise", rich_help_panel=REGISTRAR)
def supervise(
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Run the time-driven scheme rules (CE lapses, CE cycles) over every approved registration."""
    out = Output(json_)
    with out.guard(), registry_session() as registry:
        total = sum(1 for _ in registry.registration_ids("Approved"))
        with progress_bar(total, "Applying scheme rules", quiet=quiet) as bar:
            results = registry.supervise(progress=bar)
        rows = [
            {**r.as_dict(), "status": registry.get(r.registration_id).status.value} for r in results
        ]
        data = {"checked": total, "changed": len(rows), "results": rows}
        out.emit(
            data,
            [
                f"checked {total} approved registrations; {len(rows)} changed",
                table(
                    ["number", "events", "status"],
                    [[r["number"], ", ".join(r["events"]), r["status"]] for r in rows],
                )
                if rows
                else "",
            ],
        )
