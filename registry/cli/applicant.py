"""The applicant's commands: apply, submit, supplement, withdraw, CE hours, amend.

Each builds one command and hands it to `RegistryApp.handle` through `run_command`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from domain.evidence import EVIDENCE_KINDS, MAX_EVIDENCE_BYTES, EvidenceRef
from registry.application import (
    Amend,
    Apply,
    AttachEvidence,
    ProvideSupplement,
    RecordCe,
    RegistryApp,
    Submit,
    Withdraw,
)
from registry.cli.common import (
    APPLICANT,
    AsOpt,
    JsonOpt,
    KeyOpt,
    OptionalReasonOpt,
    RefArg,
    RoleOpt,
    VersionOpt,
    personal_from,
    read_json_file,
    resolve,
    run_command,
)
from registry.cli.output import CliInputError
from registry.cli.root import app


@app.command("apply", rich_help_panel=APPLICANT)
def apply(
    file: Annotated[Path, typer.Argument(help="JSON: {scheme, personal: {...}, facts: {...}}.")],
    scheme: Annotated[
        str | None, typer.Option("--scheme", help="SIE or IET (overrides the file).")
    ] = None,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Start an application (a draft) from a JSON file of personal data and facts."""

    def build(_registry: RegistryApp) -> Apply:
        data = read_json_file(file, "application")
        code = scheme or data.get("scheme")
        if not isinstance(code, str) or not code:
            raise CliInputError('the scheme is missing: give --scheme or a "scheme" field')
        facts = data.get("facts")
        if not isinstance(facts, dict):
            raise CliInputError('the application file needs a "facts" object')
        return Apply(code.upper(), personal_from(data.get("personal"), "personal"), facts)

    run_command(json_, "Drafted", build, as_=as_, role=role, key=key)


evidence_app = typer.Typer(
    help="Evidence files (PDF, JPG or PNG, 5 MB each).", no_args_is_help=True
)
app.add_typer(evidence_app, name="evidence", rich_help_panel=APPLICANT)


@evidence_app.command("add")
def evidence_add(
    ref: RefArg,
    file: Annotated[Path, typer.Argument(help="The file: PDF, JPG or PNG, at most 5 MB.")],
    kind: Annotated[
        str, typer.Option("--kind", help=f"One of: {', '.join(sorted(EVIDENCE_KINDS))}.")
    ],
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Attach an evidence file to a draft or a returned application (type from its bytes)."""

    def build(r: RegistryApp) -> AttachEvidence:
        if kind not in EVIDENCE_KINDS:
            raise CliInputError(f"--kind must be one of {', '.join(sorted(EVIDENCE_KINDS))}")
        try:
            if file.stat().st_size > MAX_EVIDENCE_BYTES:
                raise CliInputError(f"{file} is larger than {MAX_EVIDENCE_BYTES} bytes")
            content = file.read_bytes()
        except OSError as exc:
            raise CliInputError(f"cannot read {file}: {exc.strerror}") from None
        evidence = EvidenceRef.of(content, kind, file.name)
        return AttachEvidence(resolve(r, ref), evidence, content)

    run_command(
        json_,
        "EvidenceAttached",
        build,
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("submit", rich_help_panel=APPLICANT)
def submit(
    ref: RefArg,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Submit a draft (eligibility is checked; every unmet condition is reported)."""
    run_command(
        json_,
        "Submitted",
        lambda r: Submit(resolve(r, ref)),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("supplement", rich_help_panel=APPLICANT)
def supplement(
    ref: RefArg,
    facts_file: Annotated[
        Path | None, typer.Option("--facts", help="JSON file with the corrected facts.")
    ] = None,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Answer a return for supplement (optionally with corrected facts)."""

    def build(registry: RegistryApp) -> ProvideSupplement:
        facts: dict[str, Any] | None = None
        if facts_file is not None:
            data = read_json_file(facts_file, "facts")
            facts = data["facts"] if isinstance(data.get("facts"), dict) else data
        return ProvideSupplement(resolve(registry, ref), facts)

    run_command(
        json_,
        "Supplemented",
        build,
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("withdraw", rich_help_panel=APPLICANT)
def withdraw(
    ref: RefArg,
    reason: OptionalReasonOpt = "",
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Withdraw an application that is not approved."""
    run_command(
        json_,
        "Withdrawn",
        lambda r: Withdraw(resolve(r, ref), reason),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("ce", rich_help_panel=APPLICANT)
def ce(
    ref: RefArg,
    hours: Annotated[float, typer.Option("--hours", help="CE hours (0 < h ≤ 500).")],
    provider: Annotated[str, typer.Option("--provider", help="Training provider.")],
    course: Annotated[str, typer.Option("--course", help="Course title.")] = "",
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record continuing-education (继续教育) hours."""
    run_command(
        json_,
        "CE recorded",
        lambda r: RecordCe(resolve(r, ref), hours, provider, course),
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )


@app.command("amend", rich_help_panel=APPLICANT)
def amend(
    ref: RefArg,
    changes_file: Annotated[
        Path,
        typer.Option(
            "--changes",
            help="JSON: facts to change (employer, projects, ...) and "
            'optionally "personal" (never a new ID number).',
        ),
    ],
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Amend details; a new employer or project sends an approved registration to re-review."""

    def build(registry: RegistryApp) -> Amend:
        changes = read_json_file(changes_file, "changes")
        personal_data = changes.pop("personal", None) or changes.pop("personal_data", None)
        personal = personal_from(personal_data, "personal") if personal_data else None
        return Amend(resolve(registry, ref), changes, personal)

    run_command(
        json_,
        "Amended",
        build,
        as_=as_,
        role=role,
        key=key,
        expected_version=expected_version,
    )
