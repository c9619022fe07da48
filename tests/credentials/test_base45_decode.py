"""Our fast Base45 decoder must agree with the `base45` package on every input."""

from __future__ import annotations

import base45
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from registry.credentials._internal.encoding import b45decode

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def _reference(text: str) -> bytes | None:
    try:
        result: bytes = base45.b45decode(text)
    except ValueError:
        return None
    return result


def _ours(text: str) -> bytes | None:
    try:
        return b45decode(text)
    except ValueError:
        return None


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=600))
def test_decodes_whatever_the_package_encodes(data: bytes) -> None:
    assert b45decode(base45.b45encode(data).decode("ascii")) == data


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
@example(":::")  # 91124 > 0xFFFF
@example("GGW")  # 65536
@example("FGW")  # 65535, the largest valid triple
@example("::")  # 2024 > 0xFF in a final pair
@example("U5")  # 255, the largest valid final pair
@example("A")  # length 1 mod 3
def test_agrees_with_package_on_alphabet_strings(text: str) -> None:
    assert _ours(text) == _reference(text)


# Anything outside the alphabet, including lowercase, non-ASCII and control characters. The
# package also strips trailing newlines, which RFC 9285 does not allow; we refuse them.
@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.sampled_from([*ALPHABET, "a", "z", "\u00e9", "\u4e2d", "\t", "\x00"])))
def test_agrees_with_package_on_mixed_strings(text: str) -> None:
    assert _ours(text) == _reference(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("BB8", b"AB"), ("%69 VD92EX0", b"Hello!!"), ("UJCLQE7W581", b"base-45"), ("", b"")],
)
def test_rfc9285_examples(text: str, expected: bytes) -> None:
    assert b45decode(text) == expected


def test_trailing_newline_is_refused() -> None:
    with pytest.raises(ValueError):
        b45decode("BB8\n")
