"""Evidence uploads, received as a stream with their limits enforced while they arrive.

The size limit is enforced while the bytes arrive (an upload is cut off as soon as it
crosses 5 MB, whatever Content-Length claimed) and the type is decided by the file's magic
bytes, not by the client's say-so. The bytes stay in memory (5 MB at most): plaintext never
touches the disk. The application seals them under the subject's key and stores them
(`registry.adapters.evidence_files`); the event log only records the `EvidenceRef`.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from domain.evidence import MAGIC, MAX_EVIDENCE_BYTES, sniff
from domain.evidence import SNIFF_BYTES as _SNIFF_BYTES

__all__ = ["MAGIC", "EvidenceReceiver", "EvidenceRejected", "ReceivedFile", "sniff"]


class EvidenceRejected(Exception):
    """The upload broke a limit; `code` and `status` say which."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ReceivedFile:
    sha256: str
    media_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


class EvidenceReceiver:
    """Receives an upload into memory, enforcing the size and type rules as it arrives."""

    def __init__(self, max_bytes: int = MAX_EVIDENCE_BYTES) -> None:
        self.max_bytes = max_bytes

    async def receive(
        self, chunks: AsyncIterator[bytes], declared_type: str | None
    ) -> ReceivedFile:
        """Read `chunks`; raises `EvidenceRejected` the moment a limit is crossed."""
        buffer = bytearray()
        media_type: str | None = None
        async for chunk in chunks:
            if not chunk:
                continue
            if len(buffer) + len(chunk) > self.max_bytes:
                raise EvidenceRejected(
                    413,
                    "evidence.too_large",
                    f"evidence files are limited to {self.max_bytes} bytes",
                )
            buffer += chunk
            if media_type is None and len(buffer) >= _SNIFF_BYTES:
                media_type = self._check_type(bytes(buffer[:_SNIFF_BYTES]), declared_type)
        if not buffer:
            raise EvidenceRejected(422, "evidence.empty", "the evidence file is empty")
        if media_type is None:
            media_type = self._check_type(bytes(buffer), declared_type)
        content = bytes(buffer)
        return ReceivedFile(hashlib.sha256(content).hexdigest(), media_type, content)

    @staticmethod
    def _check_type(head: bytes, declared_type: str | None) -> str:
        media_type = sniff(head)
        if media_type is None:
            raise EvidenceRejected(
                415, "evidence.type_not_allowed", "only PDF, JPEG and PNG files are accepted"
            )
        declared = (declared_type or "").split(";")[0].strip().lower()
        if declared not in {"", "application/octet-stream", media_type}:
            raise EvidenceRejected(
                415,
                "evidence.type_mismatch",
                f"the file content is {media_type}, not the declared {declared}",
            )
        return media_type
