"""Signing windows, rotation, revocation and the trust-list key (issue 9 item 4, SPEC §12).

Every key has ``not_before``/``not_after``; rotation closes the old key's window; a revoked
key invalidates what it signed from the revocation instant. The windows travel with the key
through the JWKS and the signed trust list, so every verifier enforces them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from registry.cli.root import app
from registry.credentials import (
    KeyStore,
    KeyStoreError,
    SigningKey,
    Step,
    TrustListError,
    TrustStore,
    issue_credential,
    load_trust_list,
    sign_trust_list,
    verify_credential,
)
from registry.credentials._internal.jwk import parse_jwks
from registry.credentials._internal.keys import KeyPurpose, PublishedKey, SigningWindow
from registry.credentials._internal.trustlist import IssuerEntry, own_trust_list
from tests.credentials.conftest import ISSUED, make_claims

T0 = ISSUED - timedelta(days=30)  # the first key's window opens
ROTATED = ISSUED + timedelta(days=5)  # the second key takes over
AT = ISSUED + timedelta(days=40)  # when the verifier checks


def _at(moment: datetime) -> str:
    """A credential issued at ``moment``."""
    return moment.isoformat()


def _issue(key: SigningKey, issued_at: datetime) -> str:
    return issue_credential(make_claims(issued_at=issued_at), key)


def _trust(store: KeyStore) -> TrustStore:
    """What a relying party builds from the published JWKS."""
    return TrustStore.from_jwks(json.loads(json.dumps(store.export_jwks())), issuer="CN-44-REG")


@pytest.fixture
def rotated_store(tmp_path: Path) -> tuple[KeyStore, SigningKey, SigningKey]:
    store = KeyStore(tmp_path / "keys", passphrase="")
    old = store.generate(not_before=T0)
    new = store.rotate(at=ROTATED)
    return store, old, new


# -- the window ----------------------------------------------------------------------------


def test_window_is_recorded_and_closed_by_rotation(
    rotated_store: tuple[KeyStore, SigningKey, SigningKey],
) -> None:
    store, old, new = rotated_store
    infos = {i.kid: i for i in store.list()}
    assert infos[old.kid].window == SigningWindow(not_before=T0, not_after=ROTATED)
    assert infos[new.kid].window == SigningWindow(not_before=ROTATED, not_after=None)
    assert infos[new.kid].active and not infos[old.kid].active


@pytest.mark.parametrize(
    ("which", "issued_at", "reason"),
    [
        ("old", ISSUED, None),  # inside the old key's window
        ("old", T0, None),  # at the opening second
        ("old", ROTATED, None),  # in the rotation's own second
        ("old", ROTATED + timedelta(seconds=1), "key.outside_window"),  # retired key minting
        ("old", ROTATED + timedelta(days=30), "key.outside_window"),
        ("old", T0 - timedelta(seconds=1), "key.outside_window"),  # before the key existed
        ("new", ROTATED + timedelta(days=1), None),
        ("new", ROTATED - timedelta(seconds=1), "key.outside_window"),  # backdated by new key
    ],
)
def test_credential_outside_its_keys_window_is_not_genuine(
    rotated_store: tuple[KeyStore, SigningKey, SigningKey],
    which: str,
    issued_at: datetime,
    reason: str | None,
) -> None:
    store, old, new = rotated_store
    key = old if which == "old" else new
    result = verify_credential(_issue(key, issued_at), _trust(store), AT)
    if reason is None:
        assert result.valid, result.reasons
    else:
        assert not result.valid
        assert result.step(Step.KEY_WINDOW).reason == reason
        assert result.step(Step.SIGNATURE).status == "VALID"  # the signature itself is fine
        assert result.step(Step.EXPIRY).status == "NOT_CHECKED"


def test_windows_are_enforced_from_local_keys_and_signed_trust_list(
    rotated_store: tuple[KeyStore, SigningKey, SigningKey],
) -> None:
    store, old, _new = rotated_store
    late = _issue(old, ROTATED + timedelta(days=1))
    local = TrustStore.from_public_keys(store.public_keys(), issuer="CN-44-REG")
    assert verify_credential(late, local, AT).reasons == ["key.outside_window"]
    jws = own_trust_list(
        store, issuer="CN-44-REG", region="44", name="", issued_at=AT, valid_until=None
    )
    listed = load_trust_list(jws, parse_jwks(store.export_jwks())).trust_store()
    assert verify_credential(late, listed, AT).reasons == ["key.outside_window"]
    assert verify_credential(_issue(old, ISSUED), listed, AT).valid


def test_keys_without_a_published_window_are_not_second_guessed(key: SigningKey) -> None:
    """External JWKS and X.509 anchors publish no window: only validity at `at` applies."""
    trust = TrustStore.from_public_keys([(key.kid, key.public_key)], issuer="CN-44-REG")
    result = verify_credential(_issue(key, ISSUED), trust, ISSUED + timedelta(days=1))
    assert result.valid and result.step(Step.KEY_WINDOW).status == "VALID"


# -- publication ---------------------------------------------------------------------------


def test_jwks_publishes_purpose_and_window_and_round_trips(
    rotated_store: tuple[KeyStore, SigningKey, SigningKey],
) -> None:
    store, _old, _new = rotated_store
    doc = store.export_jwks()
    by_purpose = [k["purpose"] for k in doc["keys"]]
    assert by_purpose == ["credential", "credential", "trust-list"]
    first = doc["keys"][0]
    assert first["not_before"] == T0.isoformat() and first["not_after"] == ROTATED.isoformat()
    assert doc["keys"][1]["not_before"] == ROTATED.isoformat()
    assert doc["keys"][1]["not_after"] is None
    parsed = parse_jwks(json.loads(json.dumps(doc)))
    assert all(isinstance(k, PublishedKey) for k in parsed)
    assert [k.window for k in parsed[:2]] == [i.window for i in store.list()[::2]]


def test_trust_list_carries_windows_and_is_signed_by_the_trust_list_key(
    rotated_store: tuple[KeyStore, SigningKey, SigningKey],
) -> None:
    store, old, new = rotated_store
    jws = own_trust_list(
        store, issuer="CN-44-REG", region="44", name="GD", issued_at=AT, valid_until=None
    )
    signer = store.trust_list_signer()
    assert signer.kid not in {old.kid, new.kid}
    listed = load_trust_list(jws, parse_jwks(store.export_jwks()))
    assert listed.signer_kid == signer.kid
    keys = {k[0]: k for k in listed.issuers[0].keys}
    assert isinstance(keys[old.kid], PublishedKey)
    assert keys[old.kid].window == SigningWindow(not_before=T0, not_after=ROTATED)
    assert keys[signer.kid].purpose is KeyPurpose.TRUST_LIST
    # the trust-list key is listed, but never trusted for a credential
    trust = listed.trust_store()
    assert {k.kid for k in trust} == {old.kid, new.kid}
    forged = _issue(signer, ISSUED)
    assert verify_credential(forged, trust, AT).reasons == ["kid.unknown"]
    assert verify_credential(forged, _trust(store), AT).reasons == ["kid.unknown"]


def test_a_trust_list_signed_by_a_credential_key_is_refused(
    rotated_store: tuple[KeyStore, SigningKey, SigningKey],
) -> None:
    store, _old, new = rotated_store
    entry = IssuerEntry("CN-44-REG", "44", keys=tuple(store.public_keys()))
    jws = sign_trust_list([entry], new, list_issuer="CN-44-REG", issued_at=AT)
    with pytest.raises(TrustListError, match="credential key"):
        load_trust_list(jws, parse_jwks(store.export_jwks()))


# -- revocation ----------------------------------------------------------------------------


def test_revoked_key_invalidates_credentials_from_the_compromise_time(
    rotated_store: tuple[KeyStore, SigningKey, SigningKey],
) -> None:
    store, _old, new = rotated_store
    compromised = ROTATED + timedelta(days=10)
    before = _issue(new, compromised - timedelta(seconds=1))
    at_the_instant = _issue(new, compromised)
    after = _issue(new, compromised + timedelta(days=1))
    info = store.revoke(new.kid, "compromise", at=compromised)
    assert info.window.revoked_at == compromised and info.window.revocation_reason == "compromise"
    trust = _trust(store)
    assert verify_credential(before, trust, AT).valid
    for credential in (at_the_instant, after):
        result = verify_credential(credential, trust, AT)
        assert result.reasons == ["key.revoked"]
        assert "compromise" in result.step(Step.KEY_WINDOW).detail
    assert store.export_jwks()["keys"][1]["revoked_at"] == compromised.isoformat()
    assert store.export_jwks()["keys"][1]["revocation_reason"] == "compromise"


def test_revoking_the_active_key_stops_issuing_until_rotation(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, passphrase="")
    key = store.generate(not_before=T0)
    store.revoke(key.kid, "compromise")
    with pytest.raises(KeyStoreError, match="revoked"):
        store.active()
    fresh = store.rotate()
    assert store.active().kid == fresh.kid


def test_revocation_can_only_move_earlier_and_not_into_the_future(
    rotated_store: tuple[KeyStore, SigningKey, SigningKey],
) -> None:
    store, old, _new = rotated_store
    store.revoke(old.kid, "compromise", at=ISSUED)
    with pytest.raises(KeyStoreError, match="already revoked"):
        store.revoke(old.kid, "compromise", at=ISSUED + timedelta(days=1))
    assert store.revoke(old.kid, "compromise", at=ISSUED - timedelta(days=1)).window.revoked_at
    with pytest.raises(KeyStoreError, match="future"):
        store.revoke(old.kid, "compromise", at=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(KeyStoreError, match="no key"):
        store.revoke(b"\x00" * 8, "compromise")


def test_revoking_the_trust_list_key_makes_a_fresh_one(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, passphrase="")
    store.generate()
    first = store.trust_list_signer()
    store.revoke(first.kid, "compromise")
    second = store.trust_list_signer()
    assert second.kid != first.kid
    jws = own_trust_list(
        store, issuer="CN-44-REG", region="44", name="", issued_at=datetime.now(UTC),
        valid_until=None,
    )  # fmt: skip
    jwks = parse_jwks(store.export_jwks())
    assert load_trust_list(jws, jwks).signer_kid == second.kid
    old_jws = sign_trust_list(
        [IssuerEntry("CN-44-REG", "44", keys=tuple(store.public_keys()))],
        first,
        list_issuer="CN-44-REG",
        issued_at=datetime.now(UTC) + timedelta(seconds=5),
    )
    with pytest.raises(TrustListError, match="outside its window"):
        load_trust_list(old_jws, jwks)


# -- stores written before windows existed ---------------------------------------------------


def test_legacy_index_without_windows_still_loads_and_is_enforced(tmp_path: Path) -> None:
    """index.json of the first release: kid, alg, created, retired; no windows, no purpose."""
    store = KeyStore(tmp_path, passphrase="")
    first = store.generate()
    second = store.rotate()
    created, retired = ISSUED - timedelta(days=100), ISSUED
    legacy = {
        "active": second.kid_hex,
        "keys": [
            {"kid": first.kid_hex, "alg": "EdDSA", "created": created.isoformat(),
             "retired": retired.isoformat()},
            {"kid": second.kid_hex, "alg": "EdDSA", "created": retired.isoformat(),
             "retired": None},
        ],
    }  # fmt: skip
    (tmp_path / "index.json").write_text(json.dumps(legacy))
    infos = store.list()
    assert [i.purpose for i in infos] == [KeyPurpose.CREDENTIAL, KeyPurpose.CREDENTIAL]
    assert infos[0].window == SigningWindow(not_before=created, not_after=retired)
    assert infos[1].window == SigningWindow(not_before=retired, not_after=None)
    assert store.active().kid == second.kid
    trust = _trust(store)
    assert verify_credential(_issue(first, ISSUED - timedelta(days=1)), trust, AT).valid
    late = _issue(first, ISSUED + timedelta(days=1))
    assert verify_credential(late, trust, AT).reasons == ["key.outside_window"]
    early = _issue(first, created - timedelta(days=1))
    assert verify_credential(early, trust, AT).reasons == ["key.outside_window"]
    # the legacy store gains a trust-list key on first use, and then signs lists with it
    signer = store.trust_list_signer()
    assert signer.kid not in {first.kid, second.kid}
    assert store.list()[0].window == infos[0].window  # nothing else in the index changed


def test_legacy_encrypted_store_needs_the_passphrase_for_a_trust_list_key(
    tmp_path: Path,
) -> None:
    store = KeyStore(tmp_path, passphrase="secret")
    key = store.generate()
    index = json.loads((tmp_path / "index.json").read_text())
    index["keys"] = [e for e in index["keys"] if e["kid"] == key.kid_hex]
    index.pop("trust_list")
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(KeyStoreError, match="REGISTRY_KEY_PASSPHRASE"):
        KeyStore(tmp_path, passphrase="").trust_list_signer()
    pem = (tmp_path / f"{store.trust_list_signer().kid_hex}.key.pem").read_bytes()
    assert b"ENCRYPTED" in pem


# -- the CLI -------------------------------------------------------------------------------


def test_cli_revoke_and_verify_say_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_KEY_PASSPHRASE", raising=False)
    runner = CliRunner()
    keys_dir = tmp_path / "keys"

    def keys(*args: str) -> str:
        result = runner.invoke(app, ["keys", *args, "--keys-dir", str(keys_dir)])
        assert result.exit_code == 0, result.output
        return result.output

    keys("generate", "--not-before", _at(T0))
    key = KeyStore(keys_dir).active()
    good, bad = _issue(key, ISSUED - timedelta(seconds=1)), _issue(key, ISSUED)
    out = keys("revoke", key.kid_hex, "--reason", "compromise", "--at", _at(ISSUED))
    assert "credentials it signed from then on are invalid" in out
    listing = json.loads(keys("list", "--json"))
    assert listing[0]["revoked_at"] == ISSUED.isoformat()
    assert listing[0]["revocation_reason"] == "compromise"
    assert "REVOKED (compromise)" in keys("list")
    jwks = tmp_path / "jwks.json"
    keys("export-public", "-o", str(jwks))
    verdicts = {}
    for name, credential in (("good", good), ("bad", bad)):
        result = runner.invoke(
            app, ["verify", credential, "--trust-list", str(jwks), "--at", _at(AT), "--json"]
        )
        verdicts[name] = (result.exit_code, json.loads(result.stdout)["reasons"])
    assert verdicts == {"good": (0, []), "bad": (1, ["key.revoked"])}
    bad_reason = runner.invoke(
        app, ["keys", "revoke", key.kid_hex, "--reason", "lost", "--keys-dir", str(keys_dir)]
    )
    assert bad_reason.exit_code == 2
    not_hex = runner.invoke(
        app, ["keys", "revoke", "xyz", "--reason", "compromise", "--keys-dir", str(keys_dir)]
    )
    assert not_hex.exit_code == 2 and "not a hex key id" in not_hex.output
