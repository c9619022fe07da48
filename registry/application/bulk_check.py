"""Bulk tender check (SPEC §2, §11): many registrations, as of the tender date, signed.

A tender officer sends up to 1,000 registration numbers or credentials, the tender date and
optionally the bidding employer. Each row gets its status on that date and now, whether the
engineer was registered to the bidding employer on that date, and (for credentials) whether
the signature is genuine. The whole report is signed with the registry's active key as a
detached JWS (RFC 7515 Appendix F) over its canonical JSON, so the file can be kept as
evidence and checked later against the published JWKS, with or without this service.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from domain.clock import BusinessTime
from domain.errors import InvalidInput
from domain.numbering import is_well_formed
from domain.wording import describe_both, status_both, verdict_both
from registry.credentials import Algorithm, KeyStore, KeyStoreError
from registry.credentials import sign_bytes as sign
from registry.credentials import verify_signature as verify

MAX_ROWS = 1000
MAX_INPUT_CHARS = 8192
JWS_TYPE = "registry-bulk-check+json"

Verdict = Literal["pass", "fail", "could_not_check"]


class BulkInputError(ValueError):
    """The request cannot be checked at all; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PublicKeys(Protocol):
    """Where verification finds public keys by kid: the registry's `KeyStore`, or a JWKS
    trust list read offline (`registry verify-report --trust-list`)."""

    def public_keys(self) -> Sequence[tuple[bytes, Any]]: ...


class StatusOn(Protocol):
    """What the point-in-time projection answers (projections.StatusAsOf)."""

    @property
    def number(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def permitted_to_practise(self) -> bool: ...
    @property
    def reason_code(self) -> str | None: ...
    @property
    def since(self) -> datetime | None: ...
    @property
    def valid_until(self) -> date | None: ...
    @property
    def employer_id(self) -> str | None: ...
    @property
    def pending_employer_id(self) -> str | None: ...
    @property
    def scheme(self) -> str: ...


class CurrentView(Protocol):
    """What the current-status projection answers (projections.RegistrationView)."""

    @property
    def number(self) -> str | None: ...
    @property
    def scheme(self) -> str: ...
    @property
    def public_status(self) -> str: ...
    @property
    def status_reason(self) -> str: ...
    @property
    def status_since(self) -> datetime: ...
    @property
    def valid_until(self) -> date | None: ...
    @property
    def masked_name(self) -> str | None: ...
    @property
    def employer_id(self) -> str | None: ...
    @property
    def pending_employer_id(self) -> str | None: ...
    @property
    def permitted_to_practise(self) -> bool: ...


@dataclass(frozen=True)
class CredentialCheck:
    """The outcome of checking a credential's signature offline (no live status)."""

    genuine: bool | None  # None: could not check (e.g. key unavailable)
    number: str | None
    reason: str | None  # reason code of the first failing step


@dataclass(frozen=True)
class Lookups:
    """The read side the check needs, injected so the service is testable on its own."""

    status_as_of: Callable[[str, date], StatusOn | None]
    current: Callable[[str], CurrentView | None]
    check_credential: Callable[[str], CredentialCheck]


@dataclass
class BulkRow:
    index: int
    input: str
    kind: Literal["number", "credential", "invalid"]
    number: str | None = None
    found: bool = False
    scheme: str | None = None
    masked_name: str | None = None
    status_on_date: str | None = None
    permitted_on_date: bool | None = None
    reason_on_date: str | None = None
    since_on_date: str | None = None
    valid_until_on_date: str | None = None
    employer_on_date: str | None = None
    registered_to_bidding_employer: bool | None = None
    status_now: str | None = None
    permitted_now: bool | None = None
    reason_now: str | None = None
    since_now: str | None = None
    credential_genuine: bool | None = None
    credential_reason: str | None = None
    verdict: Verdict = "fail"
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. changed since the tender date
    extra: dict[str, str] = field(default_factory=dict)  # the officer's own CSV columns


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _shown_input(text: str) -> str:
    """Credentials are long; the report keeps a recognisable, bounded prefix."""
    return text if len(text) <= 80 else text[:77] + "..."


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of a CSV upload and the encoding it was read as: UTF-8 (with or without a
    BOM, `utf-8-sig` / `utf-8`), else GB18030 (a superset of GBK: Chinese Excel's CSV)."""
    bom = data.startswith(b"\xef\xbb\xbf")
    encodings = ("utf-8-sig",) if bom else ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise BulkInputError(
        "bulk.csv_encoding", "the CSV file must be UTF-8 (with or without BOM) or GBK/GB18030"
    )


def parse_csv(data: bytes) -> list[str]:
    """Rows from a CSV upload: the first column, or the column named number/credential."""
    return parse_csv_with_encoding(data)[0]


def parse_csv_with_encoding(data: bytes) -> tuple[list[str], str]:
    """`parse_csv` and the encoding the upload was read as (see `decode_csv`)."""
    table = parse_csv_table(data)
    return table.items, table.encoding


@dataclass(frozen=True)
class CsvInput:
    """A CSV upload: the items to check, how it was read, and the officer's other columns
    (named by the header row, else ``column_N``), kept per row for the outputs."""

    items: list[str]
    encoding: str
    extra_columns: list[str]
    extras: list[dict[str, str]]


def parse_csv_table(data: bytes) -> CsvInput:
    text, encoding = decode_csv(data)
    items, names, extras = _csv_table(text)
    return CsvInput(items, encoding, names, extras)


def _csv_items(text: str) -> list[str]:
    return _csv_table(text)[0]


def _csv_table(text: str) -> tuple[list[str], list[str], list[dict[str, str]]]:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise BulkInputError("bulk.csv_invalid", "the CSV file cannot be parsed") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        return [], [], []
    first = [c.strip() for c in rows[0]]
    header = [c.lower() for c in first]
    column = 0
    named = True
    for name in ("number", "registration_number", "credential", "item", "编号", "登记编号"):
        if name in header:
            column = header.index(name)
            rows = rows[1:]
            break
    else:
        if header and header[0] in {"input", "registration", "no", "id"}:
            rows = rows[1:]
        else:
            named = False
    width = max(len(r) for r in rows) if rows else len(first)
    names = [
        _extra_name(first[i] if named and i < len(first) and first[i] else f"column_{i + 1}")
        for i in range(width)
    ]
    kept = [i for i in range(width) if i != column]
    unique: list[str] = []
    for i in kept:
        name = names[i]
        while name in unique:
            name += "_"
        unique.append(name)
    items = [r[column].strip() if column < len(r) else "" for r in rows]
    extras = [
        {name: (r[i].strip() if i < len(r) else "") for name, i in zip(unique, kept, strict=True)}
        for r in rows
    ]
    return items, unique, extras


def _extra_name(name: str) -> str:
    """An officer's column name, kept apart from the report's own column names."""
    return f"input.{name}" if name in CSV_COLUMNS else name


def check_tender_date(as_of: date, today: date, *, allow_future: bool = False) -> None:
    """Refuse a tender date after `today` (the registry's local day, like every business
    date) unless asked: a status "as of" a day that has not come yet is a forecast."""
    if as_of > today and not allow_future:
        raise BulkInputError(
            "bulk.tender_date_in_future",
            f"the tender date {as_of.isoformat()} is in the future; "
            "pass allow_future=true to check it anyway",
        )


def check_rows(
    items: Sequence[str],
    as_of: date,
    bidding_employer_id: str | None,
    lookups: Lookups,
    extras: Sequence[dict[str, str]] | None = None,
) -> list[BulkRow]:
    """Check every row; one bad row never spoils the others."""
    if len(items) > MAX_ROWS:
        raise BulkInputError(
            "bulk.too_many_rows", f"at most {MAX_ROWS} rows per request, got {len(items)}"
        )
    if not items:
        raise BulkInputError("bulk.empty", "no registration numbers or credentials given")
    rows = [_check_one(i, raw, as_of, bidding_employer_id, lookups) for i, raw in enumerate(items)]
    for row, extra in zip(rows, extras or (), strict=False):
        row.extra = dict(extra)
    return rows


def _check_one(
    index: int, raw: str, as_of: date, employer: str | None, lookups: Lookups
) -> BulkRow:
    text = raw.strip()
    number: str | None = None
    if is_well_formed(text.upper()):
        row = BulkRow(index, text, "number")
        number = text.upper()
    elif len(text) > MAX_INPUT_CHARS or not text:
        return BulkRow(index, _shown_input(text), "invalid", problems=["input.malformed"])
    elif _looks_like_number(text):
        return BulkRow(index, text, "invalid", problems=["registration_number.malformed"])
    else:
        row = BulkRow(index, _shown_input(text), "credential")
        outcome = lookups.check_credential(text)
        row.credential_genuine = outcome.genuine
        row.credential_reason = outcome.reason
        number = outcome.number
        if outcome.genuine is False:
            row.problems.append(f"credential.{outcome.reason or 'invalid'}")
        elif outcome.genuine is None:
            row.problems.append(f"credential.could_not_check.{outcome.reason or 'unknown'}")
        if number is None:
            row.verdict = "fail" if outcome.genuine is False else "could_not_check"
            return row
    row.number = number
    try:
        then = lookups.status_as_of(number, as_of)
        now = lookups.current(number)
    except Exception:  # a store failure must read as "could not check", never as "clean"
        row.problems.append("status.could_not_check")
        row.verdict = "could_not_check"
        return row
    if now is None and then is None:
        row.problems.append("registration.not_found")
        row.verdict = "fail"
        return row
    row.found = True
    if now is not None:
        row.scheme = now.scheme
        row.masked_name = now.masked_name
        row.status_now = now.public_status
        row.permitted_now = now.permitted_to_practise
        row.reason_now = now.status_reason
        row.since_now = _iso(now.status_since)
    if then is None:
        row.status_on_date = "not_registered"
        row.permitted_on_date = False
        row.problems.append("registration.not_registered_on_date")
    else:
        row.scheme = row.scheme or then.scheme
        row.status_on_date = then.status
        row.permitted_on_date = then.permitted_to_practise
        row.reason_on_date = then.reason_code
        row.since_on_date = _iso(then.since)
        row.valid_until_on_date = _iso(then.valid_until)
        row.employer_on_date = then.employer_id
        if not then.permitted_to_practise:
            row.problems.append(f"status.{then.status}_on_date")
    if employer is not None:
        # Bound employer only (SPEC §12): a move the new employer had not endorsed and the
        # registrar had not approved by the tender date never binds the engineer to it.
        row.registered_to_bidding_employer = (
            then is not None and then.employer_id is not None and then.employer_id == employer
        )
        if not row.registered_to_bidding_employer:
            row.problems.append("employer.mismatch_on_date")
    if then is not None and then.pending_employer_id is not None:
        row.warnings.append("employer.change_pending_on_date")
    elif now is not None and now.pending_employer_id is not None:
        row.warnings.append("employer.change_pending_now")
    changed = then is not None and then.permitted_to_practise and now is not None
    if changed and now is not None and not now.permitted_to_practise:
        row.warnings.append(f"status.now_{now.public_status}")
    if row.credential_genuine is None and row.kind == "credential":
        row.verdict = "could_not_check"
    elif row.problems:
        row.verdict = "fail"
    else:
        row.verdict = "pass"
    return row


def _looks_like_number(text: str) -> bool:
    """Something typed as a registration number but with a wrong check character or shape."""
    parts = text.split("-")
    return len(parts) == 4 and len(text) <= 30 and parts[0].isalpha()


# --------------------------------------------------------------------------- report


def build_report(
    rows: Iterable[BulkRow],
    *,
    as_of: date,
    bidding_employer_id: str | None,
    issuer: str,
    checked_at: datetime,
    timezone: str,
    input_encoding: str | None = None,
    extra_columns: Sequence[str] = (),
) -> dict[str, Any]:
    """The unsigned report; `sign_report` adds the signature. `timezone` is the registry's
    zone, kept in the signed report so that its CSV and PDF always show the same local dates
    and times (instants in the JSON stay UTC). `input_encoding` says how an uploaded CSV was
    read (absent for JSON input); `extra_columns` names the officer's own CSV columns, kept
    in each row's `extra` (absent when there are none)."""
    row_dicts = [asdict(r) for r in rows]
    verdicts = [r["verdict"] for r in row_dicts]
    optional: dict[str, Any] = {} if input_encoding is None else {"input_encoding": input_encoding}
    if extra_columns:
        optional["extra_columns"] = list(extra_columns)
    return {
        **optional,
        "report_id": str(uuid.uuid4()),
        "type": "bulk_tender_check",
        "issuer": issuer,
        "checked_at": checked_at.isoformat(),
        "timezone": timezone,
        "as_of": as_of.isoformat(),
        "bidding_employer_id": bidding_employer_id,
        "summary": {
            "rows": len(row_dicts),
            "pass": verdicts.count("pass"),
            "fail": verdicts.count("fail"),
            "could_not_check": verdicts.count("could_not_check"),
        },
        "rows": row_dicts,
    }


def report_business_time(report: dict[str, Any]) -> BusinessTime:
    """The zone a report's instants are shown in: the one it was made in. A report made
    before reports carried their zone was shown in UTC, and still is."""
    try:
        return BusinessTime(str(report.get("timezone") or "UTC"))
    except InvalidInput:
        return BusinessTime("UTC")


def canonical_json(document: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the exact bytes the signature covers."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_bytes(keys: KeyStore, payload: bytes, typ: str) -> dict[str, str]:
    """Detached compact JWS (`header..signature`) over `payload` with the active key."""
    key = keys.active()
    header = {"alg": key.alg.jose_name, "kid": _b64url(key.kid), "typ": typ}
    protected = _b64url(canonical_json(header))
    signing_input = f"{protected}.{_b64url(payload)}".encode("ascii")
    signature = _b64url(sign(key.private_key, signing_input))
    return {"alg": key.alg.jose_name, "kid": _b64url(key.kid), "jws": f"{protected}..{signature}"}


def sign_report(keys: KeyStore, report: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in report.items() if k != "signature"}
    return {**body, "signature": sign_bytes(keys, canonical_json(body), JWS_TYPE)}


@dataclass(frozen=True)
class SignatureCheck:
    valid: bool
    code: str
    kid: str | None = None
    alg: str | None = None


def verify_detached(keys: PublicKeys, payload: bytes, jws: str) -> SignatureCheck:
    """Check a detached JWS made by `sign_bytes` against the registry's published keys."""
    parts = jws.split(".")
    if len(parts) != 3 or parts[1] != "":
        return SignatureCheck(False, "signature.malformed")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        signature = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        return SignatureCheck(False, "signature.malformed")
    if not isinstance(header, dict):
        return SignatureCheck(False, "signature.malformed")
    kid_text, alg_name = header.get("kid"), header.get("alg")
    if not isinstance(kid_text, str) or not isinstance(alg_name, str):
        return SignatureCheck(False, "signature.malformed")
    try:
        kid = _b64url_decode(kid_text)
        alg = Algorithm.from_jose_name(alg_name)
    except ValueError:
        return SignatureCheck(False, "signature.algorithm_unsupported", kid_text, alg_name)
    try:
        public = dict(keys.public_keys()).get(kid)
    except KeyStoreError:
        return SignatureCheck(False, "signature.keys_unavailable", kid_text, alg_name)
    if public is None:
        return SignatureCheck(False, "signature.unknown_key", kid_text, alg_name)
    signing_input = f"{parts[0]}.{_b64url(payload)}".encode("ascii")
    try:
        ok = verify(public, alg.value, signature, signing_input)
    except ValueError:
        return SignatureCheck(False, "signature.algorithm_unsupported", kid_text, alg_name)
    return SignatureCheck(ok, "signature.valid" if ok else "signature.invalid", kid_text, alg_name)


def verify_report(keys: PublicKeys, report: dict[str, Any]) -> SignatureCheck:
    signature = report.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("jws"), str):
        return SignatureCheck(False, "signature.missing")
    body = {k: v for k, v in report.items() if k != "signature"}
    return verify_detached(keys, canonical_json(body), signature["jws"])


CSV_COLUMNS = (
    "index",
    "input",
    "kind",
    "number",
    "found",
    "scheme",
    "masked_name",
    "status_on_date",
    "permitted_on_date",
    "reason_on_date",
    "since_on_date",
    "valid_until_on_date",
    "employer_on_date",
    "registered_to_bidding_employer",
    "status_now",
    "permitted_now",
    "reason_now",
    "since_now",
    "credential_genuine",
    "credential_reason",
    "verdict",
    "problems",
    "warnings",
)
WORD_COLUMNS = {
    "status_on_date": "status_on_date_words",
    "reason_on_date": "reason_on_date_words",
    "status_now": "status_now_words",
    "reason_now": "reason_now_words",
    "credential_reason": "credential_reason_words",
    "verdict": "verdict_words",
    "problems": "problems_words",
    "warnings": "warnings_words",
}
"""Beside each code column, the same in words (zh and en) for the people who read the CSV."""
LOCAL_DATE_COLUMNS = frozenset({"since_on_date", "since_now"})
"""Instants in the JSON that the CSV shows as local calendar dates."""


def report_csv(report: dict[str, Any]) -> bytes:
    """The rows as CSV (UTF-8 with BOM, so spreadsheet tools read the Chinese correctly).

    Dates are local calendar dates in the report's zone (SPEC §12 "Time"): the `since_*`
    instants of the JSON become the local day they fall on.
    """
    business = report_business_time(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    extra_columns = [str(c) for c in report.get("extra_columns") or []]
    header: list[str] = []
    for column in CSV_COLUMNS:
        header.append(column)
        if column in WORD_COLUMNS:
            header.append(WORD_COLUMNS[column])
    writer.writerow([*header, *(_csv_safe(c) for c in extra_columns)])
    for row in report["rows"]:
        values = []
        for column in CSV_COLUMNS:
            value = row.get(column)
            if column in WORD_COLUMNS:
                words = _words(column, value)
            if column in LOCAL_DATE_COLUMNS and value:
                value = business.day(datetime.fromisoformat(str(value))).isoformat()
            elif column in {"problems", "warnings"}:
                value = ";".join(value or [])
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            values.append("" if value is None else _csv_safe(str(value)))
            if column in WORD_COLUMNS:
                values.append(_csv_safe(words))
        extra = row.get("extra") or {}
        values += [_csv_safe(str(extra.get(c, ""))) for c in extra_columns]
        writer.writerow(values)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _words(column: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if column.startswith("status_"):
        return status_both(str(value))
    if column == "verdict":
        return verdict_both(str(value))
    if column in {"problems", "warnings"}:
        return "; ".join(describe_both(str(code)) for code in value)
    return describe_both(str(value))


def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formula injection from echoed input."""
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value
