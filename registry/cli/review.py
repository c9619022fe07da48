"""Expert review (行业评审): start a review, score, return for supplement, further
verification, approve, reject."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from domain.registration import RETURN_REASONS
from registry.application import (
    Approve,
    RecordExpertScore,
    Reject,
    RequestFurtherVerification,
    ReturnForSupplement,
    StartReview,
)
from registry.cli.common import (
    REVIEW,
    AsOpt,
    JsonOpt,
    KeyOpt,
    ReasonOpt,
    RefArg,
    RoleOpt,
    VersionOpt,
    resolve,
    run_command,
)
from registry.cli.root import app

review_app = typer.Typer(help="Expert review: start a review.", no_args_is_help=True)
app.add_typer(review_app, name="review", rich_help_panel=REVIEW)


@review_app.command("start")
def review_start(
    ref: RefArg,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Take a submitted (IET: employer-endorsed) application into review."""
    run_command(
        json_,
        "Review started",
        lambda r: StartReview(resolve(r, ref)),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


class ScoreMethod(StrEnum):
    defence = "defence"
    material_review = "material_review"
    practical_test = "practical_test"
    combined = "combined"


@app.command("score", rich_help_panel=REVIEW)
def score(
    ref: RefArg,
    value: Annotated[int, typer.Argument(help="Expert review score 0..100.")],
    method: Annotated[ScoreMethod, typer.Option("--method")] = ScoreMethod.combined,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record the expert review score (defence, material review, practical test)."""
    run_command(
        json_,
        "Scored",
        lambda r: RecordExpertScore(resolve(r, ref), value, method.value),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("return", rich_help_panel=REVIEW)
def return_(
    ref: RefArg,
    codes: Annotated[
        list[str],
        typer.Option(
            "--reason", "-r", help="Reason code (repeatable): " + ", ".join(RETURN_REASONS)
        ),
    ],
    note: Annotated[str, typer.Option("--note", help="What the applicant must supply.")] = "",
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Return for supplement with reason codes (e.g. project.no_implementation)."""
    run_command(
        json_,
        "Returned",
        lambda r: ReturnForSupplement(resolve(r, ref), codes, note),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("further-verification", rich_help_panel=REVIEW)
def further_verification(
    ref: RefArg,
    reason: ReasonOpt,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Put under further verification (review period extends to 15 working days)."""
    run_command(
        json_,
        "Further verification",
        lambda r: RequestFurtherVerification(resolve(r, ref), reason),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("approve", rich_help_panel=REVIEW)
def approve(
    ref: RefArg,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Approve: allocates the registration number (a re-review keeps it)."""
    run_command(
        json_,
        "Approved",
        lambda r: Approve(resolve(r, ref)),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("reject", rich_help_panel=REVIEW)
def reject(
    ref: RefArg,
    reason: ReasonOpt,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Reject an application."""
    run_command(
        json_,
        "Rejected",
        lambda r: Reject(resolve(r, ref), reason),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )
