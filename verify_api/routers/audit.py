"""Auditor API: signed checkpoints, inclusion and consistency proofs, streaming export.

Auditor role only (401 without a token, 403 for any other role): proofs reveal the shape of
the log, and the export carries every event (personal data only as ciphertext).

The audit tree is opened on the first audit request and from then on follows every save of
this process (`AuditLog.follow`); each request also catches up first, so answers always cover
events recorded by other processes (the CLI, a second server).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from domain.actors import Actor, Role
from registry.audit.checkpoints import Checkpoint
from registry.audit.export import export_lines
from registry.audit.log import AuditLog, AuditLogError, LeafRef
from registry.audit.merkle import verify_inclusion
from verify_api.deps import UserDep
from verify_api.errors import AUTH_RESPONSES, ApiError
from verify_api.services import Services

AUDIT_ROLES = frozenset({Role.AUDITOR})
router = APIRouter(prefix="/api/v1/audit", tags=["auditor"], responses=AUTH_RESPONSES)
_open_lock = threading.Lock()


def auditor(user: UserDep) -> Actor:
    if user.role not in AUDIT_ROLES:
        raise ApiError(403, "auth.role_not_allowed", f"role {user.role.value} may not audit")
    return user.actor


def audit_log(request: Request, _: Annotated[Actor, Depends(auditor)]) -> AuditLog:
    """The process's audit tree (opened once), caught up to the event log."""
    state = request.app.state
    with _open_lock:
        audit: AuditLog | None = getattr(state, "audit_log", None)
        if audit is None:
            services: Services = state.services
            audit = AuditLog(services.registry)
            audit.follow()
            state.audit_log = audit
    audit.catch_up()
    return audit


AuditDep = Annotated[AuditLog, Depends(audit_log)]


def _checkpoints(audit: AuditLog) -> list[Checkpoint]:
    return [Checkpoint.from_json(c.document) for c in audit.checkpoint_index()]


def _one(audit: AuditLog, size: int | None) -> dict[str, Any]:
    indexed = audit.indexed_checkpoint(size)
    if indexed is None:
        raise ApiError(404, "audit.checkpoint_not_found", "no such checkpoint")
    return Checkpoint.from_json(indexed.document).to_json()


@router.get("/checkpoints", summary="Every signed checkpoint, oldest first")
def checkpoints(audit: AuditDep) -> list[dict[str, Any]]:
    return [cp.to_json() for cp in _checkpoints(audit)]


@router.get("/checkpoints/latest", summary="The latest signed checkpoint (CP.json)")
def latest(audit: AuditDep) -> dict[str, Any]:
    return _one(audit, None)


@router.get("/checkpoints/{size}", summary="The signed checkpoint of one tree size (CP.json)")
def by_size(audit: AuditDep, size: int) -> dict[str, Any]:
    return _one(audit, size)


def _tree_size(audit: AuditLog, size: int | None) -> int:
    if size is not None:
        if size > audit.size():
            raise ApiError(422, "audit.size_too_large", f"the tree has {audit.size()} leaves")
        return size
    indexed = audit.indexed_checkpoint()
    return indexed.tree_size if indexed is not None else audit.size()


@router.get("/inclusion", summary="Inclusion proof of one event in the tree of a size")
def inclusion(
    audit: AuditDep,
    leaf: Annotated[int | None, Query(ge=0)] = None,
    notification: Annotated[int | None, Query(ge=1)] = None,
    originator_id: Annotated[str | None, Query(max_length=64)] = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    size: Annotated[int | None, Query(ge=1, description="Default: latest checkpoint.")] = None,
) -> dict[str, Any]:
    ref: LeafRef | None
    if leaf is not None:
        found = audit.leaves(leaf, leaf + 1)
        ref = found[0] if found else None
    elif notification is not None:
        ref = audit.leaf_for_notification(notification)
    elif originator_id is not None and version is not None:
        ref = audit.leaf_for_event(originator_id, version)
    else:
        raise ApiError(
            422, "audit.leaf_required", "give leaf, notification, or originator_id and version"
        )
    if ref is None:
        raise ApiError(404, "audit.leaf_not_found", "that event is not in the tree")
    tree_size = _tree_size(audit, size)
    if ref.leaf_index >= tree_size:
        raise ApiError(
            422, "audit.not_yet_covered", f"leaf {ref.leaf_index} is after size {tree_size}"
        )
    proof = audit.inclusion_proof(ref.leaf_index, tree_size)
    root = audit.root(tree_size)
    value = audit.leaf_hashes(ref.leaf_index, ref.leaf_index + 1)[0]
    verify_inclusion(value, ref.leaf_index, tree_size, proof, root)  # never serve a bad proof
    return {
        "leaf_index": ref.leaf_index,
        "notification_id": ref.notification_id,
        "originator_id": ref.originator_id,
        "originator_version": ref.originator_version,
        "tree_size": tree_size,
        "leaf_hash": value.hex(),
        "root_hash": root.hex(),
        "proof": [p.hex() for p in proof],
    }


@router.get("/consistency", summary="Consistency proof between two tree sizes")
def consistency(
    audit: AuditDep,
    old: Annotated[int, Query(ge=0)],
    new: Annotated[int | None, Query(ge=1, description="Default: latest checkpoint.")] = None,
) -> dict[str, Any]:
    new_size = _tree_size(audit, new)
    try:
        proof = audit.consistency_proof(old, new_size)
    except AuditLogError as exc:
        raise ApiError(422, "audit.bad_sizes", str(exc)) from None
    return {
        "old_size": old,
        "new_size": new_size,
        "old_root": audit.root(old).hex(),
        "new_root": audit.root(new_size).hex(),
        "proof": [p.hex() for p in proof],
    }


@router.get("/export", summary="The history as JSON Lines (streamed, canonical events)")
def export(audit: AuditDep, size: Annotated[int | None, Query(ge=0)] = None) -> StreamingResponse:
    tree_size = audit.size() if size is None else _tree_size(audit, size)

    def body() -> Iterator[bytes]:
        yield from export_lines(audit, tree_size)

    return StreamingResponse(
        body(),
        media_type="application/jsonl",
        headers={"Content-Disposition": 'attachment; filename="history.jsonl"'},
    )
