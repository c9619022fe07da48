"""RFC 9162 §2.1 Merkle Tree Hash with inclusion and consistency proofs.

Written by hand because no maintained, permissively licensed Python package implements the
RFC 9162 tree; it is kept short so that an auditor can check it against the RFC in one sitting.

Every function works on *leaf hashes* (``leaf_hash(entry)``), not on entries, so the persistent
store can feed it hashes it already holds.  Proof generation is split in two: the ``*_ranges``
functions compute, by arithmetic alone, which leaf ranges ``[lo, hi)`` a proof consists of; the
list-based functions then hash those ranges.  The store resolves the same ranges from stored
subtree nodes, so both paths share one transcription of PATH and PROOF.

Verification returns ``None`` and raises a :class:`ProofError` subclass on failure: the subclass
tells a caller *why* a proof was rejected (bad parameters, malformed proof, or hashes that do not
reproduce the root), which the audit tooling reports when it locates tampering.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) — the root of the empty tree (RFC 9162 §2.1.1)."""

Range = tuple[int, int]
"""A half-open leaf range ``[lo, hi)`` whose Merkle Tree Hash is one proof element."""


class ProofError(ValueError):
    """A proof was rejected."""


class ProofParameterError(ProofError):
    """The claimed index, sizes or hashes are impossible before the proof is even looked at."""


class MalformedProofError(ProofError):
    """The proof has the wrong number of elements, or an element that is not a hash."""


class RootMismatchError(ProofError):
    """The proof is well-formed but does not reproduce the claimed root hash(es)."""


def leaf_hash(data: bytes) -> bytes:
    """Hash an entry with the 0x00 prefix so a leaf can never pass for an interior node."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two children with the 0x01 prefix (domain separation from leaves)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """Return k, the largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    if n < 2:
        raise ValueError(f"split_point needs n >= 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the tree whose leaves hash to ``leaf_hashes``."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return _mth(leaf_hashes, 0, len(leaf_hashes))


def _mth(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    # Index arithmetic instead of slicing keeps the recursion allocation-free.
    if hi - lo == 1:
        return hashes[lo]
    k = split_point(hi - lo)
    return node_hash(_mth(hashes, lo, lo + k), _mth(hashes, lo + k, hi))


def inclusion_path_ranges(index: int, size: int) -> list[Range]:
    """Leaf ranges of PATH(index, D[size]) (§2.1.3.1), in proof order (leaf level first).

    PATH recurses into the half holding the leaf and appends the other half's MTH after the
    sub-path, so walking top-down and reversing gives the RFC order.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    siblings: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            siblings.append((lo + k, hi))
            hi = lo + k
        else:
            siblings.append((lo, lo + k))
            lo += k
    siblings.reverse()
    return siblings


def consistency_proof_ranges(old_size: int, new_size: int) -> list[Range]:
    """Leaf ranges of PROOF(old_size, D[new_size]) (§2.1.4.1), in proof order.

    Follows SUBPROOF(m, D[lo:hi], b) iteratively; ``complete`` is the RFC's flag ``b``, true while
    the old tree is still the whole left part of the subtree being descended, in which case its
    root is known to the verifier and is not repeated in the proof.  Sizes 0 and ``new_size`` give
    an empty proof (every tree extends the empty one; equal sizes need no proof), as in the
    transparency-dev/merkle verifier.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    siblings: list[Range] = []
    lo, hi, complete = 0, new_size, True
    while old_size != hi:
        k = split_point(hi - lo)
        if old_size <= lo + k:
            siblings.append((lo + k, hi))
            hi = lo + k
        else:
            siblings.append((lo, lo + k))
            lo += k
            complete = False
    head: list[Range] = [] if complete else [(lo, hi)]
    return head + siblings[::-1]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) for the tree of all of ``leaf_hashes`` (pass a prefix for a past size)."""
    ranges = inclusion_path_ranges(index, len(leaf_hashes))
    return [_mth(leaf_hashes, lo, hi) for lo, hi in ranges]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) where n is ``len(leaf_hashes)``."""
    ranges = consistency_proof_ranges(old_size, len(leaf_hashes))
    return [_mth(leaf_hashes, lo, hi) for lo, hi in ranges]


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofParameterError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_elements(proof: Sequence[bytes]) -> None:
    for position, element in enumerate(proof):
        if len(element) != HASH_SIZE:
            raise MalformedProofError(
                f"proof element {position} is {len(element)} bytes, not {HASH_SIZE}"
            )


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) sits at ``index`` in the tree of ``size`` with ``root``.

    Transcribes §2.1.3.2.  ``fn``/``sn`` track the leaf's and the last leaf's positions as the
    walk climbs; where the leaf is on the right edge with no right sibling the RFC skips levels.
    """
    _check_hash("leaf hash", leaf)
    _check_hash("root", root)
    if not 0 <= index < size:
        raise ProofParameterError(f"leaf index {index} is not in a tree of size {size}")
    _check_elements(proof)
    fn, sn, r = index, size - 1, leaf
    for element in proof:
        if sn == 0:
            raise MalformedProofError(f"inclusion proof is longer than a size-{size} path")
        if fn & 1 or fn == sn:
            r = node_hash(element, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MalformedProofError(f"inclusion proof is shorter than a size-{size} path")
    if r != root:
        raise RootMismatchError(f"inclusion proof for leaf {index} does not reproduce the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (new_size, new_root) extends the tree (old_size, old_root).

    Transcribes §2.1.4.2: the same walk reconstructs both roots at once, ``fr`` from the nodes
    left of the old tree's edge and ``sr`` from all of them.
    """
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    if not 0 <= old_size <= new_size:
        raise ProofParameterError(f"size {old_size} cannot precede size {new_size}")
    _check_elements(proof)
    if old_size in (0, new_size):
        if proof:
            raise MalformedProofError(
                f"proof from size {old_size} to {new_size} must be empty, has {len(proof)} elements"
            )
        expected_old = EMPTY_ROOT if old_size == 0 else new_root
        if old_root != expected_old:
            raise RootMismatchError(f"old root is not the root of a size-{old_size} prefix")
        return
    if not proof:
        raise MalformedProofError(f"empty consistency proof from size {old_size} to {new_size}")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for element in path[1:]:
        if sn == 0:
            raise MalformedProofError("consistency proof has too many elements")
        if fn & 1 or fn == sn:
            fr = node_hash(element, fr)
            sr = node_hash(element, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MalformedProofError("consistency proof has too few elements")
    if fr != old_root:
        raise RootMismatchError(f"consistency proof does not reproduce the size-{old_size} root")
    if sr != new_root:
        raise RootMismatchError(f"consistency proof does not reproduce the size-{new_size} root")
