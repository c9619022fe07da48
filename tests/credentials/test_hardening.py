"""Issue 9, low items: COSE `crit` with an unknown label, name masking that separators bypassed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import cbor2
import pytest

from registry.credentials import ClaimsError, SigningKey, Step, mask_name, verify_credential
from registry.credentials._internal.algorithms import sign
from registry.credentials._internal.cose import CriticalHeaderError, decode_sign1, sig_structure
from registry.credentials._internal.encoding import encode
from tests.credentials.conftest import ISSUED, make_claims, trust_for

AT = ISSUED + timedelta(days=10)


def _signed(
    key: SigningKey, protected_extra: dict[Any, Any], unprotected: dict[Any, Any] | None = None
) -> str:
    """A correctly signed credential whose headers carry extra parameters."""
    protected = cbor2.dumps({1: int(key.alg), 4: key.kid, **protected_extra})
    payload = cbor2.dumps(make_claims().to_cwt())
    signature = sign(key.private_key, sig_structure(protected, payload))
    body = [protected, unprotected or {}, payload, signature]
    return encode(cbor2.dumps(cbor2.CBORTag(18, body)))


@pytest.mark.parametrize(
    ("protected", "unprotected"),
    [
        ({2: [99], 99: "must-understand"}, None),  # unknown integer label
        ({2: ["x-policy"], "x-policy": 1}, None),  # unknown text label
        ({2: [4, 99], 99: 0}, None),  # one known, one unknown
        ({2: []}, None),  # empty crit (RFC 9052: at least one value)
        ({2: 99, 99: 0}, None),  # not an array
        ({2: [3]}, None),  # names a header absent from the protected bucket
        ({}, {2: [4]}),  # crit outside the protected header
    ],
)
def test_crit_with_unknown_or_malformed_labels_is_rejected(
    key: SigningKey, protected: dict[Any, Any], unprotected: dict[Any, Any] | None
) -> None:
    credential = _signed(key, protected, unprotected)
    result = verify_credential(credential, trust_for(key), AT)
    assert not result.valid
    assert result.step(Step.COSE).reason == "cose.crit_unsupported"
    assert result.reasons == ["cose.crit_unsupported"]


def test_crit_naming_only_understood_headers_still_verifies(key: SigningKey) -> None:
    credential = _signed(key, {2: [1, 4]})
    assert verify_credential(credential, trust_for(key), AT).valid


def test_decode_sign1_raises_the_crit_error_type(key: SigningKey) -> None:
    protected = cbor2.dumps({1: int(key.alg), 2: [99], 99: 1})
    with pytest.raises(CriticalHeaderError, match="not understood"):
        decode_sign1(cbor2.dumps([protected, {}, b"", b""]))


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张 三 丰", "张*丰"),
        ("张  三  丰", "张*丰"),
        ("张\t三\t丰", "张*丰"),
        ("张\u3000三\u3000丰", "张*丰"),  # ideographic space
        ("张\u200b三\u200b丰", "张*丰"),  # zero-width spaces
        ("张\u200d三\ufeff丰", "张*丰"),  # zero-width joiner, BOM
        ("\u202e张三丰\u202c", "张*丰"),  # bidi override around the name
        ("阿卜杜·热合曼", "阿****曼"),  # middle-dot transliteration
        ("张 三", "张*"),
        ("Zhang  San", "Z**** S**"),
        ("Zhang\tSan", "Z**** S**"),
        ("Zhang\nSan", "Z**** S**"),
        ("Zhang\u00a0San", "Z**** S**"),  # no-break space
        ("Zhang\u200bSan", "Z******n"),  # invisible: one word, still masked
        ("Z h a n g", "* * * * *"),  # letters spaced out reveal nothing
        ("L.i L.e.i", "* * * * *"),
        ("Li Lei", "L* L**"),
        ("张小三", "张*三"),
        ("李", "*"),
    ],
)
def test_separators_never_unmask_a_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize("name", ["张三丰", "欧阳小明", "Zhang San Feng", "Zhang"])
@pytest.mark.parametrize("sep", [" ", "  ", "\t", "\u200b", "\u3000", "\u00a0", "·", "-", "."])
def test_spreading_a_name_apart_never_reveals_more(name: str, sep: str) -> None:
    """Every character of the name split by a separator: no more characters visible than in
    the plainly written name's mask (the same mask for CJK names)."""
    spread = sep.join(name)
    masked, plain = mask_name(spread), mask_name(name)
    visible = [c for c in masked if c not in "* "]
    assert len(visible) <= len([c for c in plain if c not in "* "]), (spread, masked)
    if name[0] > "\u3000":
        assert masked == plain


@pytest.mark.parametrize("name", ["", "   ", "\u200b\u200b", "\t·\u3000"])
def test_a_name_of_separators_only_is_refused(name: str) -> None:
    with pytest.raises(ClaimsError):
        mask_name(name)
