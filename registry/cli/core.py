"""The registry's working commands: set-up, every use case, and the queries.

(`registry demo` is a plugin, registry/demo/cli.py: the registry never imports the demo.)

`registry init`, the applicant / employer / reviewer / registrar commands
(each `--as ACTOR_ID --role ROLE`, defaulting to the registrar operator, and
`--idempotency-key`), and the read-model queries (`status`, `search`, `queue`, ...).
Registrations are addressed by number (`SIE-44-2026-0001237`) or id (uuid).

The CLI never prints an ID number, phone, e-mail or address: only masked names.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.text import Text

from domain.actors import Actor, Role
from domain.numbering import is_well_formed
from domain.personal import PersonalData
from domain.registration import RETURN_REASONS, REVOCATION_REASONS, SUSPENSION_REASONS
from registry.application.errors import NotFound
from registry.application.service import CommandResult, RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_projections, registry_session
from registry.cli.output import CliInputError, Output, key_values, table, text
from registry.cli.progress import progress_bar
from registry.cli.root import app

OPERATOR_ENV = "REGISTRY_OPERATOR"
DEFAULT_OPERATOR = "operator"

SETUP = "Set-up"
APPLICANT = "Applicant (engineer)"
EMPLOYER = "Employer (单位初审)"
REVIEW = "Review (评审)"
REGISTRAR = "Registrar (人社备案 / supervision)"
QUERIES = "Queries"

# ------------------------------------------------------------------ shared options

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        help=f"Acting user id (default: ${OPERATOR_ENV} or '{DEFAULT_OPERATOR}').",
        show_default=False,
    ),
]
RoleOpt = Annotated[
    Role | None,
    typer.Option(
        "--role", help="Role of the acting user (default: registrar).", show_default=False
    ),
]
EmployerRoleOpt = Annotated[
    Role | None,
    typer.Option("--role", help="Role of the acting user (default: employer).", show_default=False),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="Retry-safe key: repeating a command with the same key does not apply it twice.",
        show_default=False,
    ),
]
VersionOpt = Annotated[
    int | None,
    typer.Option(
        "--expected-version",
        help="Refuse unless the registration is still at this version (optimistic locking).",
        show_default=False,
    ),
]
RefArg = Annotated[
    str, typer.Argument(help="Registration number or id (uuid).", show_default=False)
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded on the event).")]
OptionalReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded on the event).")]


# ------------------------------------------------------------------ helpers


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CliInputError(
            f"{option} must be a date as YYYY-MM-DD, got {value!r}", code="input.date"
        ) from None


def today_utc() -> date:
    return datetime.now(tz=UTC).date()


def read_json_file(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from `path`, or one clear input error."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliInputError(f"{what} file {path} does not exist", code="input.file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliInputError(f"cannot read {what} file {path}: {exc}", code="input.file") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CliInputError(
            f"{what} file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}",
            code="input.json",
        ) from None
    if not isinstance(data, dict):
        raise CliInputError(f"{what} file {path} must hold a JSON object", code="input.json")
    return data


def personal_from(data: Any, where: str) -> PersonalData:
    if not isinstance(data, dict):
        raise CliInputError(f"{where} must be an object with name and id_number")
    allowed = {"name", "id_number", "phone", "email", "address"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise CliInputError(f"{where} has unknown fields: {', '.join(unknown)}")
    missing = [k for k in ("name", "id_number") if not isinstance(data.get(k), str)]
    if missing:
        raise CliInputError(f"{where} needs {' and '.join(missing)} as text")
    for key in ("phone", "email", "address"):
        if key in data and not isinstance(data[key], str):
            raise CliInputError(f"{where}.{key} must be text")
    return PersonalData(**{k: str(v) for k, v in data.items()})


def make_actor(as_: str | None, role: Role | None, default_role: Role = Role.REGISTRAR) -> Actor:
    actor_id = as_ if as_ is not None else os.environ.get(OPERATOR_ENV, DEFAULT_OPERATOR)
    if not actor_id.strip() or len(actor_id) > 200:
        raise CliInputError("--as must be 1..200 characters")
    return Actor(actor_id.strip(), role or default_role)


def resolve(app_: RegistryApp, ref: str) -> UUID:
    """A registration id from a number or a uuid; unknown → `registration.not_found`."""
    value = ref.strip()
    try:
        registration_id = UUID(value)
    except ValueError:
        number = value.upper()
        if not is_well_formed(number):
            raise CliInputError(
                f"{ref!r} is neither a registration id nor a well-formed registration number "
                "(e.g. SIE-44-2026-0001237)",
                code="registration_number.malformed",
            ) from None
        return app_.registration_id_for_number(number)
    app_.get(registration_id)  # NotFound when unknown
    return registration_id


def command_options(key: str | None, expected_version: int | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if key is not None:
        if not key.strip() or len(key) > 200:
            raise CliInputError("--idempotency-key must be 1..200 characters")
        options["idempotency_key"] = key
    if expected_version is not None:
        options["expected_version"] = expected_version
    return options


def _masked(app_: RegistryApp, registration_id: UUID) -> str:
    reg = app_.get(registration_id)
    return app_.vault.masked_name(reg.subject_id, reg.personal_data) or "(erased)"


def report(out: Output, app_: RegistryApp, results: Sequence[CommandResult], verb: str) -> None:
    """What a command did: registration, number, new status, events; masked name only."""
    rows = []
    for result in results:
        reg = app_.get(result.registration_id)
        rows.append(
            {
                **result.as_dict(),
                "replayed": result.replayed,
                "scheme": reg.scheme,
                "status": reg.status_at(app_.clock.now()).value,
                "masked_name": _masked(app_, result.registration_id),
            }
        )
    if out.as_json:
        out.json(rows[0] if len(rows) == 1 else rows)
        return
    for row in rows:
        label = row["number"] or row["registration_id"]
        events = ", ".join(row["events"]) or "no new events"
        replay = " (replayed: already applied with this idempotency key)" if row["replayed"] else ""
        out.console.print(
            f"{verb}: [bold]{label}[/bold] {row['masked_name']} — {row['scheme']} "
            f"status [bold]{row['status']}[/bold], version {row['version']}{replay}"
        )
        out.console.print(f"  events: {events}", style="dim")
        if row["number"]:
            out.console.print(f"  id: {row['registration_id']}", style="dim")


def run_command(
    as_json: bool,
    verb: str,
    action: Callable[[RegistryApp, Actor], CommandResult | list[CommandResult]],
    *,
    as_: str | None = None,
    role: Role | None = None,
    default_role: Role = Role.REGISTRAR,
) -> None:
    out = Output(as_json)
    with out.guard():
        actor = make_actor(as_, role, default_role)
        with registry_session() as registry:
            result = action(registry, actor)
            results = result if isinstance(result, list) else [result]
            if not results:
                raise CliInputError("nothing to do", code="input.nothing_to_do")
            report(out, registry, results, verb)


@contextmanager
def query_session(out: Output) -> Iterator[tuple[RegistryApp, Any]]:
    """The app and caught-up projections for a query; errors become one stderr line."""
    with out.guard(), registry_session() as registry:
        projections = open_projections(registry)
        lag = projections.lag()
        with progress_bar(lag if lag > 500 else 0, "Updating projections", quiet=lag <= 500) as bar:
            projections.catch_up(bar)
        yield registry, projections


# ================================================================== set-up


@app.command("init", rich_help_panel=SETUP)
def init(json_: JsonOpt = False) -> None:
    """Create the store (events, vault, projections) and the default scheme policies."""
    out = Output(json_)
    # A new registry makes its secret key files here; everything else refuses without them.
    with out.guard(), registry_session(Settings.load(create_missing_secrets=True)) as registry:
        projections = open_projections(registry)
        schemes = registry.schemes()
        data = {
            "store": registry.settings.describe_store(),
            "schemes": [
                {"code": s.code, "version": s.version, "name_zh": s.name_zh, "name_en": s.name_en}
                for s in schemes
            ],
            "projection_position": projections.position(),
            "events": registry.recorder.max_notification_id() or 0,
        }
        out.emit(
            data,
            [
                f"Registry store ready: [bold]{data['store']}[/bold]",
                table(
                    ["code", "version", "name_zh", "name_en"],
                    [[s.code, s.version, s.name_zh, s.name_en] for s in schemes],
                    title="Scheme policies",
                ),
                f"events in the log: {data['events']}, "
                f"projections at {data['projection_position']}",
            ],
        )


# ================================================================== applicant


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

    def action(registry: RegistryApp, actor: Actor) -> CommandResult:
        data = read_json_file(file, "application")
        code = scheme or data.get("scheme")
        if not isinstance(code, str) or not code:
            raise CliInputError('the scheme is missing: give --scheme or a "scheme" field')
        facts = data.get("facts")
        if not isinstance(facts, dict):
            raise CliInputError('the application file needs a "facts" object')
        personal = personal_from(data.get("personal"), "personal")
        return registry.apply(actor, code.upper(), personal, facts, **command_options(key))

    run_command(json_, "Drafted", action, as_=as_, role=role)


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
        lambda r, a: r.submit(resolve(r, ref), a, **command_options(key, expected_version)),
        as_=as_,
        role=role,
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

    def action(registry: RegistryApp, actor: Actor) -> CommandResult:
        facts = None
        if facts_file is not None:
            data = read_json_file(facts_file, "facts")
            facts = data["facts"] if isinstance(data.get("facts"), dict) else data
        return registry.provide_supplement(
            resolve(registry, ref), actor, facts, **command_options(key, expected_version)
        )

    run_command(json_, "Supplemented", action, as_=as_, role=role)


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
        lambda r, a: r.withdraw(
            resolve(r, ref), a, reason, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.record_ce(
            resolve(r, ref), a, hours, provider, course, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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

    def action(registry: RegistryApp, actor: Actor) -> CommandResult:
        changes = read_json_file(changes_file, "changes")
        personal_data = changes.pop("personal", None) or changes.pop("personal_data", None)
        personal = personal_from(personal_data, "personal") if personal_data else None
        return registry.amend(
            resolve(registry, ref),
            actor,
            changes,
            personal,
            **command_options(key, expected_version),
        )

    run_command(json_, "Amended", action, as_=as_, role=role)


# ================================================================== employer


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
        lambda r, a: r.endorse(resolve(r, ref), a, note, **command_options(key, expected_version)),
        as_=as_,
        role=role,
        default_role=Role.EMPLOYER,
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
        lambda r, a: r.decline(
            resolve(r, ref), a, reason, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
        default_role=Role.EMPLOYER,
    )


def _require_as(as_: str | None, json_: bool, verb: str) -> None:
    if as_ is None:
        Output(json_).fail(
            "input.actor_required", f"{verb} is the employer's decision: give --as EMPLOYER_ID", 2
        )


# ================================================================== review

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
        lambda r, a: r.start_review(resolve(r, ref), a, **command_options(key, expected_version)),
        as_=as_,
        role=role,
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
        lambda r, a: r.record_expert_score(
            resolve(r, ref), a, value, method.value, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.return_for_supplement(
            resolve(r, ref), a, codes, note, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.request_further_verification(
            resolve(r, ref), a, reason, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.approve(resolve(r, ref), a, **command_options(key, expected_version)),
        as_=as_,
        role=role,
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
        lambda r, a: r.reject(resolve(r, ref), a, reason, **command_options(key, expected_version)),
        as_=as_,
        role=role,
    )


# ================================================================== registrar


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
        lambda r, a: r.record_annual_assessment(
            resolve(r, ref), a, year, passed, note, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.suspend(
            resolve(r, ref), a, code, reason, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.reinstate(
            resolve(r, ref), a, reason, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.revoke(
            resolve(r, ref), a, code, reason, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.list_as_dishonest(
            resolve(r, ref), a, reason, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.lift_dishonesty(
            resolve(r, ref), a, reason, **command_options(key, expected_version)
        ),
        as_=as_,
        role=role,
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
        lambda r, a: r.erase_personal_data(resolve(r, ref), a),
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


# ================================================================== queries


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
    with query_session(out) as (registry, projections):
        on = parse_date(as_of, "--as-of") or today_utc()
        number = _number_for(registry, projections, ref)
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
        since = f" since {text(answer.since)}" if answer.since else ""
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


def _number_for(registry: RegistryApp, projections: Any, ref: str) -> str:
    value = ref.strip()
    try:
        registration_id = UUID(value)
    except ValueError:
        number = value.upper()
        if not is_well_formed(number):
            raise CliInputError(
                f"{ref!r} is not a well-formed registration number (e.g. SIE-44-2026-0001237)",
                code="registration_number.malformed",
            ) from None
        return number
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
        day = parse_date(on, "--on") or today_utc()
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


projections_app = typer.Typer(help="Read models: rebuild, catch up, status.", no_args_is_help=True)
app.add_typer(projections_app, name="projections", rich_help_panel=QUERIES)


def _projection_run(json_: JsonOpt, quiet: bool, rebuild: bool) -> None:
    out = Output(json_)
    with out.guard(), registry_session() as registry:
        projections = open_projections(registry)
        total = (registry.recorder.max_notification_id() or 0) if rebuild else projections.lag()
        label = "Rebuilding projections" if rebuild else "Catching up"
        started = time.perf_counter()
        with progress_bar(total, label, quiet=quiet) as bar:
            events = projections.rebuild(bar) if rebuild else projections.catch_up(bar)
        seconds = time.perf_counter() - started
        rate = events / seconds if seconds > 0 else 0.0
        data = {
            "events": events,
            "elapsed_seconds": round(seconds, 3),
            "events_per_second": round(rate, 1),
            "position": projections.position(),
        }
        verb = "rebuilt from" if rebuild else "caught up on"
        out.emit(
            data,
            [
                f"{verb} {events} events in {seconds:.2f} s ({rate:.0f} events/s); "
                f"position {data['position']}"
            ],
        )


@projections_app.command("rebuild")
def projections_rebuild(
    quiet: Annotated[bool, typer.Option("--quiet")] = False, json_: JsonOpt = False
) -> None:
    """Replay the whole event log into shadow tables, then switch them in atomically.

    The live read models keep answering (and the server keeps them current) until the
    switch, a single short transaction; a second rebuild of the same store is refused.
    """
    from projections import ProjectionError, RebuildInProgress
    from registry.cli.output import EXIT_REFUSED

    out = Output(json_)
    with out.guard(), registry_session() as registry:
        projections = open_projections(registry)
        total = registry.recorder.max_notification_id() or 0
        started = time.perf_counter()
        try:
            with progress_bar(total, "Rebuilding projections", quiet=quiet) as bar:
                events = projections.rebuild(bar)
        except RebuildInProgress as exc:
            out.fail("projections.rebuild_in_progress", str(exc), EXIT_REFUSED)
        except ProjectionError as exc:
            out.fail("projections.rebuild_failed", str(exc), EXIT_REFUSED)
        seconds = time.perf_counter() - started
        rate = events / seconds if seconds > 0 else 0.0
        report = projections.last_rebuild
        data = {
            "events": events,
            "elapsed_seconds": round(seconds, 3),
            "events_per_second": round(rate, 1),
            "position": projections.position(),
            "switch_attempts": report.switch_attempts if report else None,
            "switch_lock_ms": round(report.switch_seconds * 1000, 1) if report else None,
        }
        out.emit(
            data,
            [
                f"rebuilt from {events} events in {seconds:.2f} s ({rate:.0f} events/s); "
                f"position {data['position']}; switched in {data['switch_lock_ms']} ms"
            ],
        )


@projections_app.command("catch-up")
def projections_catch_up(
    quiet: Annotated[bool, typer.Option("--quiet")] = False, json_: JsonOpt = False
) -> None:
    """Apply the events recorded since the last run."""
    _projection_run(json_, quiet, rebuild=False)


@projections_app.command("status")
def projections_status(json_: JsonOpt = False) -> None:
    """Tracked position and lag behind the event log."""
    out = Output(json_)
    with out.guard(), registry_session() as registry:
        projections = open_projections(registry)
        data = {
            "position": projections.position(),
            "latest_event": registry.recorder.max_notification_id() or 0,
            "lag": projections.lag(),
            "store": registry.settings.describe_store(),
        }
        out.emit(data)
