"""What every `registry` command group shares: option types, input parsing, the acting user,
and `run_command`, which builds one command, hands it to `RegistryApp.handle` and reports.

The CLI never prints an ID number, phone, e-mail or address: only masked names.
Registrations are addressed by number (`SIE-44-2026-0001237`) or id (uuid).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from domain.actors import Actor, Role
from domain.numbering import is_well_formed
from domain.personal import PersonalData
from projections import RegistryProjections
from registry.application import Command, CommandOptions, CommandResult, RegistryApp
from registry.bootstrap import open_projections, registry_session
from registry.cli.output import CliInputError, Output
from registry.cli.progress import progress_bar

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


def parse_ref(ref: str, malformed: str) -> UUID | str:
    """A registration id (uuid) or a well-formed registration number (upper-cased)."""
    value = ref.strip()
    try:
        return UUID(value)
    except ValueError:
        number = value.upper()
        if not is_well_formed(number):
            raise CliInputError(
                f"{ref!r} {malformed} (e.g. SIE-44-2026-0001237)",
                code="registration_number.malformed",
            ) from None
        return number


def resolve(app_: RegistryApp, ref: str) -> UUID:
    """A registration id from a number or a uuid; unknown → `registration.not_found`."""
    parsed = parse_ref(ref, "is neither a registration id nor a well-formed registration number")
    if isinstance(parsed, str):
        return app_.registration_id_for_number(parsed)
    app_.get(parsed)  # NotFound when unknown
    return parsed


def command_options(key: str | None, expected_version: int | None = None) -> CommandOptions:
    """The `--idempotency-key` and `--expected-version` options, checked."""
    if key is not None and (not key.strip() or len(key) > 200):
        raise CliInputError("--idempotency-key must be 1..200 characters")
    return CommandOptions(key, expected_version)


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
    build: Callable[[RegistryApp], Command],
    *,
    as_: str | None = None,
    role: Role | None = None,
    default_role: Role = Role.REGISTRAR,
    key: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Build the command (refs resolve in the open store), `handle` it, report the result."""
    out = Output(as_json)
    with out.guard():
        actor = make_actor(as_, role, default_role)
        with registry_session() as registry:
            command = build(registry)
            options = command_options(key, expected_version)
            result = registry.handle(command, actor, options)
            results = result if isinstance(result, list) else [result]
            if not results:
                raise CliInputError("nothing to do", code="input.nothing_to_do")
            report(out, registry, results, verb)


@contextmanager
def query_session(out: Output) -> Iterator[tuple[RegistryApp, RegistryProjections]]:
    """The app and caught-up projections for a query; errors become one stderr line."""
    with out.guard(), registry_session() as registry:
        projections = open_projections(registry)
        lag = projections.lag()
        with progress_bar(lag if lag > 500 else 0, "Updating projections", quiet=lag <= 500) as bar:
            projections.catch_up(bar)
        yield registry, projections
