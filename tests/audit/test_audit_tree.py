"""The follower keeps an RFC 9162 tree over the live log on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from domain.indexes import SchemePolicies
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.audit.canonical import notification_leaf_hash
from registry.audit.checkpoints import Checkpoint, CheckpointError
from registry.audit.log import CHECKPOINT_TOPIC, AuditLog
from registry.audit.merkle import (
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from registry.credentials._internal.algorithms import Algorithm
from registry.credentials._internal.truststore import TrustStore
from tests.audit.test_audit_support import World, populate, world_on


def straightforward_leaves(world: World) -> list[tuple[int, bytes]]:
    """(notification id, leaf hash) recomputed from the whole log, independently of the tree."""
    notes = world.app.recorder.select_notifications(1, 1_000_000)
    return [
        (
            n.id,
            notification_leaf_hash(
                n.id, str(n.originator_id), n.originator_version, n.topic, n.state
            ),
        )
        for n in notes
    ]


@pytest.fixture
def world(settings: Settings, clock: SimulatedClock) -> Any:
    with world_on(settings, clock) as made:
        populate(made)
        yield made


def test_tree_follows_every_save_in_log_order(world: World) -> None:
    expected = straightforward_leaves(world)
    assert world.audit.size() == len(expected) > 20  # follow(): no catch_up was called
    assert world.audit.root() == root_hash([h for _, h in expected])
    refs = world.audit.leaves(0, len(expected))
    assert [r.leaf_index for r in refs] == list(range(len(expected)))
    assert [r.notification_id for r in refs] == [nid for nid, _ in expected]
    assert world.audit.leaf_hashes(0, len(expected)) == [h for _, h in expected]


def test_gaps_in_notification_ids_keep_leaf_indexes_dense(world: World) -> None:
    # A refused save consumes a sequence value on PostgreSQL: a gap in notification ids.
    duplicate = SchemePolicies(code="SIE", policy={}, actor_id="x", at=world.clock.now())
    with pytest.raises(IntegrityError):
        world.app.save(duplicate)
    populate_more = world.app.recorder.max_notification_id() or 0
    from tests.builders import approved

    approved(world.app, world.clock, 9)
    expected = straightforward_leaves(world)
    assert world.audit.size() == len(expected)
    assert max(nid for nid, _ in expected) > populate_more
    assert world.audit.root() == root_hash([h for _, h in expected])


def test_a_failed_step_rolls_back_leaves_mapping_and_position(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = world.audit.position()
    root = world.audit.root()
    world.audit.unfollow()
    from tests.builders import approved

    approved(world.app, world.clock, 7)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    original = world.audit._executemany
    calls = {"n": 0}

    def failing(cur: Any, sql: str, rows: Any) -> None:
        calls["n"] += 1
        if "audit_leaves" in sql:
            boom()
        original(cur, sql, rows)

    monkeypatch.setattr(world.audit, "_executemany", failing)
    with pytest.raises(RuntimeError):
        world.audit.catch_up()
    assert world.audit.position() == before
    assert world.audit.tree.size() == before[1]  # the tree's own leaves rolled back too
    assert world.audit.root(before[1]) == root
    monkeypatch.setattr(world.audit, "_executemany", original)
    assert world.audit.catch_up() > 0
    expected = straightforward_leaves(world)
    assert world.audit.root() == root_hash([h for _, h in expected])
    assert world.audit.catch_up() == 0  # exactly once: nothing is appended twice


def test_competing_followers_build_one_tree(world: World) -> None:
    world.audit.unfollow()
    from tests.builders import approved

    for n in range(10, 14):
        approved(world.app, world.clock, n)
    others = [AuditLog(world.app) for _ in range(3)]
    errors: list[BaseException] = []

    def run(log: AuditLog) -> None:
        try:
            log.catch_up(batch=3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(log,)) for log in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for log in others:
        log.close()
    assert not errors
    expected = straightforward_leaves(world)
    assert world.audit.size() == len(expected)
    assert world.audit.root() == root_hash([h for _, h in expected])


def test_proofs_from_the_live_store_match_a_recomputation(world: World) -> None:
    """Property over random sizes and leaves: the stored tree's proofs verify against roots
    recomputed from scratch, and those roots are what the store reports."""
    leaves = [h for _, h in straightforward_leaves(world)]
    rng = random.Random(9162)
    n = len(leaves)
    for _ in range(60):
        size = rng.randint(1, n)
        index = rng.randrange(size)
        root = root_hash(leaves[:size])
        assert world.audit.root(size) == root
        verify_inclusion(leaves[index], index, size, world.audit.inclusion_proof(index, size), root)
        old = rng.randint(0, size)
        proof = world.audit.consistency_proof(old, size)
        verify_consistency(old, size, root_hash(leaves[:old]), root, proof)


def test_checkpoints_are_signed_recorded_as_events_and_retrievable(world: World) -> None:
    first = world.checkpoint()
    first.verify(world.trust())
    topics = [n.topic for n in world.app.recorder.select_notifications(1, 100_000)]
    assert topics.count(CHECKPOINT_TOPIC) == 1
    assert world.checkpointer.latest() == first
    # Unchanged log (only the checkpoint's own event): a scheduled round signs nothing new.
    again, created = world.checkpointer.make(force=False)
    assert (again, created) == (first, False)
    from tests.builders import approved

    approved(world.app, world.clock, 20)
    second, created = world.checkpointer.make(force=False)
    assert created and second.tree_size > first.tree_size + 1
    assert world.checkpointer.get(first.tree_size) == first
    assert [c.tree_size for c in world.checkpointer.all()] == [first.tree_size, second.tree_size]
    proof = world.audit.consistency_proof(first.tree_size, second.tree_size)
    verify_consistency(first.tree_size, second.tree_size, first.root_hash, second.root_hash, proof)
    # CP.json round trip, and tampering with any signed field breaks the signature.
    assert Checkpoint.from_json(second.to_json()) == second
    forged = Checkpoint.from_json({**second.to_json(), "tree_size": second.tree_size - 1})
    with pytest.raises(CheckpointError, match="invalid"):
        forged.verify(world.trust())
    with pytest.raises(CheckpointError, match="unknown key"):
        second.verify(TrustStore())


def test_scheduled_loop_signs_only_when_the_log_grew(world: World) -> None:
    made: list[tuple[int, bool]] = []
    rounds = {"n": 0}

    def sleep(_: float) -> None:
        rounds["n"] += 1
        if rounds["n"] == 2:
            from tests.builders import approved

            approved(world.app, world.clock, 30)

    world.checkpointer.run_every(
        600,
        stop=lambda: len(made) >= 4,
        on_checkpoint=lambda c, new: made.append((c.tree_size, new)),
        sleep=sleep,
    )
    assert [new for _, new in made] == [True, False, True, False]
    assert made[2][0] > made[0][0]


def test_es256_checkpoints_verify_after_rotation(world: World) -> None:
    world.keys.rotate(Algorithm.ES256)
    cp = world.checkpoint()
    assert cp.alg == "ES256"
    cp.verify(world.trust())
