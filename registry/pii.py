"""Personal data vault: per-engineer keys so erasure never needs to rewrite the event log.

Events carry only AES-256-GCM ciphertext of an engineer's personal data, under a key that
exists only in the `subject_keys` table. Destroying that key turns every copy of the data
(in the log, exports and backups) into noise. ID numbers are also indexed by HMAC-SHA256
under a registry secret, which detects a second application without storing the number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from dataclasses import asdict, dataclass
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import InvalidInput
from domain.numbering import check_character
from registry.credentials.claims import mask_name
from registry.storage import Database, blob_type

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


class PersonalDataVault:
    def __init__(self, db: Database, hmac_key: bytes | None = None) -> None:
        self.db = db
        self._create_tables()
        self._hmac_key = hmac_key or self._stored_hmac_key()

    def _create_tables(self) -> None:
        blob = blob_type(self.db)
        with self.db.transaction() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS subject_keys (subject_id TEXT PRIMARY KEY, "
                f"id_hmac TEXT UNIQUE NOT NULL, key {blob} NOT NULL)"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS registry_secrets (name TEXT PRIMARY KEY, "
                f"value {blob} NOT NULL)"
            )

    def _stored_hmac_key(self) -> bytes:
        with self.db.transaction() as cur:
            cur.execute("SELECT value FROM registry_secrets WHERE name = ?", ("pii_hmac",))
            row = cur.fetchone()
            if row is not None:
                return bytes(row[0])
            key = os.urandom(32)
            cur.execute(
                "INSERT INTO registry_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                ("pii_hmac", key),
            )
            cur.execute("SELECT value FROM registry_secrets WHERE name = ?", ("pii_hmac",))
            stored = cur.fetchone()
            assert stored is not None
            return bytes(stored[0])

    def id_hmac(self, id_number: str) -> str:
        value = validate_id_number(id_number)
        return hmac.new(self._hmac_key, value.encode(), hashlib.sha256).hexdigest()

    def keyed_digest(self, data: bytes) -> str:
        """A digest that cannot be brute-forced from the log without the registry secret."""
        return hmac.new(self._hmac_key, data, hashlib.sha256).hexdigest()

    def subject_for(self, id_hmac: str) -> UUID:
        """The engineer's pseudonymous subject id, created with a fresh key on first sight."""
        with self.db.transaction() as cur:
            cur.execute("SELECT subject_id FROM subject_keys WHERE id_hmac = ?", (id_hmac,))
            row = cur.fetchone()
            if row is not None:
                return UUID(row[0])
            subject_id = uuid4()
            cur.execute(
                "INSERT INTO subject_keys (subject_id, id_hmac, key) VALUES (?, ?, ?) "
                "ON CONFLICT (id_hmac) DO NOTHING",
                (str(subject_id), id_hmac, AESGCM.generate_key(bit_length=256)),
            )
            cur.execute("SELECT subject_id FROM subject_keys WHERE id_hmac = ?", (id_hmac,))
            created = cur.fetchone()
            assert created is not None
            return UUID(created[0])

    def _key(self, subject_id: UUID) -> bytes | None:
        # Not cached: a key destroyed by another process must stop working here at once.
        rows = self.db.query(
            "SELECT key FROM subject_keys WHERE subject_id = ?", (str(subject_id),)
        )
        return bytes(rows[0][0]) if rows else None

    def encrypt(self, subject_id: UUID, data: PersonalData) -> str:
        key = self._key(subject_id)
        if key is None:
            raise InvalidInput("this engineer's personal data was erased")
        nonce = os.urandom(12)
        plaintext = json.dumps(asdict(data), ensure_ascii=False).encode()
        ciphertext = AESGCM(key).encrypt(nonce, plaintext, subject_id.bytes)
        return base64.b64encode(nonce + ciphertext).decode()

    def decrypt(self, subject_id: UUID, token: str) -> PersonalData | None:
        """The personal data, or None once the subject's key has been destroyed."""
        key = self._key(subject_id)
        if key is None:
            return None
        raw = base64.b64decode(token)
        try:
            plaintext = AESGCM(key).decrypt(raw[:12], raw[12:], subject_id.bytes)
        except InvalidTag:
            return None
        return PersonalData(**json.loads(plaintext))

    def masked_name(self, subject_id: UUID, token: str) -> str | None:
        data = self.decrypt(subject_id, token)
        return data.masked_name if data else None

    def destroy(self, subject_id: UUID) -> bool:
        """Crypto-shred: delete the key (SQLite secure_delete overwrites the freed page)."""
        with self.db.transaction() as cur:
            cur.execute("SELECT 1 FROM subject_keys WHERE subject_id = ?", (str(subject_id),))
            existed = cur.fetchone() is not None
            cur.execute("DELETE FROM subject_keys WHERE subject_id = ?", (str(subject_id),))
        return existed
