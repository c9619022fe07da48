"""What a value must be before it may reach the append-only log.

The log is hashed into a Merkle tree over canonical JSON (sorted keys, UTF-8, no NaN). A
value without a canonical form — a non-finite number, a lone surrogate, a non-string key —
would be written once and then break every audit export forever, so it is refused here,
at the edge and again by the application before any event is stored.

Free text is also refused when it carries characters that let data masquerade as something
else: C0/C1 control characters (NUL included) and the Unicode bidirectional overrides and
isolates that reorder what a reader sees (a "Trojan Source" name).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from domain.errors import InvalidInput

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_MAX_DEPTH = 32


def has_canonical_text(value: str) -> bool:
    """True when the string encodes to UTF-8 (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_plain_text(value: str, name: str, *, multiline: bool = False) -> str:
    """Refuse text with no UTF-8 form, control characters or bidirectional overrides."""
    if not has_canonical_text(value):
        raise InvalidInput(f"{name} contains an unpaired surrogate (not valid Unicode text)")
    allowed = {"\n", "\t", "\r"} if multiline else set()
    for ch in value:
        if ch in BIDI_CONTROLS:
            raise InvalidInput(f"{name} contains a bidirectional control character")
        if ch not in allowed and unicodedata.category(ch) == "Cc":
            raise InvalidInput(f"{name} contains a control character (U+{ord(ch):04X})")
    return value


def require_finite(value: float, name: str) -> float:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number")
    return value


def require_canonical(value: Any, name: str = "value", _depth: int = 0) -> Any:
    """Refuse anything that has no canonical JSON form; returns the value unchanged.

    Accepted: None, bool, int, finite float, str (valid Unicode), lists/tuples and
    string-keyed mappings of these, nested at most 32 deep.
    """
    if _depth > _MAX_DEPTH:
        raise InvalidInput(f"{name} is nested too deeply")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return require_finite(value, name)
    if isinstance(value, str):
        if not has_canonical_text(value):
            raise InvalidInput(f"{name} contains an unpaired surrogate (not valid Unicode text)")
        return value
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            require_canonical(item, f"{name}[{i}]", _depth + 1)
        return value
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{name} has a key that is not text")
            require_canonical(key, f"{name} key", _depth + 1)
            require_canonical(item, f"{name}.{key}", _depth + 1)
        return value
    raise InvalidInput(f"{name} has a value of type {type(value).__name__}, which is not JSON")
