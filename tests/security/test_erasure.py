"""Erasure against an attacker who holds the database files *and* the HMAC key (issue 9, item 3).

The attack that worked on the first release: every ID number of one region and birth year
(365 days x 1,000 sequence numbers), HMAC each with the registry key, and look for the
digest — or the identity-index id derived from it — anywhere in the store. After erasure
it must find nothing, and the evidence file must be unrecoverable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import httpx

from domain.indexes import IdentityIndex
from domain.numbering import check_character
from registry.adapters.secrets import Secret, SecretFiles
from registry.bootstrap import open_app
from tests.builders import sie_facts
from tests.security.conftest import Live

REGION = "440305"
BIRTH_YEAR = 1987
VICTIM_ID = f"{REGION}19870614321"
VICTIM_ID += check_character(VICTIM_ID)
PNG = b"\x89PNG\r\n\x1a\n" + b"VICTIM-ID-SCAN-" * 200


def _candidates() -> list[str]:
    """Every valid ID number of one region and birth year."""
    out = []
    day = date(BIRTH_YEAR, 1, 1)
    while day.year == BIRTH_YEAR:
        for seq in range(1000):
            body = f"{REGION}{day:%Y%m%d}{seq:03d}"
            out.append(body + check_character(body))
        day += timedelta(days=1)
    return out


def _store_bytes(store: Path) -> bytes:
    """What someone who copied the database files holds (main file and write-ahead log)."""
    parts = []
    for suffix in ("", "-wal", "-journal"):
        path = store.with_name(store.name + suffix)
        if path.exists():
            parts.append(path.read_bytes())
    return b"\n".join(parts)


def _brute_force(stored: bytes, hmac_key: bytes) -> list[str]:
    """ID numbers whose HMAC, or an identity-index id derived from it, is in the store."""
    hex_digests = set(re.findall(rb"[0-9a-f]{64}", stored))
    uuids = set(
        re.findall(rb"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", stored)
    )
    found = []
    for candidate in _candidates():
        digest = hmac.new(hmac_key, candidate.encode(), hashlib.sha256).hexdigest()
        if digest.encode() in hex_digests:
            found.append(candidate)
            continue
        for scheme in ("SIE", "IET"):
            index_id = IdentityIndex.create_id(scheme, digest)
            if str(index_id).encode() in uuids or index_id.hex.encode() in uuids:
                found.append(candidate)
                break
    return found


def test_erased_id_number_cannot_be_brute_forced_and_evidence_is_gone(
    live: Live, attacker: httpx.Client
) -> None:
    engineer = live.auth("engineer")
    applied = attacker.post(
        f"{live.url}/api/v1/registrations",
        headers=engineer,
        json={
            "scheme": "SIE",
            "personal": {"name": "王受害", "id_number": VICTIM_ID, "phone": "13900139000"},
            "facts": sie_facts(),
        },
    )
    assert applied.status_code == 201, applied.text
    rid = applied.json()["registration_id"]
    uploaded = attacker.post(
        f"{live.url}/api/v1/registrations/{rid}/evidence?kind=id_document&filename=id.png",
        headers={**engineer, "Content-Type": "image/png"},
        content=PNG,
    )
    assert uploaded.status_code == 201, uploaded.text
    sha = uploaded.json()["sha256"]
    evidence_files = list(Path(live.env["REGISTRY_EVIDENCE_DIR"]).rglob(sha))
    assert len(evidence_files) == 1
    sealed_copy = evidence_files[0].read_bytes()  # the thief copies the file before erasure
    assert b"VICTIM-ID-SCAN" not in sealed_copy  # sealed at rest, not only after erasure

    hmac_key = SecretFiles(live.settings.keys_dir).get(Secret.PII_HMAC)
    # The database alone holds no HMAC key any more.
    assert hmac_key not in _store_bytes(live.settings.sqlite_path)
    # Before erasure the brute force does find the person (so the search below can fail).
    assert _brute_force(_store_bytes(live.settings.sqlite_path), hmac_key) == [VICTIM_ID]

    erased = attacker.post(
        f"{live.url}/api/v1/registrations/{rid}/erase", headers=live.auth("registrar")
    )
    assert erased.status_code == 200, erased.text

    stored = _store_bytes(live.settings.sqlite_path)
    assert _brute_force(stored, hmac_key) == []
    assert VICTIM_ID.encode() not in stored and "王受害".encode() not in stored
    # The evidence file is gone, and the copy taken earlier no longer opens.
    assert not list(Path(live.env["REGISTRY_EVIDENCE_DIR"]).rglob(sha))
    app = open_app(live.settings)
    try:
        reg = app.get(UUID(rid))
        assert reg.personal_data_erased and reg.evidence == []
        assert app.vault.unseal(reg.subject_id, sealed_copy, sha.encode()) is None
        assert app.evidence_content(UUID(rid), sha) is None
    finally:
        app.close()
    view = attacker.get(f"{live.url}/api/v1/registrations/{rid}", headers=live.auth("registrar"))
    assert view.status_code == 200 and view.json()["evidence"] == []
    assert "王受害" not in json.dumps(view.json(), ensure_ascii=False)
