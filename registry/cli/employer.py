"""The employer's preliminary review (单位初审): endorse or decline, as `--as EMPLOYER_ID`."""

from __future__ import annotations

from typing import Annotated

import typer

from domain.actors import Role
from registry.application import Decline, Endorse
from registry.cli.common import (
    EMPLOYER,
    AsOpt,
    EmployerRoleOpt,
    JsonOpt,
    KeyOpt,
    ReasonOpt,
    RefArg,
    VersionOpt,
    resolve,
    run_command,
)
from registry.cli.output import Output
from registry.cli.root import app


@app.command("endorse", rich_help_panel=EMPLOYER)
def endorse(
    ref: RefArg,
    note: Annotated[str, typer.Option("--note")] = "",
    as_: AsOpt = None,
    role: EmployerRoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Employer preliminary review passed (`--as EMPLOYER_ID`)."""
    _require_as(as_, json_, "endorse")
    run_command(
        json_,
        "Endorsed",
        lambda r: Endorse(resolve(r, ref), note),
        as_=as_,
        role=role,
        default_role=Role.EMPLOYER,
        key=key,
        expected_version=expected_version,
    )


@app.command("decline", rich_help_panel=EMPLOYER)
def decline(
    ref: RefArg,
    reason: ReasonOpt,
    as_: AsOpt = None,
    role: EmployerRoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Employer does not confirm the application (`--as EMPLOYER_ID`)."""
    _require_as(as_, json_, "decline")
    run_command(
        json_,
        "Declined",
        lambda r: Decline(resolve(r, ref), reason),
        as_=as_,
        role=role,
        default_role=Role.EMPLOYER,
        key=key,
        expected_version=expected_version,
    )


def _require_as(as_: str | None, json_: bool, verb: str) -> None:
    if as_ is None:
        Output(json_).fail(
            "input.actor_required", f"{verb} is the employer's decision: give --as EMPLOYER_ID", 2
        )
