"""Transport encoding: context prefix + Base45 (RFC 9285) of zlib-compressed COSE bytes.

Our context prefix is ``ER1:`` ("Engineer Registration", version 1), in the spirit of the
DCC's ``HC1:``. Base45 uses only QR alphanumeric-mode characters, so the QR stays small.
"""

from __future__ import annotations

import zlib

import base45

PREFIX = "ER1:"
MAX_INPUT_CHARS = 8192  # far above any QR capacity; bounds work on hostile input
MAX_DECOMPRESSED = 64 * 1024  # a credential is a few hundred bytes; stops zip bombs


class DecompressionError(ValueError):
    """zlib data that is broken or expands beyond `MAX_DECOMPRESSED`."""


def encode(cose_bytes: bytes, prefix: str = PREFIX) -> str:
    """``prefix`` + Base45(zlib(cose_bytes)) at the highest compression level."""
    encoded: bytes = base45.b45encode(zlib.compress(cose_bytes, 9))
    return prefix + encoded.decode("ascii")


_B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INVALID = 0xFF
# byte -> digit value (0..44); every other byte -> _B45_INVALID
_B45_VALUES = bytes(
    _B45_ALPHABET.index(chr(b)) if chr(b) in _B45_ALPHABET else _B45_INVALID for b in range(256)
)


def b45decode(text: str) -> bytes:
    """Base45 decode (RFC 9285 §4.2); `ValueError` on characters or lengths it forbids.

    Same results as ``base45.b45decode`` (checked by property tests), several times faster:
    no per-character Python loop. Characters become digit values with ``bytes.translate``;
    each of the three digit columns is laid into 32-bit big-endian lanes of one big integer,
    so ``c + 45*d + 2025*e`` is computed for every triple at once (a lane peaks at 91124,
    far below 2**32, so lanes never carry into each other). A lane above 0xFFFF is invalid.
    """
    try:
        digits = text.encode("ascii").translate(_B45_VALUES)
    except UnicodeEncodeError:
        raise ValueError("Invalid base45 string") from None
    if _B45_INVALID in digits or len(digits) % 3 == 1:
        raise ValueError("Invalid base45 string")
    triples, rest = divmod(len(digits), 3)
    whole = 3 * triples
    lanes = bytearray(4 * triples)
    columns = []
    for start in range(3):
        lanes[3::4] = digits[start:whole:3]
        columns.append(int.from_bytes(lanes, "big"))
    words = (columns[0] + 45 * columns[1] + 2025 * columns[2]).to_bytes(4 * triples, "big")
    if words[1::4].count(0) != triples:
        raise ValueError("Invalid base45 string")
    out = bytearray(2 * triples + (rest // 2))
    out[0 : 2 * triples : 2] = words[2::4]
    out[1 : 2 * triples : 2] = words[3::4]
    if rest:
        last = digits[-2] + digits[-1] * 45
        if last > 0xFF:
            raise ValueError("Invalid base45 string")
        out[-1] = last
    return bytes(out)


def decompress(data: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """zlib inflate with an output bound; refuses truncated or trailing data."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise DecompressionError(str(exc)) from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise DecompressionError(f"expands beyond {limit} bytes")
    if not inflater.eof:
        raise DecompressionError("truncated zlib stream")
    if inflater.unused_data:
        raise DecompressionError("trailing bytes after the zlib stream")
    return out
