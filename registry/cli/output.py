"""How the CLI talks: rich tables for people, JSON for machines, one-line errors on stderr.

Every command takes `--json`. Human output goes through `Output.console` (stdout); errors
and progress bars go to stderr, so `registry ... --json | jq` always gets clean JSON.
Nothing here ever receives personal data other than masked names.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from domain.errors import DomainError, InvalidEvidence, InvalidInput
from registry.application import NotFound, SecretUnavailable, StoreIntegrityError
from registry.bootstrap import describe_store_failure, is_store_failure

EXIT_REFUSED = 1
EXIT_INPUT = 2
EXIT_UNAVAILABLE = 3
"""The store cannot serve right now (PostgreSQL down, disk full, read-only file): retry."""

# Refusals caused by what the caller typed (unknown number, bad value) rather than by a rule.
_INPUT_ERRORS: tuple[type[DomainError], ...] = (InvalidInput, InvalidEvidence, NotFound)


class CliInputError(Exception):
    """Bad command-line input: exit code 2, nothing written."""

    def __init__(self, message: str, code: str = "input.invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def to_jsonable(value: Any) -> Any:
    """Plain JSON values from views, results, dataclasses, dates, UUIDs and enums."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Path):
        return str(value)
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, Decimal):
        return float(value)
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return to_jsonable(as_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [to_jsonable(v) for v in value]
    raise TypeError(f"cannot serialise {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, indent=2, sort_keys=False)


def text(value: Any) -> str:
    """A cell's text: empty for None, ISO dates, yes/no for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


STATUS_STYLES = {
    "active": "green",
    "suspended": "yellow",
    "expired": "dark_orange",
    "revoked": "red",
    "rejected": "red",
    "withdrawn": "dim",
    "not_registered": "dim",
}


def styled_status(status: str | None) -> str:
    if not status:
        return ""
    style = STATUS_STYLES.get(status)
    return f"[{style}]{status}[/{style}]" if style else status


class Output:
    """One command's output channel."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        # Piped or captured output gets room for full registration numbers and ids.
        width = None if sys.stdout.isatty() else 160
        self.console = Console(highlight=False, soft_wrap=False, width=width)
        self.errors = Console(stderr=True, highlight=False)

    # ----------------------------------------------------------------- results

    def json(self, value: Any) -> None:
        sys.stdout.write(dumps(value) + "\n")
        sys.stdout.flush()

    def emit(self, data: Any, human: Iterable[Any] | None = None) -> None:
        """`data` as JSON under `--json`, else each renderable (or a key/value table)."""
        if self.as_json:
            self.json(data)
            return
        if human is None:
            self.console.print(key_values(to_jsonable(data)))
            return
        for item in human:
            self.console.print(item)

    def print(self, *items: Any) -> None:
        if not self.as_json:
            self.console.print(*items)

    def whole_line(self, line: str) -> None:
        """A line printed unwrapped (a long URL stays one line a person can copy)."""
        if not self.as_json:
            self.console.print(line, soft_wrap=True, markup=False)

    # ------------------------------------------------------------------ errors

    def fail(self, code: str, message: str, exit_code: int) -> NoReturn:
        if self.as_json:
            line = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
            sys.stderr.write(line + "\n")
        else:
            sys.stderr.write(f"error [{code}]: {message}\n")
        sys.stderr.flush()
        raise typer.Exit(exit_code)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Map refusals and bad input to one stderr line and an exit code; no traceback."""
        try:
            yield
        except typer.Exit:
            raise
        except CliInputError as exc:
            self.fail(exc.code, exc.message, EXIT_INPUT)
        except StoreIntegrityError as exc:
            self.fail("store.integrity", str(exc), EXIT_REFUSED)
        except SecretUnavailable as exc:
            self.fail(exc.code, str(exc), EXIT_REFUSED)
        except DomainError as exc:
            message = exc.message
            unmet = getattr(exc, "unmet", None)
            if unmet:
                message = "; ".join(f"{u.code}: {u.message}" for u in unmet)
            exit_code = EXIT_INPUT if isinstance(exc, _INPUT_ERRORS) else EXIT_REFUSED
            self.fail(exc.code, message, exit_code)
        except ValueError as exc:  # settings and library argument checks
            self.fail("input.invalid", str(exc), EXIT_INPUT)
        except Exception as exc:
            if is_store_failure(exc):
                self.fail("store.unavailable", store_failure_message(exc), EXIT_UNAVAILABLE)
            if isinstance(exc, OSError):
                self.fail("os.error", f"{type(exc).__name__}: {exc}", EXIT_REFUSED)
            raise


def store_failure_message(exc: BaseException) -> str:
    """What a person needs from a store failure: that it is the store, and its one line."""
    return f"the data store is unavailable ({describe_store_failure(exc)}); retry later"


def report_store_failure(exc: BaseException, as_json: bool) -> NoReturn:
    """One stderr line and exit 3, for store failures outside any `Output.guard`."""
    Output(as_json).fail("store.unavailable", store_failure_message(exc), EXIT_UNAVAILABLE)


def key_values(data: Any, title: str | None = None) -> Table:
    """A two-column table of a flat (or shallow) mapping."""
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, Mapping):
                value = ", ".join(f"{k}={text(v)}" for k, v in value.items())
            elif isinstance(value, list):
                value = ", ".join(text(v) for v in value)
            cell = styled_status(value) if key in {"status", "public_status"} else text(value)
            table.add_row(str(key), cell)
    return table


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    status_column: str | None = "status",
    no_wrap: Sequence[str] = ("number", "registration", "registration_id"),
) -> Table:
    result = Table(title=title, header_style="bold")
    for name in columns:
        result.add_column(name, no_wrap=name in no_wrap, overflow="fold")
    for row in rows:
        cells = []
        for name, value in zip(columns, row, strict=True):
            cell = text(value)
            cells.append(styled_status(cell) if name == status_column else cell)
        result.add_row(*cells)
    return result
