"""Export + checkpoint verify; every kind of tampering is detected and located."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from registry.application import ErasePersonalData
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.audit.canonical import canonical_json, event_leaf_hash
from registry.audit.checkpoints import Checkpoint
from registry.audit.oracles import AuditLogOracle
from registry.audit.verify_export import VerifyReport, verify_export
from registry.credentials._internal.keys import SigningKey
from registry.credentials._internal.truststore import TrustStore
from tests.audit.test_audit_support import World, populate, world_on
from tests.builders import REGISTRAR, person


@pytest.fixture
def world(settings: Settings, clock: SimulatedClock) -> Any:
    with world_on(settings, clock) as made:
        populate(made, engineers=5)
        yield made


@pytest.fixture
def signed(world: World) -> tuple[list[bytes], Checkpoint]:
    cp = world.checkpoint()
    return world.export(cp.tree_size), cp


def check(world: World, lines: list[bytes], cp: Checkpoint, **kw: Any) -> VerifyReport:
    return verify_export(lines, cp, world.trust(), **kw)


def test_untouched_export_verifies(world: World, signed: tuple[list[bytes], Checkpoint]) -> None:
    lines, cp = signed
    report = check(world, lines, cp)
    assert report.ok, report.as_dict()
    assert report.lines == cp.tree_size and report.computed_root == cp.root_hash
    # A longer export (taken later) still verifies against an older checkpoint.
    longer = world.export()
    assert len(longer) > len(lines)
    assert check(world, longer, cp).ok


def _flip(line: bytes, position: int) -> bytes:
    flipped = bytearray(line)
    flipped[position] ^= 0x01
    return bytes(flipped)


def test_one_flipped_byte_is_located(world: World, signed: tuple[list[bytes], Checkpoint]) -> None:
    lines, cp = signed
    target = 17
    at = lines[target].index(b'"actor_id":"') + len(b'"actor_id":"') + 2
    tampered = [*lines]
    tampered[target] = _flip(lines[target], at)
    report = check(world, tampered, cp)
    assert not report.ok and not report.root_matches
    assert report.first_bad_leaf == target
    assert report.located_by == "signed leaf hashes"
    assert report.problems[0].kind == "hash_mismatch"


def test_any_single_byte_flip_anywhere_is_located(
    world: World, signed: tuple[list[bytes], Checkpoint]
) -> None:
    lines, cp = signed
    blob = b"".join(lines)
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line)
    rng = random.Random(20240301)
    for _ in range(150):
        position = rng.randrange(len(blob))
        bit = 1 << rng.randrange(8)
        tampered = bytearray(blob)
        tampered[position] ^= bit
        report = check(world, bytes(tampered).splitlines(keepends=True), cp, mac_key=world.mac_key)
        line_index = max(i for i, s in enumerate(starts) if s <= position)
        assert not report.ok, f"flip at byte {position} went unnoticed"
        assert report.first_bad_leaf == line_index, (position, report.as_dict())


def test_dropped_event_is_located(world: World, signed: tuple[list[bytes], Checkpoint]) -> None:
    lines, cp = signed
    report = check(world, lines[:12] + lines[13:], cp)
    assert not report.ok
    assert report.first_bad_leaf == 12
    assert report.problems[0].kind == "out_of_place"


def test_swapped_events_are_located(world: World, signed: tuple[list[bytes], Checkpoint]) -> None:
    lines, cp = signed
    tampered = [*lines]
    tampered[8], tampered[21] = tampered[21], tampered[8]
    report = check(world, tampered, cp)
    assert not report.ok and report.first_bad_leaf == 8


def test_inserted_forged_event_is_located(
    world: World, signed: tuple[list[bytes], Checkpoint]
) -> None:
    lines, cp = signed
    model = json.loads(lines[10])
    forged_event = {**model["event"], "originator_version": 99}
    forged = {
        "event": forged_event,
        "leaf_hash": event_leaf_hash(forged_event).hex(),
        "leaf_index": 10,
    }
    tampered = [*lines[:10], canonical_json(forged) + b"\n", *lines[10:]]
    report = check(world, tampered, cp)
    assert not report.ok and report.first_bad_leaf == 10


def test_truncated_tail_is_located(world: World, signed: tuple[list[bytes], Checkpoint]) -> None:
    lines, cp = signed
    report = check(world, lines[:-5], cp)
    assert not report.ok and report.first_bad_leaf == cp.tree_size - 5
    assert report.problems[-1].kind == "truncated"
    cut = check(world, [*lines[:-1], lines[-1][:40]], cp)  # cut mid-line
    assert not cut.ok and cut.first_bad_leaf == cp.tree_size - 1


def test_consistent_rewrite_is_detected_and_located_with_the_live_log(
    world: World, signed: tuple[list[bytes], Checkpoint]
) -> None:
    """A forger who recomputes leaf hashes: the export alone detects it; the live log's
    consistency proofs (checked against the signed root) locate it."""
    lines, cp = signed
    tampered = [*lines]
    for target in (14, 30):
        obj = json.loads(tampered[target])
        obj["event"]["state"]["actor_id"] = "someone-else"
        obj["leaf_hash"] = event_leaf_hash(obj["event"]).hex()
        tampered[target] = canonical_json(obj) + b"\n"
    alone = check(world, tampered, cp)
    assert not alone.ok and not alone.root_matches and alone.first_bad_leaf is None
    assert "--live" in alone.note
    located = check(world, tampered, cp, oracle=AuditLogOracle(world.audit))
    assert located.first_bad_leaf == 14 and located.located_by == "live log consistency proofs"
    # Truncation plus rewrite: the oracle still names the first bad leaf.
    assert check(world, tampered[:10], cp, oracle=AuditLogOracle(world.audit)).first_bad_leaf == 10


def test_a_checkpoint_not_signed_by_a_trusted_key_fails(
    world: World, signed: tuple[list[bytes], Checkpoint]
) -> None:
    lines, cp = signed
    stranger = SigningKey.generate()
    other = TrustStore.from_public_keys([(stranger.kid, stranger.public_key)])
    report = verify_export(lines, cp, other)
    assert not report.ok and not report.signature_valid and report.root_matches
    lying = Checkpoint.from_json({**cp.to_json(), "root_hash": "00" * 32})
    assert not check(world, lines, lying).signature_valid


def test_erased_personal_data_stays_erased_and_the_tree_still_verifies(world: World) -> None:
    secret = person(1)
    before = world.export()
    registration = world.app.registration_ids().__next__()
    assert world.app.personal_data(world.app.get(registration)) is not None
    world.app.handle(ErasePersonalData(registration), REGISTRAR)
    cp = world.checkpoint()
    after = world.export(cp.tree_size)
    assert check(world, after, cp).ok
    assert after[: len(before)] == before  # erasure never rewrites the log
    blob = b"".join(after).decode("utf-8")
    for value in (secret.name, secret.id_number, secret.phone, secret.email, secret.address):
        assert value not in blob
    assert world.app.personal_data(world.app.get(registration)) is None
    drafted = next(
        json.loads(line)
        for line in after
        if json.loads(line)["event"]["originator_id"] == str(registration)
    )
    assert drafted["event"]["state"]["personal_data"]  # only ciphertext, now undecryptable
