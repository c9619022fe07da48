"""The command handlers on a fake unit of work: `eventsourcing`'s in-memory store and fakes
of the application's ports (vault, evidence files, database), so no SQLite is involved.

As in cosmicpython's `tests/unit/test_handlers.py`: each test sends commands through
`RegistryApp.handle` and checks what was recorded, refused or left alone.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor, Role
from domain.errors import ImmutableField, InvalidInput, InvalidTransition
from domain.evidence import EvidenceRef
from domain.personal import PersonalData
from registry.application import (
    HANDLERS,
    Amend,
    Apply,
    Approve,
    AttachEvidence,
    Command,
    CommandOptions,
    CommandResult,
    ConcurrencyConflict,
    ErasePersonalData,
    IdempotencyKeyReused,
    RegistryApp,
    Settings,
    SimulatedClock,
    StartReview,
    Submit,
    Suspend,
    commands,
    issue_certificate,
)
from registry.application.ports import Cursor
from registry.credentials import SigningKey, credential_from_url
from registry.samples import person, required_evidence, sie_facts

ENGINEER = Actor("engineer-1", Role.ENGINEER)
REVIEWER = Actor("reviewer-1", Role.REVIEWER)
REGISTRAR = Actor("registrar-1", Role.REGISTRAR)
START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


class FakeVault:
    """Personal data kept in dicts; a destroyed subject's data is gone, as with a shredded key."""

    def __init__(self) -> None:
        self._key = b"test-hmac-key"
        self.subjects: dict[str, UUID] = {}
        self.data: dict[UUID, dict[str, PersonalData]] = {}
        self.sealed: dict[UUID, dict[bytes, bytes]] = {}

    def id_hmac(self, id_number: str) -> str:
        return hmac.new(self._key, id_number.encode(), hashlib.sha256).hexdigest()

    def keyed_digest(self, data: bytes) -> str:
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def subject_for(self, id_hmac: str) -> UUID:
        return self.subjects.setdefault(id_hmac, uuid.uuid4())

    def existing_subject(self, id_hmac: str) -> UUID | None:
        return self.subjects.get(id_hmac)

    def id_hmac_of(self, subject_id: UUID) -> str | None:
        return next((h for h, s in self.subjects.items() if s == subject_id), None)

    def encrypt(self, subject_id: UUID, data: PersonalData) -> str:
        token = uuid.uuid4().hex
        self.data.setdefault(subject_id, {})[token] = data
        return token

    def decrypt(self, subject_id: UUID, token: str) -> PersonalData | None:
        return self.data.get(subject_id, {}).get(token)

    def seal(self, subject_id: UUID, plaintext: bytes, associated: bytes) -> bytes:
        sealed = b"sealed:" + plaintext
        self.sealed.setdefault(subject_id, {})[associated] = sealed
        return sealed

    def unseal(self, subject_id: UUID, sealed: bytes, associated: bytes) -> bytes | None:
        if self.sealed.get(subject_id, {}).get(associated) != sealed:
            return None
        return sealed.removeprefix(b"sealed:")

    def subject_digest(self, subject_id: UUID, data: bytes) -> str:
        return self.keyed_digest(subject_id.bytes + data)

    def masked_name(self, subject_id: UUID, token: str) -> str | None:
        data = self.decrypt(subject_id, token)
        return data.masked_name if data is not None else None

    def destroy(self, subject_id: UUID) -> bool:
        self.sealed.pop(subject_id, None)
        return self.data.pop(subject_id, None) is not None


class FakeEvidenceFiles:
    def __init__(self) -> None:
        self.files: dict[tuple[UUID, str], bytes] = {}

    def write(self, subject_id: UUID, sha256: str, sealed: bytes) -> Path:
        self.files[(subject_id, sha256)] = sealed
        return Path(subject_id.hex) / sha256

    def read(self, subject_id: UUID, sha256: str) -> bytes | None:
        return self.files.get((subject_id, sha256))

    def shred(self, subject_id: UUID) -> int:
        mine = [key for key in self.files if key[0] == subject_id]
        for key in mine:
            del self.files[key]
        return len(mine)


class UnusedDatabase:
    """The handlers never touch our own tables; any use is a test failure."""

    dialect = "none"
    closed = False

    def transaction(self) -> AbstractContextManager[Cursor]:
        raise AssertionError("a handler used the database")

    def reading(self) -> AbstractContextManager[Cursor]:
        raise AssertionError("a handler used the database")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise AssertionError("a handler used the database")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise AssertionError("a handler used the database")

    def check_writable(self, at: str) -> None:
        raise AssertionError("a handler used the database")

    def close(self) -> None:
        self.closed = True


class FakeArchive:
    def __init__(self) -> None:
        self.credentials: dict[str, str] = {}

    def put_if_absent(
        self, serial: str, registration_id: str, credential: str, issued_at: datetime
    ) -> str:
        return self.credentials.setdefault(serial, credential)

    def get(self, serial: str) -> str | None:
        return self.credentials.get(serial)

    def delete(self, serial: str) -> None:
        self.credentials.pop(serial, None)


@dataclass
class OneKey:
    key: SigningKey

    def active(self) -> SigningKey:
        return self.key


@dataclass
class World:
    app: RegistryApp
    clock: SimulatedClock
    vault: FakeVault
    files: FakeEvidenceFiles


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = SimulatedClock(START)
    vault = FakeVault()
    files = FakeEvidenceFiles()
    app = RegistryApp(
        Settings(sqlite_path=tmp_path / "unused.sqlite", keys_dir=tmp_path / "keys"),
        database=UnusedDatabase(),
        vault=vault,
        evidence_files=files,
        clock=clock,
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
    )
    yield World(app, clock, vault, files)
    app.close()
    assert not (tmp_path / "unused.sqlite").exists()


def events(app: RegistryApp) -> list[str]:
    """Every stored event's class name, in log order."""
    return [n.topic.rsplit(".", 1)[-1] for n in app.recorder.select_notifications(1, 100_000)]


def drafted(w: World, n: int = 1) -> UUID:
    return w.app.handle(Apply("SIE", person(n), sie_facts()), ENGINEER).registration_id


def with_materials(w: World, rid: UUID, n: int = 1) -> UUID:
    """Attach the materials required at submission (3 events)."""
    for ref, content in required_evidence(n):
        w.app.handle(AttachEvidence(rid, ref, content), ENGINEER)
    return rid


def in_review(w: World, n: int = 1) -> UUID:
    rid = with_materials(w, drafted(w, n), n)
    w.clock.advance(timedelta(hours=1))
    w.app.handle(Submit(rid), ENGINEER)
    w.clock.advance(timedelta(days=1))
    w.app.handle(StartReview(rid), REVIEWER)
    return rid


def test_every_command_has_exactly_one_handler() -> None:
    concrete = {
        cls
        for _, cls in inspect.getmembers(commands, inspect.isclass)
        if issubclass(cls, Command) and cls not in {Command, commands.RegistrationCommand}
    }
    assert set(HANDLERS) == concrete


def test_an_unknown_command_is_refused(world: World) -> None:
    @dataclass(frozen=True)
    class Teleport(Command):
        pass

    with pytest.raises(TypeError, match="no handler for Teleport"):
        world.app.handle(Teleport(), REGISTRAR)  # type: ignore[call-overload]


def test_apply_records_a_draft_with_the_personal_data_only_in_the_vault(world: World) -> None:
    result = world.app.handle(Apply("SIE", person(1), sie_facts()), ENGINEER)
    assert (result.version, result.events, result.number) == (1, ("Drafted",), None)
    registration = world.app.get(result.registration_id)
    assert registration.owner_id == ENGINEER.id
    assert world.app.personal_data(registration) == person(1)
    assert person(1).id_number not in repr(registration.__dict__)


def test_approval_allocates_a_distinct_number_per_registration(world: World) -> None:
    first = world.app.handle(Approve(in_review(world, 1)), REVIEWER)
    second = world.app.handle(Approve(in_review(world, 2)), REVIEWER)
    assert first.events == ("Approved",)
    assert first.number and second.number
    assert first.number.startswith("SIE-44-2024-") and second.number != first.number
    assert world.app.registration_id_for_number(first.number) == first.registration_id


def test_a_retried_idempotency_key_replays_the_first_result(world: World) -> None:
    rid = in_review(world)
    once = CommandOptions(idempotency_key="approve-1")
    first = world.app.handle(Approve(rid), REVIEWER, once)
    before = events(world.app)
    again = world.app.handle(Approve(rid), REVIEWER, once)
    assert again.replayed and not first.replayed
    assert (again.registration_id, again.version, again.number) == (
        first.registration_id,
        first.version,
        first.number,
    )
    assert events(world.app) == before


def test_an_idempotency_key_reused_for_another_request_is_refused(world: World) -> None:
    rid = with_materials(world, drafted(world))
    world.app.handle(Submit(rid), ENGINEER, CommandOptions(idempotency_key="k"))
    before = events(world.app)
    with pytest.raises(IdempotencyKeyReused):
        world.app.handle(
            Apply("SIE", person(2), sie_facts()), ENGINEER, CommandOptions(idempotency_key="k")
        )
    assert events(world.app) == before


def test_a_stale_expected_version_writes_nothing(world: World) -> None:
    rid = with_materials(world, drafted(world))
    before = events(world.app)
    with pytest.raises(ConcurrencyConflict, match="version 4, not the expected 7"):
        world.app.handle(Submit(rid), ENGINEER, CommandOptions(expected_version=7))
    assert events(world.app) == before
    assert world.app.handle(Submit(rid), ENGINEER, CommandOptions(expected_version=4)).version == 5


def test_a_refused_transition_writes_nothing(world: World) -> None:
    rid = drafted(world)
    before = events(world.app)
    with pytest.raises(InvalidTransition):
        world.app.handle(Suspend(rid, "investigation", "complaint"), REGISTRAR)
    assert events(world.app) == before


def test_attach_evidence_stores_the_sealed_file_and_records_its_reference(world: World) -> None:
    rid = drafted(world)
    content = b"%PDF-1.7 degree"
    ref = EvidenceRef(hashlib.sha256(content).hexdigest(), "application/pdf", 15, "degree", "d.pdf")
    result = world.app.handle(AttachEvidence(rid, ref, content), ENGINEER)
    assert result.events == ("EvidenceAttached",)
    subject = world.app.get(rid).subject_id
    assert world.files.files[(subject, ref.sha256)] != content  # sealed, not in clear
    assert world.app.evidence_content(rid, ref.sha256) == content


def test_evidence_that_does_not_match_its_reference_is_refused_before_storing(
    world: World,
) -> None:
    rid = drafted(world)
    ref = EvidenceRef("0" * 64, "application/pdf", 3, "degree", "d.pdf")
    with pytest.raises(InvalidInput, match="does not match"):
        world.app.handle(AttachEvidence(rid, ref, b"abc"), ENGINEER)
    assert world.files.files == {}
    assert world.app.get(rid).version == 1


def test_amend_refuses_a_new_id_number(world: World) -> None:
    rid = drafted(world)
    other = PersonalData(name="张小三", id_number=person(2).id_number)
    with pytest.raises(ImmutableField):
        world.app.handle(Amend(rid, {}, other), ENGINEER)
    assert world.app.get(rid).version == 1


def test_erasure_records_every_registration_of_the_person_then_shreds(world: World) -> None:
    first = with_materials(world, drafted(world))
    world.app.handle(Submit(first), ENGINEER)
    second = world.app.handle(Apply("IET", person(1), sie_facts()), ENGINEER).registration_id
    subject = world.app.get(first).subject_id
    world.files.write(subject, "f" * 64, b"sealed")
    results = world.app.handle(ErasePersonalData(first), REGISTRAR)
    assert isinstance(results, list)
    assert {r.registration_id for r in results} == {first, second}
    assert all(r.events == ("PersonalDataErased",) for r in results)
    assert world.app.personal_data(world.app.get(first)) is None
    assert world.files.files == {}
    assert world.app.handle(ErasePersonalData(second), REGISTRAR) == []


def test_erasure_checks_the_addressed_registrations_version(world: World) -> None:
    rid = drafted(world)
    with pytest.raises(ConcurrencyConflict):
        world.app.handle(ErasePersonalData(rid), REGISTRAR, CommandOptions(expected_version=3))
    assert world.app.personal_data(world.app.get(rid)) == person(1)


def test_issuing_a_certificate_signs_archives_and_records_it(world: World) -> None:
    approved: CommandResult = world.app.handle(Approve(in_review(world)), REVIEWER)
    archive = FakeArchive()
    issued = issue_certificate(
        world.app, archive, OneKey(SigningKey.generate()), approved.registration_id, REGISTRAR
    )
    assert issued.result.events == ("CertificateIssued",)
    assert archive.get(issued.serial) == issued.credential
    assert credential_from_url(issued.url) == issued.credential
    certificates = world.app.get(approved.registration_id).certificates
    assert [c["serial"] for c in certificates] == [issued.serial]


def test_a_certificate_that_cannot_be_recorded_is_not_kept(world: World) -> None:
    approved = world.app.handle(Approve(in_review(world)), REVIEWER)
    archive = FakeArchive()
    with pytest.raises(ConcurrencyConflict):
        issue_certificate(
            world.app,
            archive,
            OneKey(SigningKey.generate()),
            approved.registration_id,
            REGISTRAR,
            CommandOptions(expected_version=1),
        )
    assert archive.credentials == {}
    assert world.app.get(approved.registration_id).certificates == []


def test_a_certificate_is_only_issued_for_an_active_registration(world: World) -> None:
    rid = drafted(world)
    archive = FakeArchive()
    with pytest.raises(InvalidTransition):
        issue_certificate(world.app, archive, OneKey(SigningKey.generate()), rid, REGISTRAR)
    assert archive.credentials == {}
