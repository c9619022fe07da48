"""Issue → QR image → real decoder → verify, and every way a credential must be refused."""

from __future__ import annotations

import zlib
from datetime import timedelta
from pathlib import Path

import base45
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.credentials import (
    Algorithm,
    CredentialClaims,
    KeyStore,
    SigningKey,
    Status,
    Step,
    TrustStore,
    credential_from_url,
    credential_qr_png,
    credential_qr_svg,
    credential_url,
    decode_qr,
    issue_credential,
    issuer_in,
    qr_info,
    verify_credential,
    verify_image,
)
from registry.credentials._internal.algorithms import sign
from registry.credentials._internal.cose import sig_structure
from registry.credentials._internal.encoding import encode
from registry.credentials._internal.result import STEPS
from tests.credentials.conftest import BASE_URL, ISSUED, make_claims, trust_for

AT = ISSUED + timedelta(days=10)


def _mutate(credential: str, index: int) -> str:
    """Flip one bit in the COSE bytes and re-encode (so only the signature check can catch it)."""
    raw = bytearray(zlib.decompress(base45.b45decode(credential[4:])))
    raw[index] ^= 0x01
    return encode(bytes(raw))


def _custom(
    key: SigningKey,
    claims: CredentialClaims,
    *,
    kid_protected: bool = True,
    tag18: bool = True,
    tag61: bool = False,
) -> str:
    """Build COSE variants the issuer never produces but verifiers must accept (DCC)."""
    payload = cbor2.dumps(claims.to_cwt())
    protected_map: dict[int, object] = {1: int(key.alg)}
    unprotected: dict[int, object] = {}
    (protected_map if kid_protected else unprotected)[4] = key.kid
    protected = cbor2.dumps(protected_map)
    signature = sign(key.private_key, sig_structure(protected, payload))
    item: object = [protected, unprotected, payload, signature]
    if tag18:
        item = cbor2.CBORTag(18, item)
    if tag61:
        item = cbor2.CBORTag(61, item)
    return encode(cbor2.dumps(item))


def _assert_rejected(result_steps: object, step: Step, reason: str) -> None:
    result = result_steps
    assert not result.valid  # type: ignore[attr-defined]
    failed = result.step(step)  # type: ignore[attr-defined]
    assert failed.status is Status.INVALID
    assert failed.reason == reason
    order = [s.step for s in result.steps]  # type: ignore[attr-defined]
    for later in result.steps[order.index(step) + 1 :]:  # type: ignore[attr-defined]
        assert later.status is Status.NOT_CHECKED, later
    for earlier in result.steps[: order.index(step)]:  # type: ignore[attr-defined]
        assert earlier.status is Status.VALID, earlier


def test_issue_png_decode_verify(key: SigningKey, claims: CredentialClaims) -> None:
    credential = issue_credential(claims, key)
    assert credential.startswith("ER1:")
    png = credential_qr_png(BASE_URL, credential)
    decoded = decode_qr(png)
    assert decoded == credential_url(BASE_URL, credential)
    assert credential_from_url(decoded) == credential
    result = verify_image(png, trust_for(key), AT)
    assert result.valid, result.reasons
    assert [s.step for s in result.steps] == list(STEPS)
    assert result.credential == claims
    assert result.kid == key.kid and result.alg == -8


def test_es256_credential(claims: CredentialClaims) -> None:
    key = SigningKey.generate(Algorithm.ES256)
    result = verify_credential(issue_credential(claims, key), trust_for(key), AT)
    assert result.valid, result.reasons
    assert result.alg == -7


def test_svg_is_a_qr_svg(key: SigningKey, claims: CredentialClaims) -> None:
    svg = credential_qr_svg(BASE_URL, issue_credential(claims, key))
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and b"<path" in svg


def test_qr_size_for_a_typical_credential(key: SigningKey, claims: CredentialClaims) -> None:
    info = qr_info(credential_url(BASE_URL, issue_credential(claims, key)))
    assert info.modules == 17 + 4 * info.version
    assert info.version <= 16, "a phone must scan it from a printed A4 page"


def test_still_verifies_after_rotation(tmp_path: Path, claims: CredentialClaims) -> None:
    store = KeyStore(tmp_path / "keys", passphrase="")
    old = store.generate(not_before=ISSUED - timedelta(days=1))
    old_credential = issue_credential(claims, store.active())
    new = store.rotate(at=ISSUED + timedelta(hours=1))
    assert new.kid != old.kid and store.active().kid == new.kid
    trust = TrustStore.from_jwks(store.export_jwks(), issuer="CN-44-REG")
    later = make_claims(issued_at=ISSUED + timedelta(days=1))
    new_png = credential_qr_png(BASE_URL, issue_credential(later, store.active()))
    assert verify_image(new_png, trust, AT).valid
    old_png = credential_qr_png(BASE_URL, old_credential)
    result = verify_image(old_png, trust, AT)
    assert result.valid and result.kid == old.kid


@pytest.mark.parametrize(
    "variant",
    [
        {"kid_protected": False},
        {"tag18": False},
        {"tag61": True},
        {"tag18": False, "kid_protected": False},
    ],
)
def test_cose_variants_accepted(
    key: SigningKey, claims: CredentialClaims, variant: dict[str, bool]
) -> None:
    result = verify_credential(_custom(key, claims, **variant), trust_for(key), AT)
    assert result.valid, result.reasons


def test_unknown_key(key: SigningKey, claims: CredentialClaims) -> None:
    other = SigningKey.generate()
    result = verify_credential(issue_credential(claims, other), trust_for(key), AT)
    _assert_rejected(result, Step.KID, "kid.unknown")


def test_key_with_same_kid_but_different_key_fails_signature(claims: CredentialClaims) -> None:
    signer, impostor = SigningKey.generate(), SigningKey.generate()
    trust = TrustStore.from_public_keys([(signer.kid, impostor.public_key)], issuer="CN-44-REG")
    result = verify_credential(issue_credential(claims, signer), trust, AT)
    _assert_rejected(result, Step.SIGNATURE, "signature.invalid")


def test_flipped_byte_in_payload(key: SigningKey, claims: CredentialClaims) -> None:
    credential = issue_credential(claims, key)
    raw = zlib.decompress(base45.b45decode(credential[4:]))
    index = raw.index(b"GD-SIE") + 3
    result = verify_credential(_mutate(credential, index), trust_for(key), AT)
    _assert_rejected(result, Step.SIGNATURE, "signature.invalid")
    assert result.credential is None and result.claims is None


def test_flipped_byte_in_signature(key: SigningKey, claims: CredentialClaims) -> None:
    credential = issue_credential(claims, key)
    result = verify_credential(_mutate(credential, -5), trust_for(key), AT)
    _assert_rejected(result, Step.SIGNATURE, "signature.invalid")


def test_expired_and_not_yet_valid(key: SigningKey, claims: CredentialClaims) -> None:
    credential = issue_credential(claims, key)
    late = verify_credential(credential, trust_for(key), claims.expires_at + timedelta(seconds=1))
    _assert_rejected(late, Step.EXPIRY, "expiry.expired")
    assert late.step(Step.SIGNATURE).status is Status.VALID
    early = verify_credential(credential, trust_for(key), ISSUED - timedelta(minutes=1))
    _assert_rejected(early, Step.EXPIRY, "expiry.not_yet_valid")
    at_expiry = verify_credential(credential, trust_for(key), claims.expires_at)
    assert at_expiry.valid


def test_issuer_of_another_region_cannot_use_our_key(key: SigningKey) -> None:
    forged = issue_credential(make_claims(issuer="CN-11-REG", issuer_region="11"), key)
    result = verify_credential(forged, trust_for(key, issuer="CN-44-REG"), AT)
    _assert_rejected(result, Step.CWT, "cwt.issuer_mismatch")


def test_policy_step(key: SigningKey, claims: CredentialClaims) -> None:
    credential = issue_credential(claims, key)
    ok = verify_credential(credential, trust_for(key), AT, policy=issuer_in(["CN-44-REG"]))
    assert ok.valid and ok.step(Step.POLICY).status is Status.VALID
    refused = verify_credential(credential, trust_for(key), AT, policy=issuer_in(["CN-11-REG"]))
    _assert_rejected(refused, Step.POLICY, "policy.issuer_not_allowed")


@pytest.mark.parametrize(
    ("text", "step", "reason"),
    [
        ("garbage", Step.UNPREFIX, "prefix.unsupported"),
        ("HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N", Step.UNPREFIX, "prefix.unsupported"),
        ("ER1:abc", Step.BASE45, "base45.invalid"),
        ("ER1:" + "A" * 5, Step.BASE45, "base45.invalid"),
        ("ER1:" + base45.b45encode(b"not zlib at all").decode(), Step.DECOMPRESS, "zlib.invalid"),
        (encode(b"\xff\xfe not cbor"), Step.COSE, "cose.malformed"),
        (encode(cbor2.dumps({"a": 1})), Step.COSE, "cose.malformed"),
        (encode(cbor2.dumps([b"", {}, b"x", b"s"]) + b"\x00"), Step.COSE, "cose.malformed"),
        (encode(cbor2.dumps([b"", {}, b"x", b"s"])), Step.KID, "kid.missing"),
        ("https://verify.example.org/other?c=ER1:x", Step.UNPREFIX, "url.invalid"),
    ],
)
def test_malformed_input_rejected(key: SigningKey, text: str, step: Step, reason: str) -> None:
    _assert_rejected(verify_credential(text, trust_for(key), AT), step, reason)


def test_truncated_credential(key: SigningKey, claims: CredentialClaims) -> None:
    credential = issue_credential(claims, key)
    cut = credential[: len(credential) - 30]
    cut = cut[: 4 + ((len(cut) - 4) // 3) * 3]  # keep it valid Base45 so zlib must notice
    _assert_rejected(verify_credential(cut, trust_for(key), AT), Step.DECOMPRESS, "zlib.invalid")


def test_non_cbor_payload_is_cwt_malformed(key: SigningKey) -> None:
    payload = b"\xff\x00 definitely not a CWT"
    protected = cbor2.dumps({1: -8, 4: key.kid})
    signature = sign(key.private_key, sig_structure(protected, payload))
    text = encode(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))
    _assert_rejected(verify_credential(text, trust_for(key), AT), Step.CWT, "cwt.malformed")


def test_zip_bomb_refused(key: SigningKey) -> None:
    bomb = "ER1:" + base45.b45encode(zlib.compress(b"\0" * 2_000_000, 9)).decode()
    _assert_rejected(verify_credential(bomb, trust_for(key), AT), Step.DECOMPRESS, "zlib.invalid")


def test_naive_time_refused(key: SigningKey) -> None:
    with pytest.raises(ValueError):
        verify_credential("ER1:", trust_for(key), AT.replace(tzinfo=None))


BASE45_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@given(st.text(alphabet=BASE45_CHARS, min_size=1, max_size=400))
def test_url_round_trip_keeps_every_base45_character(body: str) -> None:
    credential = "ER1:" + body
    url = credential_url("https://verify.example.org/registry/", credential)
    assert url.startswith("https://verify.example.org/registry/v?c=ER1%3A")
    assert " " not in url and "+" not in url.split("?", 1)[1]
    assert credential_from_url(url) == credential


_HYPOTHESIS_KEY = SigningKey.generate()


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_verifier_never_raises_and_never_accepts_junk(text: str) -> None:
    result = verify_credential(text, trust_for(_HYPOTHESIS_KEY), AT, ("ER1:", ""))
    assert not result.valid
    assert result.first_failure is not None
