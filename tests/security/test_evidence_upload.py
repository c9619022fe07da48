"""Evidence uploads that are refused leave nothing on disk (issue 9, low item).

The first release streamed the file to disk and only then asked whether the caller could
attach it to that registration, in that state: every refused upload left an orphan file
(an unauthenticated-looking way to fill the disk, and personal data nobody can erase).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.security.conftest import Live

PDF = b"%PDF-1.7\n" + b"ORPHAN-CANDIDATE " * 500


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_refused_uploads_store_nothing(live: Live, attacker: httpx.Client) -> None:
    root = Path(live.env["REGISTRY_EVIDENCE_DIR"])
    before = _files(root)  # the materials the fixture's registrations were submitted with
    headers = {"Content-Type": "application/pdf"}
    url = f"{live.url}/api/v1/registrations/{{rid}}/evidence?kind=degree&filename=d.pdf"
    cases = [
        # approved registrations take no evidence, even from their owner
        (live.ids["active"], live.auth("engineer"), 409),
        # another engineer's registration
        (live.ids["suspended"], live.auth("engineer"), 403),
        # a role that never attaches evidence
        (live.ids["active"], live.auth("employer"), 403),
        # no credentials at all
        (live.ids["active"], {}, 401),
        # an unknown registration
        ("00000000-0000-4000-8000-000000000000", live.auth("registrar"), 404),
    ]
    for rid, auth, status in cases:
        r = attacker.post(url.format(rid=rid), headers={**auth, **headers}, content=PDF)
        assert r.status_code == status, (rid, r.status_code, r.text)
        assert set(r.json()) >= {"code", "message"}
    assert _files(root) == before
