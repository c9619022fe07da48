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


def b45decode(text: str) -> bytes:
    """Base45 decode; `ValueError` on characters or lengths RFC 9285 forbids."""
    result: bytes = base45.b45decode(text)
    return result


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
