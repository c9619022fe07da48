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

Event authentication (SPEC §12 "Integrity") uses the same canonical form, so a MAC written
with the event can be checked again from an export line by whoever holds the key::

    mac = HMAC-SHA256(key, b"er-event-mac/v1\n" || canonical_json(
              {"originator_id": str, "originator_version": int, "topic": str, "state": …}))

(the notification id is left out: the database assigns it after the MAC is computed).
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Literal

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
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate has no UTF-8 form
        raise CanonicalFormError(f"value has no canonical JSON form: {exc.reason}") from None


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


MAC_SIZE = 32
MacKind = Literal["event", "snapshot"]
_MAC_CONTEXT: dict[str, bytes] = {
    "event": b"er-event-mac/v1\n",
    "snapshot": b"er-snapshot-mac/v1\n",
}
_RAW_CONTEXT: dict[str, bytes] = {
    "event": b"er-event-mac/v1-raw\n",
    "snapshot": b"er-snapshot-mac/v1-raw\n",
}


def mac_body(originator_id: str, originator_version: int, topic: str, state: Any) -> bytes:
    """The canonical bytes a MAC covers: the event without its notification id."""
    return canonical_json(
        {
            "originator_id": str(originator_id),
            "originator_version": int(originator_version),
            "topic": str(topic),
            "state": state,
        }
    )


def event_mac(
    key: bytes,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: Any,
    kind: MacKind = "event",
) -> bytes:
    """HMAC-SHA256 of an event (``state`` parsed JSON); `CanonicalFormError` if it has none."""
    body = mac_body(originator_id, originator_version, topic, state)
    return hmac.digest(key, _MAC_CONTEXT[kind] + body, "sha256")


def raw_event_mac(
    key: bytes,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
    kind: MacKind = "event",
) -> bytes:
    """The MAC of a stored event whose state has no canonical form (adopted legacy rows only).

    Length-prefixed fields under a context of its own, so it can never equal a canonical MAC.
    """
    parts = [str(originator_id).encode(), str(int(originator_version)).encode(), topic.encode()]
    framed = b"".join(len(p).to_bytes(4, "big") + p for p in parts) + bytes(state)
    return hmac.digest(key, _RAW_CONTEXT[kind] + framed, "sha256")


def export_event_mac(key: bytes, event: dict[str, Any]) -> bytes:
    """The MAC of a canonical export event object (see `event_object`)."""
    return event_mac(
        key, event["originator_id"], event["originator_version"], event["topic"], event["state"]
    )
