"""Registration numbers: `{PREFIX}-{REGION}-{YEAR}-{SEQ:06d}{CHECK}`, e.g. `SIE-44-2026-0001237`.

The check character is ISO 7064 MOD 11-2 over the digits (as on Chinese ID cards), so a
mistyped number is caught before any lookup. Sequences are allocated by a per
(scheme, region, year) counter aggregate and never reused.
"""

from __future__ import annotations

import re

_PATTERN = re.compile(
    r"^(?P<prefix>[A-Z]{2,5})-(?P<region>\d{2})-(?P<year>\d{4})-(?P<seq>\d{6})(?P<check>[0-9X])$"
)
MAX_SEQUENCE = 999_999


def check_character(digits: str) -> str:
    """ISO 7064 MOD 11-2 check character."""
    total = 0
    for ch in digits:
        total = (total + int(ch)) * 2 % 11
    value = (12 - total) % 11
    return "X" if value == 10 else str(value)


def format_number(prefix: str, region: str, year: int, sequence: int) -> str:
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError("sequence out of range")
    digits = f"{region}{year:04d}{sequence:06d}"
    return f"{prefix}-{region}-{year:04d}-{sequence:06d}{check_character(digits)}"


def is_well_formed(number: str) -> bool:
    match = _PATTERN.match(number)
    if not match:
        return False
    digits = f"{match['region']}{match['year']}{match['seq']}"
    return check_character(digits) == match["check"]
