"""Export the event history as JSON Lines, one canonical event per Merkle leaf.

Why this exact line format: every line is itself canonical JSON (sorted keys, no whitespace,
UTF-8), so the verifier can insist that a line re-serialises to the very same bytes — any edit,
even one that a lenient JSON parser would forgive, is caught on the line where it happened::

    {"event":{"notification_id":N,"originator_id":"…","originator_version":V,
              "state":{…},"topic":"…"},"leaf_hash":"<64 hex, as the registry's tree holds it>",
     "leaf_index":I}

``leaf_hash`` is read from the registry's tree, not recomputed from the event, so an event the
store changed after it was hashed shows up as a mismatch on its own line. Pages of ``page``
leaves are read at a time: memory stays constant whatever the history's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from registry.audit.canonical import canonical_json, event_object
from registry.audit.log import AuditLog, AuditLogError

PAGE = 2000


@dataclass(frozen=True)
class ExportSummary:
    """What was written: leaves [0, tree_size) and the root they hash to."""

    tree_size: int
    root_hash: bytes
    bytes_written: int


def export_lines(audit: AuditLog, size: int, page: int = PAGE) -> Iterator[bytes]:
    """Canonical export lines for leaves ``[0, size)``, in leaf order."""
    recorder = audit.app.recorder
    for start in range(0, size, page):
        stop = min(size, start + page)
        refs = audit.leaves(start, stop)
        hashes = audit.leaf_hashes(start, stop)
        if len(refs) != stop - start:
            raise AuditLogError(f"leaf mapping is missing rows in [{start}, {stop})")
        notifications = recorder.select_notifications(
            refs[0].notification_id, stop - start, stop=refs[-1].notification_id
        )
        if [n.id for n in notifications] != [r.notification_id for r in refs]:
            raise AuditLogError(
                f"event log and leaf mapping disagree for leaves [{start}, {stop}): "
                "an event was removed or inserted below the tree"
            )
        for ref, value, n in zip(refs, hashes, notifications, strict=True):
            event = event_object(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
            line = {"event": event, "leaf_hash": value.hex(), "leaf_index": ref.leaf_index}
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
    for line in export_lines(audit, tree_size):
        out.write(line)
        written += len(line)
        pending += 1
        if progress is not None and pending == PAGE:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
    return ExportSummary(tree_size, audit.root(tree_size), written)
