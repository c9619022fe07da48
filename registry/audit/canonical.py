"""Canonical event bytes: the exact bytes each Merkle leaf hashes (see docs/AUDIT.md).

Why a canonical form instead of the stored bytes: an auditor recomputes every leaf from the
JSON Lines export alone, with any JSON library, so the hashed bytes must be a pure function of
the event's *values*, not of how one driver happened to serialise them.

    leaf_hash = SHA-256(0x00 || canonical_event_bytes)
    canonical_event_bytes = UTF-8 of JSON, keys sorted, no whitespace, non-ASCII unescaped, of
        {"notification_id": int, "originator_id": str, "originator_version": int,
         "topic": str, "state": <the stored state, parsed as JSON>}

This module is deliberately stdlib-only (plus the RFC 9162 leaf hash) so the export verifier
and the replay tool share it without touching the event store.
"""

from __future__ import annotations

import json
from typing import Any

from registry.audit.merkle import leaf_hash

EVENT_KEYS = frozenset({"notification_id", "originator_id", "originator_version", "topic", "state"})


class CanonicalFormError(ValueError):
    """An event (or an export line) that has no canonical form."""


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, no NaN/Infinity: one byte string per JSON value."""
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except ValueError as exc:
        raise CanonicalFormError(f"value has no canonical JSON form: {exc}") from None
    return text.encode("utf-8")


def event_object(
    notification_id: int, originator_id: str, originator_version: int, topic: str, state: bytes
) -> dict[str, Any]:
    """The canonical event as a JSON object (the ``event`` member of an export line)."""
    try:
        parsed = json.loads(state)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalFormError(
            f"notification {notification_id}: stored state is not JSON ({exc})"
        ) from None
    return {
        "notification_id": int(notification_id),
        "originator_id": str(originator_id),
        "originator_version": int(originator_version),
        "topic": str(topic),
        "state": parsed,
    }


def check_event_object(event: Any) -> dict[str, Any]:
    """Refuse anything but exactly the five canonical members with the right JSON types."""
    if not isinstance(event, dict) or set(event) != EVENT_KEYS:
        raise CanonicalFormError(f"event must have exactly the members {sorted(EVENT_KEYS)}")
    for name in ("notification_id", "originator_version"):
        value = event[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise CanonicalFormError(f"event {name} must be a positive integer")
    for name in ("originator_id", "topic"):
        if not isinstance(event[name], str) or not event[name]:
            raise CanonicalFormError(f"event {name} must be a non-empty string")
    return event


def event_leaf_hash(event: dict[str, Any]) -> bytes:
    """RFC 9162 leaf hash of a canonical event object."""
    return leaf_hash(canonical_json(event))


def notification_leaf_hash(
    notification_id: int, originator_id: str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """Leaf hash straight from a stored notification's fields."""
    return event_leaf_hash(
        event_object(notification_id, originator_id, originator_version, topic, state)
    )
