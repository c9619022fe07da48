"""Key store (file modes, encryption, rotation), JWKS, signed trust lists, X.509 anchors."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from registry.credentials import (
    Algorithm,
    CredentialClaims,
    IssuerEntry,
    KeyStore,
    KeyStoreError,
    SigningKey,
    Status,
    Step,
    TrustListError,
    TrustStore,
    issue_credential,
    kid_for_certificate,
    load_trust_list,
    sign_trust_list,
    verify_credential,
)
from registry.credentials._internal.cose import sig_structure
from registry.credentials._internal.encoding import encode
from registry.credentials._internal.keys import KeyPurpose
from tests.credentials.conftest import ISSUED, make_claims

AT = ISSUED + timedelta(days=10)


def test_private_key_files_are_0600_and_dir_0700(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys", passphrase="")
    key = store.generate()
    store.rotate(Algorithm.ES256)
    for path in (tmp_path / "keys").glob("*.key.pem"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    # two credential keys and the dedicated trust-list key
    assert len(list((tmp_path / "keys").glob("*.key.pem"))) == 3
    assert store.load(key.kid).kid == key.kid


def test_passphrase_encrypts_private_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, passphrase="correct horse")
    key = store.generate()
    pem = (tmp_path / f"{key.kid_hex}.key.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert KeyStore(tmp_path, passphrase="correct horse").active().kid == key.kid
    with pytest.raises(KeyStoreError, match="REGISTRY_KEY_PASSPHRASE"):
        KeyStore(tmp_path, passphrase="").active()
    with pytest.raises(KeyStoreError):
        KeyStore(tmp_path, passphrase="wrong").active()
    # publishing needs no passphrase: the credential key and the trust-list key
    assert len(KeyStore(tmp_path, passphrase="").export_jwks()["keys"]) == 2


def test_passphrase_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_KEY_PASSPHRASE", "from-env")
    key = KeyStore(tmp_path).generate()
    assert b"ENCRYPTED" in (tmp_path / f"{key.kid_hex}.key.pem").read_bytes()


def test_generate_refuses_second_time_rotate_keeps_old(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, passphrase="")
    first = store.generate()
    with pytest.raises(KeyStoreError):
        store.generate()
    second = store.rotate()
    infos = [i for i in store.list() if i.purpose is KeyPurpose.CREDENTIAL]
    assert [i.kid for i in infos] == [first.kid, second.kid]
    assert [i.active for i in infos] == [False, True]
    assert infos[0].retired is not None and infos[1].retired is None


def test_jwks_has_no_private_members(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, passphrase="")
    store.generate()
    store.rotate(Algorithm.ES256)
    doc = store.export_jwks()
    kinds = sorted((k["kty"], k["alg"], k["purpose"]) for k in doc["keys"])
    assert kinds == [
        ("EC", "ES256", "credential"),
        ("OKP", "EdDSA", "credential"),
        ("OKP", "EdDSA", "trust-list"),
    ]
    assert all("d" not in k and k["use"] == "sig" for k in doc["keys"])
    # the trust-list key is published but never trusted for credentials
    assert len(TrustStore.from_jwks(json.loads(json.dumps(doc)))) == 2


def _trust_list(signer: SigningKey, *entries: IssuerEntry, valid_days: int = 30) -> str:
    return sign_trust_list(
        entries,
        signer,
        list_issuer="CN-44-REG",
        issued_at=ISSUED,
        valid_until=ISSUED + timedelta(days=valid_days),
    )


def test_signed_trust_list_with_other_region(claims: CredentialClaims) -> None:
    ours, theirs, signer = (
        SigningKey.generate(),
        SigningKey.generate(Algorithm.ES256),
        SigningKey.generate(),
    )
    jws = _trust_list(
        signer,
        IssuerEntry("CN-44-REG", "44", ((ours.kid, ours.public_key),)),
        IssuerEntry("CN-11-REG", "11", ((theirs.kid, theirs.public_key),), name="北京"),
    )
    trust = load_trust_list(jws, [(signer.kid, signer.public_key)], at=AT).trust_store()
    other_claims = make_claims(issuer="CN-11-REG", issuer_region="11")
    recognised = verify_credential(issue_credential(other_claims, theirs), trust, AT)
    assert recognised.valid and recognised.region == "11"
    assert verify_credential(issue_credential(claims, ours), trust, AT).valid
    # region 11's key cannot sign as region 44
    forged = verify_credential(issue_credential(claims, theirs), trust, AT)
    assert forged.step(Step.CWT).reason == "cwt.issuer_mismatch"


def test_trust_list_tampering_and_wrong_signer_refused() -> None:
    signer, key = SigningKey.generate(), SigningKey.generate()
    jws = _trust_list(signer, IssuerEntry("CN-44-REG", "44", ((key.kid, key.public_key),)))
    header, payload, signature = jws.split(".")
    other = SigningKey.generate()
    with pytest.raises(TrustListError, match="unknown key"):
        load_trust_list(jws, [(other.kid, other.public_key)])
    with pytest.raises(TrustListError, match="invalid"):
        load_trust_list(jws, [(signer.kid, other.public_key)])
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    with pytest.raises(TrustListError):
        load_trust_list(f"{header}.{flipped}.{signature}", [(signer.kid, signer.public_key)])
    with pytest.raises(TrustListError, match="expired"):
        load_trust_list(jws, [(signer.kid, signer.public_key)], at=ISSUED + timedelta(days=31))


def test_issuer_validity_window_enforced(claims: CredentialClaims) -> None:
    signer, key = SigningKey.generate(), SigningKey.generate()
    entry = IssuerEntry(
        "CN-44-REG", "44", ((key.kid, key.public_key),), valid_until=ISSUED + timedelta(days=5)
    )
    trust = load_trust_list(_trust_list(signer, entry), [(signer.kid, signer.public_key)])
    result = verify_credential(issue_credential(claims, key), trust.trust_store(), AT)
    assert result.step(Step.KID).reason == "kid.not_valid_at"
    assert result.step(Step.SIGNATURE).status is Status.NOT_CHECKED


def _self_signed(
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test DSC")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2030, 1, 1, tzinfo=UTC))
    )
    algorithm = None if isinstance(private, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(private, algorithm)


def _cose_with(kid: bytes, alg: int, signer: object, claims: CredentialClaims) -> str:
    import cbor2

    payload = cbor2.dumps(claims.to_cwt())
    protected = cbor2.dumps({1: alg, 4: kid})
    data = sig_structure(protected, payload)
    if isinstance(signer, rsa.RSAPrivateKey):
        signature = signer.sign(
            data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )
    else:
        from registry.credentials._internal.algorithms import sign

        signature = sign(signer, data)  # type: ignore[arg-type]
    return encode(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


@pytest.mark.parametrize("kind", ["ES256", "PS256", "EdDSA"])
def test_x509_trust_anchors(kind: str, claims: CredentialClaims, tmp_path: Path) -> None:
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    if kind == "ES256":
        private, alg = ec.generate_private_key(ec.SECP256R1()), -7
    elif kind == "PS256":
        private, alg = rsa.generate_private_key(public_exponent=65537, key_size=2048), -37
    else:
        private, alg = ed25519.Ed25519PrivateKey.generate(), -8
    cert = _self_signed(private)
    der = cert.public_bytes(Encoding.DER)
    kid = kid_for_certificate(der)
    text = _cose_with(kid, alg, private, claims)
    for blob in (der, cert.public_bytes(Encoding.PEM)):
        result = verify_credential(text, TrustStore.from_x509([blob]), AT)
        assert result.valid, result.reasons
    # the wrong algorithm id for the key type is refused, not silently accepted
    wrong = _cose_with(kid, -8 if alg != -8 else -7, private, claims) if kind != "PS256" else None
    if wrong is not None:
        result = verify_credential(wrong, TrustStore.from_x509([der]), AT)
        assert result.step(Step.SIGNATURE).reason == "signature.alg_unsupported"
