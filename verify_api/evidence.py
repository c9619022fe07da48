"""Evidence files, received as a stream and stored content-addressed.

The size limit is enforced while the bytes arrive (an upload is cut off as soon as it
crosses 5 MB, whatever Content-Length claimed) and the type is decided by the file's magic
bytes, not by the client's say-so. Files land under `{root}/{sha[:2]}/{sha}`; the event log
only ever records the `EvidenceRef` (hash, type, size, kind, name).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from domain.evidence import MAX_EVIDENCE_BYTES

MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
_SNIFF_BYTES = 8


class EvidenceRejected(Exception):
    """The upload broke a limit; `code` and `status` say which."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    media_type: str
    size: int
    path: Path


def sniff(head: bytes) -> str | None:
    for magic, media_type in MAGIC:
        if head.startswith(magic):
            return media_type
    return None


class EvidenceStore:
    def __init__(self, root: Path, max_bytes: int = MAX_EVIDENCE_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    async def receive(self, chunks: AsyncIterator[bytes], declared_type: str | None) -> StoredFile:
        """Stream `chunks` to disk; raises `EvidenceRejected` the moment a limit is crossed."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        media_type: str | None = None
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise EvidenceRejected(
                            413,
                            "evidence.too_large",
                            f"evidence files are limited to {self.max_bytes} bytes",
                        )
                    if media_type is None:
                        head = (head + chunk)[:_SNIFF_BYTES]
                        if len(head) >= _SNIFF_BYTES:
                            media_type = self._check_type(head, declared_type)
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise EvidenceRejected(422, "evidence.empty", "the evidence file is empty")
            if media_type is None:
                media_type = self._check_type(head, declared_type)
            sha = digest.hexdigest()
            final = self.path_for(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            return StoredFile(sha, media_type, size, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

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
