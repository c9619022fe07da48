"""The audit log: an RFC 9162 Merkle tree that follows the event log, leaf by leaf.

Why a follower with its own position: the tree must cover every recorded event exactly once, in
notification order, on both stores. Each step reads the notifications after the tracked
position, hashes their canonical bytes (`registry.audit.canonical`), and — in ONE transaction —
appends the leaves to the persistent tree (`MerkleTreeStore.append_in`), records the dense
``leaf_index -> notification_id`` mapping (PostgreSQL ids may have gaps; leaf indexes never do)
and moves the position. A crash anywhere rolls all three back, so a restart neither skips nor
repeats an event; two followers serialise on the tracking row and the loser simply re-reads.

Tables (same database / schema as the events, made by migration 0004 in
`registry.adapters.migrations`, reached through the application's one SQL adapter,
``app.db``): ``audit_merkle_nodes`` (the tree store),
``audit_leaves`` (leaf_index, notification_id, originator_id, originator_version),
``audit_tracking`` (position, tree_size), ``audit_checkpoints`` (an index of the signed
checkpoint events, written by the same transaction when the follower meets one) and
``audit_unauthenticated`` (leaves whose event has no valid MAC, see below).

Unauthenticated events (SPEC §12): the follower reads the log through the recorder's
`checked_notifications`, which returns each event with its MAC verdict instead of refusing it.
A forged event still becomes a leaf — the tree mirrors the log, so the event gets a leaf index
an auditor can be told about — but it is listed in ``audit_unauthenticated`` in the same
transaction, a checkpoint event that is not authentic is never indexed, and `Checkpointer`
refuses to sign any tree that covers a listed leaf.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from eventsourcing.persistence import Notification

from registry.application.ports import Cursor
from registry.application.service import RegistryApp
from registry.audit.canonical import event_leaf_hash, event_object
from registry.audit.tree_store import MerkleTreeStore

log = logging.getLogger("registry.audit")

CHECKPOINT_TOPIC = "registry.audit.checkpoints:AuditCheckpoint.Signed"
"""Topic of the checkpoint event (defined in `registry.audit.checkpoints`)."""

TRACKING_NAME = "merkle_tree"
"""The tracking row migration 0004 creates (position 0, empty tree)."""
DEFAULT_BATCH = 2000


class CheckedEvent(Protocol):
    """One stored notification with the recorder's verdict on its MAC."""

    @property
    def notification(self) -> Notification: ...

    @property
    def mac(self) -> bytes | None: ...

    @property
    def authentic(self) -> bool: ...

    @property
    def reason(self) -> str: ...


@runtime_checkable
class CheckingRecorder(Protocol):
    """What the audit log needs of the event store (`registry.adapters.event_store`'s
    recorders): notifications with MAC verdicts instead of a refusal, so a forged event
    still gets its leaf and can be named. Structural, so the audit layer never imports the
    adapters that themselves use `registry.audit.canonical`."""

    def checked_notifications(
        self, start: int, limit: int, stop: int | None = None
    ) -> Sequence[CheckedEvent]: ...

    def max_notification_id(self) -> int | None: ...


class AuditLogError(ValueError):
    """The audit tables disagree with the event log or with the question asked."""


class UnauthenticatedEventsError(AuditLogError):
    """The tree covers events without a valid MAC: the registry will not sign it."""

    def __init__(self, message: str, leaves: list[UnauthenticatedLeaf]) -> None:
        super().__init__(message)
        self.leaves = leaves


@dataclass(frozen=True)
class LeafRef:
    """Where one event sits in the tree."""

    leaf_index: int
    notification_id: int
    originator_id: str
    originator_version: int


@dataclass(frozen=True)
class UnauthenticatedLeaf:
    """A leaf whose event carries no valid MAC: inserted or altered outside the registry."""

    leaf_index: int
    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    reason: str

    def __str__(self) -> str:
        return (
            f"leaf {self.leaf_index} (notification {self.notification_id}, "
            f"{self.originator_id} version {self.originator_version}, {self.topic}): "
            f"{self.reason}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "notification_id": self.notification_id,
            "originator_id": self.originator_id,
            "originator_version": self.originator_version,
            "topic": self.topic,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class LogGap:
    """A disagreement between the tree's leaf mapping and the event log below the tree."""

    notification_id: int
    leaf_index: int | None
    """The leaf that maps to the missing notification; None for an event the tree lacks."""
    originator_id: str
    originator_version: int

    def __str__(self) -> str:
        if self.leaf_index is None:
            return (
                f"notification {self.notification_id} ({self.originator_id} version "
                f"{self.originator_version}) is in the event log but in no leaf: inserted "
                "below the tree"
            )
        return (
            f"notification {self.notification_id} (leaf {self.leaf_index}, "
            f"{self.originator_id} version {self.originator_version}) is missing from the "
            "event log: deleted after it was hashed into the tree"
        )


@dataclass(frozen=True)
class IndexedCheckpoint:
    """A signed checkpoint document as recorded in the log, and the leaf holding its event."""

    tree_size: int
    leaf_index: int
    document: dict[str, Any]


class AuditLog:
    """The Merkle tree over one `RegistryApp`'s event log, in the app's own SQL database.

    Thread-safe as the database adapter is; one lock keeps this process's followers from
    racing each other for nothing. Use :meth:`follow` to keep the tree moving with every
    `app.save`. Closing only unhooks it: the connections belong to the app.
    """

    def __init__(self, app: RegistryApp) -> None:
        self.app = app
        recorder = app.recorder
        if not isinstance(recorder, CheckingRecorder):
            raise AuditLogError(
                f"the event store ({type(recorder).__name__}) does not authenticate events; "
                "open it through Settings.eventsourcing_env()"
            )
        self.recorder: CheckingRecorder = recorder
        self.db = app.db
        self.dialect = app.db.dialect
        self._lock = threading.RLock()
        self.tree = MerkleTreeStore(app.db)
        self._hook: Callable[[], None] | None = None

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self.unfollow()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _executemany(cur: Cursor, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            cur.executemany(sql, rows)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.db.reading() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    # ------------------------------------------------------------------ following

    def position(self) -> tuple[int, int]:
        """(last notification id folded in, tree size)."""
        rows = self._read(
            "SELECT position, tree_size FROM audit_tracking WHERE name = ?", (TRACKING_NAME,)
        )
        if not rows:
            raise AuditLogError("audit tracking row is missing (migration 0004 makes it)")
        return int(rows[0][0]), int(rows[0][1])

    def size(self) -> int:
        return self.position()[1]

    def lag(self) -> int:
        """Notifications not yet in the tree (an upper bound: ids may have gaps)."""
        return max(0, (self.recorder.max_notification_id() or 0) - self.position()[0])

    def catch_up(
        self, progress: Callable[[int], None] | None = None, batch: int = DEFAULT_BATCH
    ) -> int:
        """Append every notification after the tracked position; returns how many."""
        total = 0
        while True:
            appended = self._step(batch)
            if appended is None:
                continue  # another follower moved first: read again from its position
            if appended == 0:
                return total
            total += appended
            if progress is not None:
                progress(appended)

    def _step(self, batch: int) -> int | None:
        position, size = self.position()
        checked = self.recorder.checked_notifications(position + 1, batch)
        if not checked:
            return 0
        hashes: list[bytes] = []
        leaves: list[tuple[int, int, str, int]] = []
        checkpoints: list[tuple[int, int, str]] = []
        forged: list[tuple[int, int, str, int, str, str]] = []
        for offset, c in enumerate(checked):
            n, leaf = c.notification, size + offset
            event = event_object(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
            hashes.append(event_leaf_hash(event))
            leaves.append((leaf, n.id, str(n.originator_id), n.originator_version))
            if not c.authentic:
                forged.append(
                    (leaf, n.id, str(n.originator_id), n.originator_version, n.topic, c.reason)
                )
                log.error("audit: %s", _unauthenticated(leaf, c))
            elif n.topic == CHECKPOINT_TOPIC:
                document = checkpoint_document(event["state"])
                checkpoints.append((int(document["tree_size"]), leaf, json.dumps(document)))
        # Leaves, mapping, checkpoint index and position commit together or not at all.
        with self._lock, self.db.transaction() as cur:
            lock = " FOR UPDATE" if self.dialect == "postgres" else ""
            cur.execute(
                f"SELECT position, tree_size FROM audit_tracking WHERE name = ?{lock}",
                (TRACKING_NAME,),
            )
            row = cur.fetchone()
            if row is None or (int(row[0]), int(row[1])) != (position, size):
                return None
            self.tree.append_in(cur, hashes, expected_size=size)
            self._executemany(
                cur,
                "INSERT INTO audit_leaves (leaf_index, notification_id, originator_id,"
                " originator_version) VALUES (?, ?, ?, ?)",
                leaves,
            )
            self._executemany(
                cur,
                "INSERT INTO audit_checkpoints (tree_size, leaf_index, document) VALUES (?, ?, ?)"
                " ON CONFLICT (tree_size) DO NOTHING",
                checkpoints,
            )
            self._executemany(
                cur,
                "INSERT INTO audit_unauthenticated (leaf_index, notification_id, originator_id,"
                " originator_version, topic, reason) VALUES (?, ?, ?, ?, ?, ?)",
                forged,
            )
            cur.execute(
                "UPDATE audit_tracking SET position = ?, tree_size = ? WHERE name = ?",
                (checked[-1].notification.id, size + len(checked), TRACKING_NAME),
            )
        return len(checked)

    def unauthenticated(self, start: int = 0, stop: int | None = None) -> list[UnauthenticatedLeaf]:
        """Leaves in ``[start, stop)`` whose event had no valid MAC when it was hashed."""
        rows = self._read(
            "SELECT leaf_index, notification_id, originator_id, originator_version, topic,"
            " reason FROM audit_unauthenticated WHERE leaf_index >= ? AND leaf_index < ?"
            " ORDER BY leaf_index",
            (start, self.size() if stop is None else stop),
        )
        return [
            UnauthenticatedLeaf(int(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4]), str(r[5]))
            for r in rows
        ]

    def log_gaps(self, start: int, stop: int) -> list[LogGap]:
        """Leaves ``[start, stop)`` whose event is gone from the log, and events in no leaf."""
        refs = self.leaves(start, stop)
        if not refs:
            return []
        first, last = refs[0].notification_id, refs[-1].notification_id
        present: dict[int, CheckedEvent] = {}
        cursor = first
        while cursor <= last:
            page = self.recorder.checked_notifications(cursor, 2000, stop=last)
            if not page:
                break
            present.update((c.notification.id, c) for c in page)
            cursor = page[-1].notification.id + 1
        mapped = {r.notification_id for r in refs}
        gaps = [
            LogGap(r.notification_id, r.leaf_index, r.originator_id, r.originator_version)
            for r in refs
            if r.notification_id not in present
        ]
        gaps += [
            LogGap(nid, None, str(c.notification.originator_id), c.notification.originator_version)
            for nid, c in present.items()
            if nid not in mapped
        ]
        return sorted(gaps, key=lambda g: g.notification_id)

    def follow(self) -> None:
        """Catch up after every `app.save`, so the tree follows the log as events are recorded.

        The hook never raises into the command that saved: a failure is logged and the next
        save (or any audit read, which catches up first) appends the missed leaves.
        """
        with self._lock:
            if self._hook is not None:
                return

            def hook() -> None:
                try:
                    self.catch_up()
                except Exception as exc:  # the events are safely recorded either way
                    log.warning("audit tree catch-up failed: %s: %s", type(exc).__name__, exc)

            self._hook = hook
            self.app.after_save.append(hook)

    def unfollow(self) -> None:
        with self._lock:
            if self._hook is not None:
                if self._hook in self.app.after_save:
                    self.app.after_save.remove(self._hook)
                self._hook = None

    # ------------------------------------------------------------------ the tree

    def _check_size(self, size: int) -> None:
        current = self.size()
        if not 0 <= size <= current:
            raise AuditLogError(f"tree size {size} is not between 0 and the current {current}")

    def root(self, size: int | None = None) -> bytes:
        with self._lock:
            size = self.size() if size is None else size
            self._check_size(size)
            return self.tree.root(size)

    def inclusion_proof(self, leaf_index: int, size: int) -> list[bytes]:
        with self._lock:
            self._check_size(size)
            if not 0 <= leaf_index < size:
                raise AuditLogError(f"leaf {leaf_index} is not in a tree of size {size}")
            return self.tree.inclusion_proof(leaf_index, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        with self._lock:
            self._check_size(new_size)
            if not 0 <= old_size <= new_size:
                raise AuditLogError(f"size {old_size} cannot precede size {new_size}")
            return self.tree.consistency_proof(old_size, new_size)

    def leaf_hashes(self, start: int, stop: int) -> list[bytes]:
        """Stored leaf hashes for leaves ``[start, stop)`` (read from the tree's level 0)."""
        rows = self._read(
            f"SELECT idx, hash FROM {self.tree.table_name} WHERE level = 0"
            " AND idx >= ? AND idx < ? ORDER BY idx",
            (start, stop),
        )
        if len(rows) != stop - start:
            raise AuditLogError(f"tree is missing leaves in [{start}, {stop})")
        return [bytes(row[1]) for row in rows]

    # ------------------------------------------------------------------ lookups

    def leaves(self, start: int, stop: int) -> list[LeafRef]:
        rows = self._read(
            "SELECT leaf_index, notification_id, originator_id, originator_version"
            " FROM audit_leaves WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index",
            (start, stop),
        )
        return [LeafRef(int(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]

    def _leaf_where(self, where: str, params: Sequence[Any]) -> LeafRef | None:
        rows = self._read(
            "SELECT leaf_index, notification_id, originator_id, originator_version"
            f" FROM audit_leaves WHERE {where}",
            params,
        )
        return (
            LeafRef(int(rows[0][0]), int(rows[0][1]), str(rows[0][2]), int(rows[0][3]))
            if (rows)
            else None
        )

    def leaf_for_notification(self, notification_id: int) -> LeafRef | None:
        return self._leaf_where("notification_id = ?", (notification_id,))

    def leaf_for_event(self, originator_id: str, originator_version: int) -> LeafRef | None:
        return self._leaf_where(
            "originator_id = ? AND originator_version = ?", (originator_id, originator_version)
        )

    # ------------------------------------------------------------------ checkpoints

    def checkpoint_index(self) -> list[IndexedCheckpoint]:
        """Every recorded checkpoint, oldest (smallest tree) first."""
        rows = self._read(
            "SELECT tree_size, leaf_index, document FROM audit_checkpoints ORDER BY tree_size"
        )
        return [IndexedCheckpoint(int(r[0]), int(r[1]), json.loads(r[2])) for r in rows]

    def indexed_checkpoint(self, tree_size: int | None = None) -> IndexedCheckpoint | None:
        """The checkpoint of ``tree_size``, or the latest one when None."""
        if tree_size is None:
            rows = self._read(
                "SELECT tree_size, leaf_index, document FROM audit_checkpoints"
                " ORDER BY tree_size DESC LIMIT 1"
            )
        else:
            rows = self._read(
                "SELECT tree_size, leaf_index, document FROM audit_checkpoints WHERE tree_size = ?",
                (tree_size,),
            )
        if not rows:
            return None
        return IndexedCheckpoint(int(rows[0][0]), int(rows[0][1]), json.loads(rows[0][2]))


def checkpoint_document(state: dict[str, Any]) -> dict[str, Any]:
    """The CP.json document from a checkpoint event's stored state (see `checkpoints`)."""
    fields = ("log", "tree_size", "root_hash", "timestamp", "kid", "alg", "signature")
    missing = [name for name in fields if name not in state]
    if missing:
        raise AuditLogError(f"checkpoint event lacks {missing}")
    return {"type": "er-audit-checkpoint", "version": 1, **{name: state[name] for name in fields}}


def _unauthenticated(leaf: int, checked: CheckedEvent) -> str:
    n = checked.notification
    return str(
        UnauthenticatedLeaf(
            leaf, n.id, str(n.originator_id), n.originator_version, n.topic, checked.reason
        )
    )
