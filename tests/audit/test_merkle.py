"""RFC 9162 Merkle tree: reference vectors, and properties against a literal RFC transcription."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.audit.merkle import (
    EMPTY_ROOT,
    MalformedProofError,
    ProofError,
    ProofParameterError,
    RootMismatchError,
    consistency_proof,
    consistency_proof_ranges,
    inclusion_path_ranges,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    split_point,
    verify_consistency,
    verify_inclusion,
)

# The Certificate Transparency reference tree (C++ merkle_tree_test.cc, reused by
# google/trillian and transparency-dev/merkle testonly).
LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = {
    0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
# (leaf index, tree size, path) — CT kSHA256Paths, converted to 0-based indices.
INCLUSION_VECTORS = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, proof) — CT kSHA256Proofs, plus (3, 7) from transparency-dev/merkle.
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        3,
        7,
        [
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
        ],
    ),
]

CT_LEAVES = [leaf_hash(data) for data in LEAF_INPUTS]


def hexes(hashes: Sequence[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


# --- A literal, slicing transcription of RFC 9162 §2.1, used only as an oracle. -------------


def ref_mth(d: Sequence[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return d[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return [] if m in (0, len(d)) else ref_subproof(m, d, True)


def make_leaves(seed: int, size: int) -> list[bytes]:
    return [leaf_hash(seed.to_bytes(8, "big") + i.to_bytes(4, "big")) for i in range(size)]


def flip_bit(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[(bit // 8) % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


# --- Reference vectors --------------------------------------------------------------------


def test_hashing_is_domain_separated() -> None:
    assert leaf_hash(b"").hex() == ROOTS[1]
    assert leaf_hash(b"\x00").hex() == INCLUSION_VECTORS[1][2][0]
    assert node_hash(CT_LEAVES[0], CT_LEAVES[1]).hex() == ROOTS[2]
    assert leaf_hash(CT_LEAVES[0] + CT_LEAVES[1]) != node_hash(CT_LEAVES[0], CT_LEAVES[1])


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_reference_roots(size: int) -> None:
    assert root_hash(CT_LEAVES[:size]).hex() == ROOTS[size]


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_reference_inclusion_paths(index: int, size: int, path: list[str]) -> None:
    proof = inclusion_proof(CT_LEAVES[:size], index)
    assert hexes(proof) == path
    verify_inclusion(CT_LEAVES[index], index, size, proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY_VECTORS)
def test_reference_consistency_proofs(old: int, new: int, path: list[str]) -> None:
    proof = consistency_proof(CT_LEAVES[:new], old)
    assert hexes(proof) == path
    verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof)


def test_split_point() -> None:
    assert [split_point(n) for n in range(2, 11)] == [1, 2, 2, 4, 4, 4, 4, 8, 8]
    with pytest.raises(ValueError):
        split_point(1)


# --- Parameter checking -------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size"), [(0, 0), (3, 3), (-1, 3)])
def test_inclusion_of_absent_leaf_is_refused(index: int, size: int) -> None:
    with pytest.raises(ValueError):
        inclusion_path_ranges(index, size)
    with pytest.raises(ProofParameterError):
        verify_inclusion(CT_LEAVES[0], index, size, [], EMPTY_ROOT)


def test_consistency_backwards_is_refused() -> None:
    with pytest.raises(ValueError):
        consistency_proof_ranges(5, 4)
    with pytest.raises(ProofParameterError):
        verify_consistency(5, 4, EMPTY_ROOT, EMPTY_ROOT, [])


def test_hash_lengths_are_checked() -> None:
    root = root_hash(CT_LEAVES)
    proof = inclusion_proof(CT_LEAVES, 0)
    with pytest.raises(ProofParameterError):
        verify_inclusion(CT_LEAVES[0][:31], 0, 8, proof, root)
    with pytest.raises(ProofParameterError):
        verify_inclusion(CT_LEAVES[0], 0, 8, proof, root + b"\x00")
    with pytest.raises(MalformedProofError):
        verify_inclusion(CT_LEAVES[0], 0, 8, [*proof[:2], proof[2][:16]], root)


def test_trivial_consistency_cases() -> None:
    root5 = root_hash(CT_LEAVES[:5])
    verify_consistency(0, 5, EMPTY_ROOT, root5, [])
    verify_consistency(5, 5, root5, root5, [])
    with pytest.raises(RootMismatchError):
        verify_consistency(0, 5, root5, root5, [])
    with pytest.raises(RootMismatchError):
        verify_consistency(5, 5, root5, root_hash(CT_LEAVES[:6]), [])
    with pytest.raises(MalformedProofError):
        verify_consistency(5, 5, root5, root5, [root5])
    with pytest.raises(MalformedProofError):
        verify_consistency(3, 5, root_hash(CT_LEAVES[:3]), root5, [])


# --- Properties over random trees ---------------------------------------------------------

SEEDS = st.integers(0, 2**32)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    size = draw(st.integers(1, 300))
    return make_leaves(draw(SEEDS), size), draw(st.integers(0, size - 1))


@st.composite
def tree_and_old_size(draw: st.DrawFn) -> tuple[list[bytes], int]:
    size = draw(st.integers(1, 300))
    return make_leaves(draw(SEEDS), size), draw(st.integers(0, size))


@settings(max_examples=300, deadline=None)
@given(tree_and_index())
def test_inclusion_proofs_match_rfc_and_verify(case: tuple[list[bytes], int]) -> None:
    leaves, index = case
    proof = inclusion_proof(leaves, index)
    assert proof == ref_path(index, leaves)
    assert root_hash(leaves) == ref_mth(leaves)
    verify_inclusion(leaves[index], index, len(leaves), proof, ref_mth(leaves))


@settings(max_examples=300, deadline=None)
@given(tree_and_index(), st.data())
def test_tampered_inclusion_proofs_fail(case: tuple[list[bytes], int], data: st.DataObject) -> None:
    leaves, index = case
    size, root = len(leaves), root_hash(leaves)
    proof = inclusion_proof(leaves, index)

    with pytest.raises(RootMismatchError):
        verify_inclusion(
            flip_bit(leaves[index], data.draw(st.integers(0, 255))), index, size, proof, root
        )
    with pytest.raises(RootMismatchError):
        verify_inclusion(leaves[index], index, size, proof, flip_bit(root, 7))
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[position] = flip_bit(bad[position], data.draw(st.integers(0, 255)))
        with pytest.raises(RootMismatchError):
            verify_inclusion(leaves[index], index, size, bad, root)
        with pytest.raises(MalformedProofError):
            verify_inclusion(leaves[index], index, size, proof[:-1], root)
    with pytest.raises(MalformedProofError):
        verify_inclusion(leaves[index], index, size, [*proof, root], root)
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], other, size, proof, root)
        # The leaf that really sits at `other` cannot borrow this leaf's path either.
        with pytest.raises(ProofError):
            verify_inclusion(leaves[other], other, size, proof, root)
    # A different size, checked against that size's genuine root.
    wrong_size = data.draw(st.integers(index + 1, 301).filter(lambda n: n != size))
    longer = leaves + make_leaves(size, 301 - size)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, wrong_size, proof, root_hash(longer[:wrong_size]))


@settings(max_examples=300, deadline=None)
@given(tree_and_old_size())
def test_consistency_proofs_match_rfc_and_verify(case: tuple[list[bytes], int]) -> None:
    leaves, old = case
    proof = consistency_proof(leaves, old)
    assert proof == ref_proof(old, leaves)
    verify_consistency(old, len(leaves), ref_mth(leaves[:old]), ref_mth(leaves), proof)


@settings(max_examples=300, deadline=None)
@given(tree_and_old_size(), st.data())
def test_tampered_consistency_proofs_fail(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, old = case
    new = len(leaves)
    old_root, new_root = root_hash(leaves[:old]), root_hash(leaves)
    proof = consistency_proof(leaves, old)

    if old > 0:
        with pytest.raises(RootMismatchError):
            verify_consistency(old, new, flip_bit(old_root, 3), new_root, proof)
    if 0 < old < new:
        # (Every tree extends the empty one, so old == 0 has no new root to get wrong.)
        with pytest.raises(RootMismatchError):
            verify_consistency(old, new, old_root, flip_bit(new_root, 3), proof)
        # A new tree that rewrote an old leaf is not an extension of the old one.
        rewritten = list(leaves)
        position = data.draw(st.integers(0, old - 1))
        rewritten[position] = flip_bit(rewritten[position], 0)
        with pytest.raises(RootMismatchError):
            verify_consistency(old, new, old_root, root_hash(rewritten), proof)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[position] = flip_bit(bad[position], data.draw(st.integers(0, 255)))
        with pytest.raises(RootMismatchError):
            verify_consistency(old, new, old_root, new_root, bad)
        with pytest.raises(MalformedProofError):
            verify_consistency(old, new, old_root, new_root, proof[:-1])
        with pytest.raises(MalformedProofError):
            verify_consistency(old, new, old_root, new_root, [*proof, new_root])
    # Wrong sizes, each checked against the genuine root of the size claimed.
    if 0 < old < new:
        wrong_old = data.draw(st.integers(1, new - 1).filter(lambda m: m != old))
        with pytest.raises(ProofError):
            verify_consistency(wrong_old, new, root_hash(leaves[:wrong_old]), new_root, proof)
        longer = leaves + make_leaves(new, 301 - new)
        wrong_new = data.draw(st.integers(old + 1, 301).filter(lambda n: n != new))
        with pytest.raises(ProofError):
            verify_consistency(old, wrong_new, old_root, root_hash(longer[:wrong_new]), proof)
