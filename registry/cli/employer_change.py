"""An approved engineer's move to another employer (SPEC §12 "Employer binding").

The engineer (or the registrar on their behalf) asks; the employer they claim endorses or
declines (`--as EMPLOYER_ID`); the registrar approves. Until approved the registration
stays bound to its employer, and tender checks say so.
"""

from __future__ import annotations

from typing import Annotated

import typer

from domain.actors import Role
from registry.application import (
    ApproveEmployerChange,
    DeclineEmployerChange,
    EndorseEmployerChange,
    RequestEmployerChange,
)
from registry.cli.common import (
    REGISTRAR,
    AsOpt,
    EmployerRoleOpt,
    JsonOpt,
    KeyOpt,
    ReasonOpt,
    RefArg,
    RoleOpt,
    VersionOpt,
    query_session,
    resolve,
    run_command,
)
from registry.cli.output import Output, table
from registry.cli.root import app

employer_change_app = typer.Typer(
    help="Employer changes: request, endorse or decline (new employer), approve, list claims.",
    no_args_is_help=True,
)
app.add_typer(employer_change_app, name="employer-change", rich_help_panel=REGISTRAR)


@employer_change_app.command("request")
def request(
    ref: RefArg,
    employer_id: Annotated[str, typer.Option("--employer-id", help="The new employer's id.")],
    employer_name: Annotated[str, typer.Option("--employer-name")],
    job_description: Annotated[str, typer.Option("--job", help="The job at the new employer.")],
    note: Annotated[str, typer.Option("--note")] = "",
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Ask to move an approved registration to another employer (bound to the old one until
    the new employer endorses and the registrar approves)."""
    run_command(
        json_,
        "Employer change requested",
        lambda r: RequestEmployerChange(
            resolve(r, ref), employer_id, employer_name, job_description, note
        ),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@employer_change_app.command("endorse")
def endorse(
    ref: RefArg,
    note: Annotated[str, typer.Option("--note")] = "",
    as_: AsOpt = None,
    role: EmployerRoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The claimed employer confirms the engineer's move (`--as EMPLOYER_ID`)."""
    _require_as(as_, json_)
    run_command(
        json_,
        "Employer change endorsed",
        lambda r: EndorseEmployerChange(resolve(r, ref), note),
        as_=as_,
        role=role,
        default_role=Role.EMPLOYER,
        key=key,
        expected_version=expected_version,
    )


@employer_change_app.command("decline")
def decline(
    ref: RefArg,
    reason: ReasonOpt,
    as_: AsOpt = None,
    role: EmployerRoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The claimed employer (`--as EMPLOYER_ID`) or the registrar (`--role registrar`)
    refuses the move; the registration stays bound to its employer."""
    if role is not Role.REGISTRAR:
        _require_as(as_, json_)
    run_command(
        json_,
        "Employer change declined",
        lambda r: DeclineEmployerChange(resolve(r, ref), reason),
        as_=as_,
        role=role,
        default_role=Role.EMPLOYER,
        key=key,
        expected_version=expected_version,
    )


@employer_change_app.command("approve")
def approve(
    ref: RefArg,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Approve an endorsed move: the registration is bound to the new employer from now on."""
    run_command(
        json_,
        "Employer change approved",
        lambda r: ApproveEmployerChange(resolve(r, ref)),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@employer_change_app.command("claims")
def claims(
    employer_id: Annotated[str, typer.Argument(help="The employer's id.", show_default=False)],
    json_: JsonOpt = False,
) -> None:
    """Engineers who asked to move to EMPLOYER_ID, pending its answer or the registrar's."""
    out = Output(json_)
    with query_session(out) as (_registry, projections):
        views = projections.employer_claims(employer_id)
        out.emit(
            [v.as_dict() for v in views],
            [
                table(
                    ["number", "scheme", "name", "bound employer", "endorsed", "since"],
                    [
                        [
                            v.number or str(v.registration_id),
                            v.scheme,
                            v.masked_name or "",
                            v.employer_id or "",
                            "yes" if v.pending_endorsed else "no",
                            v.status_since.date().isoformat(),
                        ]
                        for v in views
                    ],
                )
            ],
        )


def _require_as(as_: str | None, json_: bool) -> None:
    if as_ is None:
        Output(json_).fail(
            "input.actor_required",
            "the claimed employer answers: give --as EMPLOYER_ID",
            2,
        )
