"""Personal data vault: per-engineer keys so erasure never needs to rewrite the event log.

Events carry only AES-256-GCM ciphertext of an engineer's personal data (and evidence files
are sealed the same way), under a key that exists only in the `subject_keys` table, wrapped
by a key-encryption key kept outside the database. Destroying that row turns every copy of
the data (in the log, exports and evidence files) into noise. ID numbers are indexed by
HMAC-SHA256 under a secret that is also outside the database, which detects a second
application without storing the number; nothing derived from the number enters the log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
from dataclasses import asdict
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from domain.errors import InvalidInput
from domain.personal import PersonalData, validate_id_number
from registry.adapters.secrets import MissingSecret, Secret, SecretFiles
from registry.adapters.sql import Database

log = logging.getLogger(__name__)
_RAW_KEY_BYTES = 32


class PersonalDataVault:
    """Per-subject data keys, wrapped under a key-encryption key that is not in the database.

    The ``subject_keys`` table maps an ID number's HMAC to a random subject id and that
    subject's AES-256 key, wrapped (RFC 3394) under the ``subject-kek`` secret. The HMAC key
    and the KEK are files under ``keys_dir`` (see `registry.adapters.secrets`), so a copy of the
    database alone decrypts nothing and cannot even test a guessed ID number. Erasure deletes
    the row: the data key, and the only link from the ID number to the subject, are gone.
    """

    def __init__(
        self, db: Database, secrets: SecretFiles, *, hmac_key: bytes | None = None
    ) -> None:
        self.db = db  # its subject_keys table comes from migration 0001
        if self._legacy_secrets_table():
            # A first-release store being upgraded: this is the moment its secrets move out
            # of the database and the key-encryption key is made.
            secrets = SecretFiles(secrets.directory.parent, create_missing=True)
        self._hmac_key = hmac_key or self._adopt_hmac_key(secrets)
        self._kek = secrets.get(Secret.SUBJECT_KEK)
        self._wrap_unwrapped_keys()

    def _legacy_secrets_table(self) -> bool:
        if self.db.dialect == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'registry_secrets'"
        else:
            sql = "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = "
            sql += "'registry_secrets'"
        return bool(self.db.query(sql))

    def _adopt_hmac_key(self, secrets: SecretFiles) -> bytes:
        """The HMAC key from its file; a first-release store's in-database key moves there."""
        if not self._legacy_secrets_table():
            return secrets.get(Secret.PII_HMAC)
        rows = self.db.query("SELECT value FROM registry_secrets WHERE name = ?", ("pii_hmac",))
        if rows:
            legacy = bytes(rows[0][0])
            if not secrets.exists(Secret.PII_HMAC):
                secrets.put(Secret.PII_HMAC, legacy)
            if secrets.get(Secret.PII_HMAC) != legacy:
                raise MissingSecret(
                    f"{secrets.path(Secret.PII_HMAC)} differs from the key this store was "
                    "written with (still in its registry_secrets table): restore the right file"
                )
            log.warning(
                "moved the personal-data HMAC key out of the database into %s",
                secrets.path(Secret.PII_HMAC),
            )
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM registry_secrets WHERE name = ?", ("pii_hmac",))
            cur.execute("SELECT COUNT(*) FROM registry_secrets")
            remaining = cur.fetchone()
            if remaining is not None and remaining[0] == 0:
                cur.execute("DROP TABLE registry_secrets")
        self._flush_old_page_images()
        return secrets.get(Secret.PII_HMAC)

    def _wrap_unwrapped_keys(self) -> None:
        """First-release stores kept subject keys in the clear: wrap them (once, in place)."""
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT subject_id, key FROM subject_keys WHERE length(key) = ?", (_RAW_KEY_BYTES,)
            )
            rows = cur.fetchall()
            if not rows:
                return
            cur.executemany(
                "UPDATE subject_keys SET key = ? WHERE subject_id = ?",
                [(aes_key_wrap(self._kek, bytes(key)), subject) for subject, key in rows],
            )
        self._flush_old_page_images()
        log.warning("wrapped %d subject keys under the key-encryption key", len(rows))

    def id_hmac(self, id_number: str) -> str:
        value = validate_id_number(id_number)
        return hmac.new(self._hmac_key, value.encode(), hashlib.sha256).hexdigest()

    def keyed_digest(self, data: bytes) -> str:
        """A digest that cannot be brute-forced from the log without the registry secret.

        Never use it on personal data that must be erasable: use `subject_digest`.
        """
        return hmac.new(self._hmac_key, data, hashlib.sha256).hexdigest()

    def subject_for(self, id_hmac: str) -> UUID:
        """The engineer's pseudonymous subject id, created with a fresh key on first sight."""
        with self.db.transaction() as cur:
            cur.execute("SELECT subject_id FROM subject_keys WHERE id_hmac = ?", (id_hmac,))
            row = cur.fetchone()
            if row is not None:
                return UUID(row[0])
            subject_id = uuid4()
            wrapped = aes_key_wrap(self._kek, AESGCM.generate_key(bit_length=256))
            cur.execute(
                "INSERT INTO subject_keys (subject_id, id_hmac, key) VALUES (?, ?, ?) "
                "ON CONFLICT (id_hmac) DO NOTHING",
                (str(subject_id), id_hmac, wrapped),
            )
            cur.execute("SELECT subject_id FROM subject_keys WHERE id_hmac = ?", (id_hmac,))
            created = cur.fetchone()
            assert created is not None
            return UUID(created[0])

    def existing_subject(self, id_hmac: str) -> UUID | None:
        rows = self.db.query("SELECT subject_id FROM subject_keys WHERE id_hmac = ?", (id_hmac,))
        return UUID(rows[0][0]) if rows else None

    def id_hmac_of(self, subject_id: UUID) -> str | None:
        """The subject's ID-number HMAC while they are not erased (for first-release indexes)."""
        rows = self.db.query(
            "SELECT id_hmac FROM subject_keys WHERE subject_id = ?", (str(subject_id),)
        )
        return str(rows[0][0]) if rows else None

    def _key(self, subject_id: UUID) -> bytes | None:
        # Not cached: a key destroyed by another process must stop working here at once.
        rows = self.db.query(
            "SELECT key FROM subject_keys WHERE subject_id = ?", (str(subject_id),)
        )
        if not rows:
            return None
        try:
            return aes_key_unwrap(self._kek, bytes(rows[0][0]))
        except InvalidUnwrap:
            raise MissingSecret(
                "a subject key does not unwrap: the subject-kek file is not this store's"
            ) from None

    def _require_key(self, subject_id: UUID) -> bytes:
        key = self._key(subject_id)
        if key is None:
            raise InvalidInput("this engineer's personal data was erased")
        return key

    def encrypt(self, subject_id: UUID, data: PersonalData) -> str:
        plaintext = json.dumps(asdict(data), ensure_ascii=False).encode()
        return base64.b64encode(self.seal(subject_id, plaintext, subject_id.bytes)).decode()

    def decrypt(self, subject_id: UUID, token: str) -> PersonalData | None:
        """The personal data, or None once the subject's key has been destroyed."""
        plaintext = self.unseal(subject_id, base64.b64decode(token), subject_id.bytes)
        return PersonalData(**json.loads(plaintext)) if plaintext is not None else None

    def seal(self, subject_id: UUID, plaintext: bytes, associated: bytes) -> bytes:
        """AES-256-GCM under the subject's key (nonce ‖ ciphertext ‖ tag)."""
        nonce = os.urandom(12)
        return nonce + AESGCM(self._require_key(subject_id)).encrypt(nonce, plaintext, associated)

    def unseal(self, subject_id: UUID, sealed: bytes, associated: bytes) -> bytes | None:
        """The plaintext, or None once the key is destroyed (or the bytes were altered)."""
        key = self._key(subject_id)
        if key is None:
            return None
        try:
            return AESGCM(key).decrypt(sealed[:12], sealed[12:], associated)
        except InvalidTag:
            return None

    def subject_digest(self, subject_id: UUID, data: bytes) -> str:
        """A digest of the subject's data that becomes unlinkable when the key is destroyed."""
        return hmac.new(self._require_key(subject_id), data, hashlib.sha256).hexdigest()

    def masked_name(self, subject_id: UUID, token: str) -> str | None:
        data = self.decrypt(subject_id, token)
        return data.masked_name if data else None

    def destroy(self, subject_id: UUID) -> bool:
        """Crypto-shred: delete the wrapped key and the ID-number link (secure_delete on)."""
        with self.db.transaction() as cur:
            cur.execute("SELECT 1 FROM subject_keys WHERE subject_id = ?", (str(subject_id),))
            existed = cur.fetchone() is not None
            cur.execute("DELETE FROM subject_keys WHERE subject_id = ?", (str(subject_id),))
        self._flush_old_page_images()
        return existed

    def _flush_old_page_images(self) -> None:
        """A deleted key must leave no copy in the store's files (see `Database.flush_deleted`)."""
        if not self.db.flush_deleted():
            log.warning("erasure: the write-ahead log could not be truncated yet (readers busy)")
