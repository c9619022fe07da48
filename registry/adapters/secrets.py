"""Symmetric secrets that must never live in the event database (SPEC §12).

Whoever holds a copy of the database must not also hold the keys that protect it: the HMAC
key that indexes ID numbers, the key-encryption key that wraps each subject's data key, and
the key that authenticates every stored event. Each is 32 random bytes in its own file under
``<keys_dir>/secrets/`` (directory 0700, files 0600), to be backed up with the signing keys
and kept apart from database backups.

A missing secret is created only when the caller says so (``registry init``, the demo, a
test); a running registry that finds one missing refuses to start instead of silently
minting a new key that would disagree with every other process and with its own past.
"""

from __future__ import annotations

import os
from contextlib import suppress
from enum import StrEnum
from pathlib import Path

from registry.application.errors import SecretUnavailable

SECRET_BYTES = 32


class Secret(StrEnum):
    PII_HMAC = "pii-hmac"
    """Keys the HMAC index of ID numbers (duplicate detection without the number)."""
    SUBJECT_KEK = "subject-kek"
    """Wraps every subject's AES key in the vault table."""
    EVENT_MAC = "event-mac"
    """Authenticates every event when it is written; checked on load and by `audit verify`."""


class MissingSecret(SecretUnavailable):
    """A secret file is absent or unreadable; the message says which and what to do."""


class SecretFiles:
    """The registry's secret files in ``<keys_dir>/secrets``."""

    def __init__(self, keys_dir: Path, *, create_missing: bool = False) -> None:
        self.directory = Path(keys_dir) / "secrets"
        self.create_missing = create_missing

    def path(self, secret: Secret) -> Path:
        return self.directory / f"{secret.value}.key"

    def exists(self, secret: Secret) -> bool:
        return self.path(secret).is_file()

    def get(self, secret: Secret) -> bytes:
        """The secret's bytes; created (0600) when missing and creation was allowed."""
        path = self.path(secret)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if not self.create_missing:
                raise MissingSecret(
                    f"secret key file {path} is missing: run `registry init` for a new "
                    "registry, or restore it from the key backup"
                ) from None
            return self.put(secret, os.urandom(SECRET_BYTES))
        except OSError as exc:
            raise MissingSecret(f"cannot read secret key file {path}: {exc.strerror}") from None
        if len(data) != SECRET_BYTES:
            raise MissingSecret(f"secret key file {path} is not {SECRET_BYTES} bytes")
        return data

    def put(self, secret: Secret, value: bytes) -> bytes:
        """Write a secret that does not exist yet (never overwrites); returns what is stored."""
        if len(value) != SECRET_BYTES:
            raise ValueError(f"a secret is {SECRET_BYTES} bytes")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        path = self.path(secret)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(value)
                fh.flush()
                os.fsync(fh.fileno())
            with suppress(FileExistsError):  # another process won the race: keep its key
                os.link(tmp, path)  # atomic: never a half-written key file
        finally:
            tmp.unlink(missing_ok=True)
        return self.get(secret)
