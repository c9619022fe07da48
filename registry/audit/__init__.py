"""Tamper evidence for the event log: an RFC 9162 Merkle tree over the events (SPEC §8).

``merkle`` is the pure algorithm an independent auditor can re-check; ``tree_store`` keeps the
tree persistently so roots and proofs for any past checkpoint cost O(log n) lookups.
"""

from registry.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MalformedProofError,
    ProofError,
    ProofParameterError,
    RootMismatchError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from registry.audit.tree_store import MerkleTreeStore, TreeSizeConflictError, TreeStoreError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MalformedProofError",
    "MerkleTreeStore",
    "ProofError",
    "ProofParameterError",
    "RootMismatchError",
    "TreeSizeConflictError",
    "TreeStoreError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]
