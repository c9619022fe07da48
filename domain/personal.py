"""An engineer's personal data: a value that only ever travels encrypted (SPEC §10).

The application seals it under the engineer's own key before it reaches an event; the
domain only validates it and knows how it may be shown (the masked name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import InvalidInput
from domain.masking import mask_name
from domain.numbering import check_character
from domain.values import require_plain_text

_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^\+?[\d\- ]{6,20}$")


def validate_id_number(id_number: str) -> str:
    """Resident ID number (GB 11643): 18 characters, ISO 7064 MOD 11-2 check character."""
    value = id_number.strip().upper()
    if not _ID_NUMBER.match(value) or check_character(value[:17]) != value[17]:
        raise InvalidInput("ID number is not a valid 18-character resident ID number")
    return value


@dataclass(frozen=True)
class PersonalData:
    name: str
    id_number: str
    phone: str = ""
    email: str = ""
    address: str = ""

    def __post_init__(self) -> None:
        for field_name in ("name", "phone", "email", "address"):
            require_plain_text(getattr(self, field_name), field_name)
        if not self.name.strip() or len(self.name) > 100:
            raise InvalidInput("name must be 1..100 characters")
        object.__setattr__(self, "id_number", validate_id_number(self.id_number))
        if self.phone and not _PHONE.match(self.phone):
            raise InvalidInput("phone number is malformed")
        if self.email and ("@" not in self.email or len(self.email) > 200):
            raise InvalidInput("e-mail address is malformed")

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def __repr__(self) -> str:  # never print personal data by accident
        return f"PersonalData(masked_name={self.masked_name!r})"
