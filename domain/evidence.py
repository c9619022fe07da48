"""Evidence references: the registry keeps a content hash, never the file in an event."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

from domain.errors import InvalidEvidence

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
ALLOWED_MEDIA_TYPES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPG",
    "image/png": "PNG",
}
EVIDENCE_KINDS = frozenset(
    {
        "id_document",
        "degree",
        "chsi_report",
        "certificate",
        "project_report",
        "employment_contract",
        "recommendation",
        "photo",
        "ce_record",
        "other",
    }
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The type of an evidence file is decided by its magic bytes, never by the sender's say-so.
MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
SNIFF_BYTES = 8


def sniff(head: bytes) -> str | None:
    """The media type that the file's first bytes show, or None (not PDF, PNG or JPG)."""
    for magic, media_type in MAGIC:
        if head.startswith(magic):
            return media_type
    return None


@dataclass(frozen=True)
class EvidenceRef:
    sha256: str
    media_type: str
    size: int
    kind: str
    filename: str

    def __post_init__(self) -> None:
        problems = []
        if not _SHA256.match(self.sha256):
            problems.append("sha256 must be 64 lowercase hex characters")
        if self.media_type not in ALLOWED_MEDIA_TYPES:
            problems.append(f"type {self.media_type!r} not allowed (PDF, JPG or PNG only)")
        if not 0 < self.size <= MAX_EVIDENCE_BYTES:
            problems.append(f"size {self.size} bytes outside 1..{MAX_EVIDENCE_BYTES}")
        if self.kind not in EVIDENCE_KINDS:
            problems.append(f"kind {self.kind!r} unknown")
        if not self.filename or len(self.filename) > 255 or "/" in self.filename:
            problems.append("filename must be 1..255 characters without '/'")
        if problems:
            raise InvalidEvidence("; ".join(problems))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, content: bytes, kind: str, filename: str) -> EvidenceRef:
        """The reference of a whole file: type sniffed from its bytes, size and SHA-256."""
        media_type = sniff(content[:SNIFF_BYTES])
        if media_type is None:
            raise InvalidEvidence("the file is not a PDF, JPG or PNG (by its content)")
        return cls(hashlib.sha256(content).hexdigest(), media_type, len(content), kind, filename)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceRef:
        return cls(
            sha256=str(data["sha256"]),
            media_type=str(data["media_type"]),
            size=int(data["size"]),
            kind=str(data["kind"]),
            filename=str(data["filename"]),
        )
