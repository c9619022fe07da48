"""Every code a person may see has words in zh and en (issue 11: words, not codes)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from domain import reasons
from domain.standing import LAPSED_REASON
from domain.status import Status
from domain.wording import REASON_WORDS, STATUS_WORDS, describe, status_words

ROOT = Path(__file__).resolve().parents[2]


def _string_args(path: Path, callees: set[str], position: int) -> set[str]:
    """String literals passed at `position` to calls of `callees` in one source file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in callees and len(node.args) > position:
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
    return found


def _appended(path: Path) -> set[str]:
    """Literal codes appended to a row's problems or warnings."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "append"
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr in {"problems", "warnings"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def _conditional_strings(path: Path) -> set[str]:
    """Literals chosen by a conditional expression (``"a" if x else "b"``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.IfExp):
            for branch in (node.body, node.orelse):
                if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                    found.add(branch.value)
    return found


CREDENTIALS = ROOT / "registry" / "credentials" / "_internal"
VERIFIER_CODES = (
    _string_args(CREDENTIALS / "verifier.py", {"_Stop"}, 0)
    | _string_args(CREDENTIALS / "policy.py", {"Failure"}, 0)
    | _string_args(CREDENTIALS / "keys.py", {"WindowRefusal"}, 0)
)
PAGE_STEP_CODES = _string_args(ROOT / "verify_api" / "verification.py", {"StepOutcome"}, 2)
FOLD = ROOT / "projections" / "fold.py"
FOLD_CODES = (
    _string_args(FOLD, {"_move"}, 3)
    | _string_args(FOLD, {"_simple_move"}, 1)
    | _conditional_strings(FOLD)
)
BULK_CODES = (
    _appended(ROOT / "registry" / "application" / "bulk_check.py")
    | {f"status.{s.value}_on_date" for s in Status}
    | {f"status.now_{s}" for s in ("suspended", "revoked", "expired")}
)
REASON_CODES = sorted(
    set(reasons.RETURN_REASONS)
    | reasons.SUSPENSION_REASONS
    | reasons.REVOCATION_REASONS
    | {LAPSED_REASON}
    | VERIFIER_CODES
    | PAGE_STEP_CODES
    | FOLD_CODES
    | BULK_CODES
    | {f"credential.{code}" for code in VERIFIER_CODES}
)


def test_the_enumeration_finds_the_codes_it_is_meant_to() -> None:
    # guards against the AST scan silently finding nothing
    assert {"signature.invalid", "base45.invalid", "expiry.expired", "key.revoked"} <= (
        VERIFIER_CODES
    )
    assert {"step.not_reached", "status.other_issuer"} <= PAGE_STEP_CODES
    assert {"approved", "reinstated", "ce.review_failed", "withdrawn"} <= FOLD_CODES
    assert {"employer.mismatch_on_date", "registration.not_found"} <= BULK_CODES


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("code", REASON_CODES)
def test_every_reason_code_has_words(code: str, lang: str) -> None:
    text = describe(code, lang)
    assert text != code, f"{code!r} has no {lang} text in domain.wording"
    if lang == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), (code, text)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("status", [s.value for s in Status] + ["unknown", "not_registered"])
def test_every_status_has_words(status: str, lang: str) -> None:
    assert status_words(status, lang) != status
    assert describe(f"status.{status}", lang) == status_words(status, lang)


def test_each_catalogue_entry_has_both_languages() -> None:
    for code, (zh, en) in {**REASON_WORDS, **STATUS_WORDS}.items():
        assert zh.strip() and en.strip(), code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), code
