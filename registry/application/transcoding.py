"""The transcoder that refuses, before anything is stored, an event with no canonical form.

Every stored event is later hashed as canonical JSON (docs/AUDIT.md). Python's `json` would
happily write ``NaN`` or ``Infinity``, and a lone surrogate fails only when the text is
encoded, so one careless value would either poison the append-only log for every audit
export to come or surface as a 500. This transcoder is the application's last line: it
encodes exactly as the library's, except that such values raise `InvalidInput` (a 4xx at
every edge) and nothing is written.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.errors import InvalidInput
from domain.evidence import EvidenceRef


class CanonicalJSONTranscoder(JSONTranscoder):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = json.JSONEncoder(
            default=self._encode_obj,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )

    def encode(self, obj: Any) -> bytes:
        try:
            return self.encoder.encode(obj).encode("utf8")
        except ValueError as exc:  # NaN/Infinity, or UnicodeEncodeError for a lone surrogate
            raise InvalidInput(
                "a value has no canonical JSON form (a non-finite number or text that is not "
                "valid Unicode); nothing was recorded"
            ) from exc


class DateAsISO(Transcoding):
    """A calendar day (validity ends, CE cycle ends) as ISO text: ``{"_type_": "date_iso"}``."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EvidenceRefAsDict(Transcoding):
    """An evidence reference as its five fields (re-validated when read back)."""

    type = EvidenceRef
    name = "evidence_ref"

    def encode(self, obj: EvidenceRef) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> EvidenceRef:
        return EvidenceRef.from_dict(data)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    """The value types that domain events carry beyond the library's (UUID, datetime)."""
    transcoder.register(DateAsISO())
    transcoder.register(EvidenceRefAsDict())
