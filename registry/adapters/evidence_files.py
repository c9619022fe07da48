"""Evidence files at rest: sealed under the subject's key, one folder per subject.

An uploaded ID scan or diploma is personal data, so it is encrypted (AES-256-GCM, by the
vault, under the same per-subject key as the name and ID number) before it touches the disk:
``{root}/{subject_id}/{sha256}``, files 0600. Erasure destroys the key, which makes every
copy of the file noise (backups included), and then removes the folder. The event log only
ever records the `EvidenceRef` (hash of the plaintext, type, size, kind, name).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from uuid import UUID


class EvidenceFiles:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, subject_id: UUID, sha256: str) -> Path:
        return self.root / str(subject_id) / sha256

    def write(self, subject_id: UUID, sha256: str, sealed: bytes) -> Path:
        """Store sealed bytes atomically (a reader never sees half a file)."""
        final = self.path_for(subject_id, sha256)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = final.with_name(f".{sha256}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(sealed)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return final

    def read(self, subject_id: UUID, sha256: str) -> bytes | None:
        try:
            return self.path_for(subject_id, sha256).read_bytes()
        except FileNotFoundError:
            return None

    def shred(self, subject_id: UUID) -> int:
        """Remove the subject's folder (the key is already gone); returns files removed."""
        folder = self.root / str(subject_id)
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.iterdir() if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        return count
