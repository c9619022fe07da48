"""Export the event history as JSON Lines, one canonical event per Merkle leaf.

Why this exact line format: every line is itself canonical JSON (sorted keys, no whitespace,
UTF-8), so the verifier can insist that a line re-serialises to the very same bytes — any edit,
even one that a lenient JSON parser would forgive, is caught on the line where it happened::

    {"event":{"notification_id":N,"originator_id":"…","originator_version":V,
              "state":{…},"topic":"…"},"leaf_hash":"<64 hex, as the registry's tree holds it>",
     "leaf_index":I,"mac":"<64 hex, the event's MAC as stored>" | null}

``leaf_hash`` is read from the registry's tree, not recomputed from the event, so an event the
store changed after it was hashed shows up as a mismatch on its own line. ``mac`` is the MAC
recorded with the event (null: none was), so `audit verify --event-mac-key` can authenticate
every event again from the file alone; the Merkle leaf covers the event only, so exports of
earlier releases (without ``mac``) still verify. Events whose MAC does not check are exported
all the same — an auditor must see them — and listed in the summary. Pages of ``page`` leaves
are read at a time: memory stays constant whatever the history's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from registry.audit.canonical import canonical_json, event_object
from registry.audit.log import AuditLog, AuditLogError, UnauthenticatedLeaf

PAGE = 2000


@dataclass(frozen=True)
class ExportSummary:
    """What was written: leaves [0, tree_size) and the root they hash to."""

    tree_size: int
    root_hash: bytes
    bytes_written: int
    unauthenticated: list[UnauthenticatedLeaf] = field(default_factory=list)
    """Exported leaves whose event has no valid MAC (forged or altered in the database)."""


def export_lines(
    audit: AuditLog,
    size: int,
    page: int = PAGE,
    unauthenticated: list[UnauthenticatedLeaf] | None = None,
) -> Iterator[bytes]:
    """Canonical export lines for leaves ``[0, size)``, in leaf order.

    Each event's MAC is checked as it is read; ``unauthenticated`` collects those that fail.
    """
    for start in range(0, size, page):
        stop = min(size, start + page)
        refs = audit.leaves(start, stop)
        hashes = audit.leaf_hashes(start, stop)
        if len(refs) != stop - start:
            raise AuditLogError(f"leaf mapping is missing rows in [{start}, {stop})")
        checked = audit.recorder.checked_notifications(
            refs[0].notification_id, stop - start, stop=refs[-1].notification_id
        )
        if [c.notification.id for c in checked] != [r.notification_id for r in refs]:
            gaps = audit.log_gaps(start, stop)
            detail = "; ".join(str(g) for g in gaps[:10]) or (
                f"leaves [{start}, {stop}) and the event log disagree"
            )
            raise AuditLogError(f"cannot export: {detail}")
        for ref, value, c in zip(refs, hashes, checked, strict=True):
            n = c.notification
            if not c.authentic and unauthenticated is not None:
                unauthenticated.append(
                    UnauthenticatedLeaf(
                        ref.leaf_index,
                        n.id,
                        str(n.originator_id),
                        n.originator_version,
                        n.topic,
                        c.reason,
                    )
                )
            event = event_object(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
            line = {
                "event": event,
                "leaf_hash": value.hex(),
                "leaf_index": ref.leaf_index,
                "mac": None if c.mac is None else c.mac.hex(),
            }
            yield canonical_json(line) + b"\n"


def export_history(
    audit: AuditLog,
    out: BinaryIO,
    *,
    size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write leaves ``[0, size)`` (default: the whole tree after catching up) to ``out``."""
    audit.catch_up()
    tree_size = audit.size() if size is None else size
    if not 0 <= tree_size <= audit.size():
        raise AuditLogError(f"cannot export {tree_size} leaves of a {audit.size()}-leaf tree")
    written = 0
    pending = 0
    forged: list[UnauthenticatedLeaf] = []
    for line in export_lines(audit, tree_size, unauthenticated=forged):
        out.write(line)
        written += len(line)
        pending += 1
        if progress is not None and pending == PAGE:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
    return ExportSummary(tree_size, audit.root(tree_size), written, forged)
