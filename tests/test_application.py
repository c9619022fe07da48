"""Use cases through the application service, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.errors import (
    DomainError,
    DuplicateApplication,
    ImmutableField,
    Ineligible,
    InvalidTransition,
)
from domain.personal import PersonalData
from domain.registration import Registration
from domain.schemes import SOFTWARE_IMPLEMENTATION, SchemePolicy
from domain.status import Status
from registry.application import (
    Amend,
    Apply,
    Approve,
    AttachEvidence,
    CommandOptions,
    ErasePersonalData,
    RecordCe,
    Reinstate,
    Revoke,
    StartReview,
    Submit,
    Suspend,
    Withdraw,
)
from registry.application.clock import SimulatedClock
from registry.application.errors import ConcurrencyConflict, IdempotencyKeyReused, NotFound
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_app
from registry.samples import required_evidence
from tests.builders import (
    REGISTRAR,
    REVIEWER,
    approved,
    attach_required,
    engineer,
    person,
    sie_facts,
)


@pytest.fixture
def app(settings: Settings, clock: SimulatedClock) -> Any:
    application = open_app(settings, clock=clock)
    yield application
    application.close()


def all_stored_events(app: RegistryApp) -> list[tuple[int, str, bytes]]:
    rows = app.recorder.select_notifications(1, 1_000_000)
    return [(n.id, n.topic, bytes(n.state)) for n in rows]


def test_lifecycle_numbers_and_lookup(app: RegistryApp, clock: SimulatedClock) -> None:
    first = approved(app, clock, 1)
    second = approved(app, clock, 2, scheme="IET")
    assert first.number and first.number.startswith("SIE-44-2024-")
    assert second.number and second.number.startswith("IET-44-2024-")
    assert app.find_by_number(first.number).id == first.registration_id
    third = approved(app, clock, 3)
    assert third.number != first.number
    with pytest.raises(NotFound):
        app.find_by_number("SIE-44-2024-9999990")


def test_second_live_application_with_the_same_id_number_is_refused(
    app: RegistryApp, clock: SimulatedClock
) -> None:
    rid = app.handle(Apply("SIE", person(1), sie_facts()), engineer(1)).registration_id
    before = all_stored_events(app)
    with pytest.raises(DuplicateApplication):
        app.handle(Apply("SIE", person(1, name="李四"), sie_facts()), REGISTRAR)
    assert all_stored_events(app) == before
    # Another scheme is a different registration; a withdrawn one frees the slot.
    app.handle(Apply("IET", person(1), sie_facts()), engineer(1))
    app.handle(Withdraw(rid, "changed my mind"), engineer(1))
    again = app.handle(Apply("SIE", person(1), sie_facts()), engineer(1))
    assert again.registration_id != rid


def test_applying_with_someone_elses_id_number_reveals_nothing_and_is_never_approved(
    app: RegistryApp, clock: SimulatedClock
) -> None:
    """Only the registrar may learn whether an ID number is registered (issue 9, low)."""
    first = approved(app, clock, 1)
    probe = app.handle(Apply("SIE", person(1, name="李四"), sie_facts()), engineer(99))
    fresh = app.handle(Apply("SIE", person(98), sie_facts()), engineer(98))
    # The prober's answer has the same shape as anyone's: a draft at version 1.
    assert (probe.version, probe.events) == (fresh.version, fresh.events)
    attach_required(app, probe.registration_id, engineer(99), 99)
    app.handle(Submit(probe.registration_id), engineer(99))
    app.handle(StartReview(probe.registration_id), REVIEWER)
    with pytest.raises(DuplicateApplication):
        app.handle(Approve(probe.registration_id), REVIEWER)
    # Once the first registration is closed, the later application may take its place.
    app.handle(Revoke(first.registration_id, "resigned", "left the profession"), REGISTRAR)
    assert app.handle(Approve(probe.registration_id), REVIEWER).number is not None


def _lapse(app: RegistryApp, clock: SimulatedClock, registration_id: UUID) -> None:
    """Move time past the last valid day: no CE registration, so the SIE registration lapses
    (derived from time; no sweep runs and no event is written)."""
    valid_until = app.get(registration_id).valid_until
    assert valid_until is not None
    clock.advance(timedelta(days=(valid_until - clock.now().date()).days + 1))
    assert app.get(registration_id).status_at(clock.now()) is Status.EXPIRED


def _to_approval(app: RegistryApp, rid: UUID, who: int) -> str | None:
    attach_required(app, rid, engineer(who), who)
    app.handle(Submit(rid), engineer(who))
    app.handle(StartReview(rid), REVIEWER)
    return app.handle(Approve(rid), REVIEWER).number


def test_lapsed_engineer_applies_again_linked_to_the_old_history(
    app: RegistryApp, clock: SimulatedClock
) -> None:
    """Issue 11: a lapsed SIE engineer has a way back besides registrar reinstatement."""
    first = approved(app, clock, 1)
    old = app.get(first.registration_id)
    # While the registration is live, a second one is refused (registrar: at once).
    with pytest.raises(DuplicateApplication):
        app.handle(Apply("SIE", person(1), sie_facts()), REGISTRAR)
    _lapse(app, clock, first.registration_id)
    old_version = app.get(first.registration_id).version

    again = app.handle(Apply("SIE", person(1), sie_facts()), engineer(1))
    number = _to_approval(app, again.registration_id, 1)
    assert number is not None and number != first.number
    assert app.get(again.registration_id).status_at(clock.now()) is Status.ACTIVE
    # Linked: the person's index keeps both, the new one holds the place; the old history
    # stays as it was (still its number, still lapsed).
    index = app.identity("SIE", old.subject_id)
    assert index is not None
    assert index.history == [first.registration_id, again.registration_id]
    assert index.registration_id == again.registration_id
    assert app.get(first.registration_id).version == old_version
    assert app.find_by_number(first.number or "").id == first.registration_id
    assert app.get(first.registration_id).status_at(clock.now()) is Status.EXPIRED
    # The new registration is live: it blocks a third, and the old one cannot be revived
    # beside it.
    before = all_stored_events(app)
    with pytest.raises(DuplicateApplication):
        app.handle(Apply("SIE", person(1), sie_facts()), REGISTRAR)
    with pytest.raises(DuplicateApplication):
        app.handle(Reinstate(first.registration_id, "late CE accepted"), REGISTRAR)
    assert all_stored_events(app) == before


def test_registrar_reapplies_after_a_lapse_and_an_earlier_duplicate_is_approved_after_it(
    app: RegistryApp, clock: SimulatedClock
) -> None:
    first = approved(app, clock, 1)
    other = approved(app, clock, 2)
    # Made while the first was live: accepted as a draft, refused at approval.
    early = app.handle(Apply("SIE", person(1), sie_facts()), engineer(1)).registration_id
    with pytest.raises(DuplicateApplication):
        _to_approval(app, early, 1)
    _lapse(app, clock, other.registration_id)  # approved last, so both have lapsed
    assert app.get(first.registration_id).status_at(clock.now()) is Status.EXPIRED
    # Once the first has lapsed it may be approved; the registrar may apply for the other
    # lapsed engineer too.
    assert app.handle(Approve(early), REVIEWER).number is not None
    on_behalf = app.handle(Apply("SIE", person(2), sie_facts()), REGISTRAR)
    index = app.identity("SIE", app.get(other.registration_id).subject_id)
    assert index is not None and index.registration_id == on_behalf.registration_id
    assert index.history == [other.registration_id, on_behalf.registration_id]
    # The later application withdrawn, the lapsed registration may be reinstated again
    # and takes the person's place back.
    app.handle(Withdraw(on_behalf.registration_id, "reinstated instead"), REGISTRAR)
    app.handle(Reinstate(other.registration_id, "late CE accepted"), REGISTRAR)
    index = app.identity("SIE", app.get(other.registration_id).subject_id)
    assert index is not None and index.registration_id == other.registration_id
    assert app.get(other.registration_id).status_at(clock.now()) is Status.ACTIVE
    with pytest.raises(DuplicateApplication):
        app.handle(Apply("SIE", person(2), sie_facts()), REGISTRAR)


def test_concurrent_approvals_cannot_both_succeed(
    settings: Settings, clock: SimulatedClock
) -> None:
    setup = open_app(settings, clock=clock)
    rid = setup.handle(Apply("SIE", person(1), sie_facts()), engineer(1)).registration_id
    attach_required(setup, rid, engineer(1), 1)
    setup.handle(Submit(rid), engineer(1))
    setup.handle(StartReview(rid), REVIEWER)
    apps = [open_app(settings, clock=clock) for _ in range(2)]
    loaded = [a.get(rid) for a in apps]  # both read the same, soon stale, state
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def approve_with(a: RegistryApp, reg: Registration) -> None:
        a.get = lambda _id: reg  # type: ignore[method-assign]  # force the stale read
        barrier.wait()
        try:
            outcomes.append(a.handle(Approve(rid), REVIEWER))
        except DomainError as exc:
            outcomes.append(exc)

    threads = [
        threading.Thread(target=approve_with, args=pair) for pair in zip(apps, loaded, strict=False)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    successes = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(successes) == 1, outcomes
    assert isinstance(
        next(o for o in outcomes if isinstance(o, Exception)),
        ConcurrencyConflict | InvalidTransition,
    )
    fresh = open_app(settings, clock=clock)
    events = [type(e).__name__ for e in fresh.repository.get(rid).collect_events()]
    stored = [
        n.topic
        for n in fresh.recorder.select_notifications(1, 10_000)
        if str(n.originator_id) == str(rid)
    ]
    assert sum(t.endswith(".Approved") for t in stored) == 1
    assert fresh.get(rid).status is Status.ACTIVE and not events
    for a in [setup, *apps, fresh]:
        a.close()


def test_expected_version_guards_against_stale_decisions(
    app: RegistryApp, clock: SimulatedClock
) -> None:
    rid = approved(app, clock, 1).registration_id
    version = app.get(rid).version
    app.handle(Suspend(rid, "complaint", "举报"), REGISTRAR)
    with pytest.raises(ConcurrencyConflict):
        app.handle(Reinstate(rid, "cleared"), REGISTRAR, CommandOptions(expected_version=version))


def test_a_retried_command_with_the_same_idempotency_key_applies_once(
    app: RegistryApp, clock: SimulatedClock
) -> None:
    rid = approved(app, clock, 1).registration_id
    first = app.handle(
        RecordCe(rid, 12, "CCF"), engineer(1), CommandOptions(idempotency_key="ce-2024-1")
    )
    count = len(all_stored_events(app))
    again = app.handle(
        RecordCe(rid, 12, "CCF"), engineer(1), CommandOptions(idempotency_key="ce-2024-1")
    )
    assert again.replayed and again.version == first.version
    assert len(all_stored_events(app)) == count
    with pytest.raises(IdempotencyKeyReused):
        app.handle(
            RecordCe(rid, 40, "CCF"), engineer(1), CommandOptions(idempotency_key="ce-2024-1")
        )
    reg = app.get(rid)
    assert len(reg.ce_records) == 1


def test_idempotent_apply_returns_the_same_registration(app: RegistryApp) -> None:
    a = app.handle(
        Apply("SIE", person(1), sie_facts()), engineer(1), CommandOptions(idempotency_key="k1")
    )
    b = app.handle(
        Apply("SIE", person(1), sie_facts()), engineer(1), CommandOptions(idempotency_key="k1")
    )
    assert a.registration_id == b.registration_id and b.replayed


def test_refused_commands_write_nothing(app: RegistryApp, clock: SimulatedClock) -> None:
    rid = approved(app, clock, 1).registration_id
    before = all_stored_events(app)
    for attempt in (
        lambda: app.handle(Approve(rid), REVIEWER),
        lambda: app.handle(Submit(rid), engineer(1)),
        lambda: app.handle(Amend(rid, {}, personal=person(2)), engineer(1)),
        lambda: app.handle(Revoke(rid, "bogus"), REGISTRAR),
        lambda: app.handle(RecordCe(rid, 10, "x"), engineer(2)),
    ):
        with pytest.raises(DomainError):
            attempt()
    assert all_stored_events(app) == before


def test_the_id_number_is_immutable(app: RegistryApp, clock: SimulatedClock) -> None:
    rid = approved(app, clock, 1).registration_id
    with pytest.raises(ImmutableField):
        app.handle(Amend(rid, {}, personal=person(2)), engineer(1))
    app.handle(Amend(rid, {}, personal=person(1, name="张小山")), engineer(1))
    data = app.personal_data(app.get(rid))
    assert data is not None and data.masked_name == "张*山"


def test_the_event_log_is_append_only(app: RegistryApp, clock: SimulatedClock) -> None:
    approved(app, clock, 1)
    before = all_stored_events(app)
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    for sql in (f"DELETE FROM {table}", f"UPDATE {table} SET topic = 'forged'"):
        with pytest.raises(Exception, match="append-only"):
            app.db.execute(sql)
    assert all_stored_events(app) == before
    # And the stored events rebuild exactly the same aggregate.
    reread = open_app(app.settings, clock=app.clock)
    rid = next(app.registration_ids())
    assert reread.get(rid).timeline == app.get(rid).timeline
    reread.close()


def _every_stored_byte(app: RegistryApp, settings: Settings) -> bytes:
    if settings.store == "sqlite":
        app.db.close()
        return b"".join(p.read_bytes() for p in settings.sqlite_path.parent.glob("*.sqlite*"))
    dump = []
    tables = app.db.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
        (settings.postgres_schema,),
    )
    for (table,) in tables:
        for row in app.db.query(f"SELECT * FROM {table}"):
            dump.append(repr(row).encode())
    return b"\n".join(dump)


def test_no_plaintext_id_number_anywhere(
    app: RegistryApp, clock: SimulatedClock, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    people = [person(n) for n in range(1, 6)]
    results = [approved(app, clock, n) for n in range(1, 6)]
    app.handle(
        Amend(results[0].registration_id, {"skills": "更新"}, personal=people[0]), engineer(1)
    )
    with pytest.raises(DuplicateApplication) as refused:
        app.handle(Apply("SIE", people[1], sie_facts()), REGISTRAR)
    outputs = [json.dumps([r.as_dict() for r in results]), str(refused.value), caplog.text]
    outputs += [repr(p) for p in people]
    stored = _every_stored_byte(app, settings)
    for p in people:
        for text in outputs:
            assert p.id_number not in text
        for needle in (p.id_number, p.phone, p.email, p.name):
            assert needle.encode() not in stored
            assert needle.encode("utf-8").hex().encode() not in stored


def test_destroying_the_key_erases_personal_data_without_touching_the_log(
    app: RegistryApp, clock: SimulatedClock
) -> None:
    rid = approved(app, clock, 1).registration_id
    approved(app, clock, 2)
    assert app.personal_data(app.get(rid)) is not None
    log_before = all_stored_events(app)
    app.handle(ErasePersonalData(rid), REGISTRAR)
    log_after = all_stored_events(app)
    assert log_after[: len(log_before)] == log_before  # only appended
    reg = app.get(rid)
    assert reg.personal_data_erased and app.personal_data(reg) is None
    with pytest.raises(DomainError):
        app.handle(Amend(rid, {}, personal=person(1)), engineer(1))
    other = app.get(next(i for i in app.registration_ids() if i != rid))
    assert app.personal_data(other) is not None


def test_supervision_suspends_after_two_years_without_ce(
    app: RegistryApp, clock: SimulatedClock
) -> None:
    rid = approved(app, clock, 1, scheme="IET").registration_id
    start = clock.now()
    clock.advance(timedelta(days=365 * 2 - 5))
    assert app.supervise() == []
    clock.advance(timedelta(days=10))
    results = app.supervise()
    assert [r.events for r in results] == [("Suspended",)]
    reg = app.get(rid)
    assert reg.status is Status.SUSPENDED
    assert reg.status_at(start + timedelta(days=400)) is Status.ACTIVE
    assert app.supervise() == []  # applied once


def test_policy_changes_are_versioned_events(app: RegistryApp) -> None:
    policy = app.policy("IET")
    app.publish_policy(policy.next_version(min_ce_hours_per_year=100), REGISTRAR)
    assert app.policy("IET").version == 2
    assert app.policy("IET").min_ce_hours_per_year == 100
    with pytest.raises(DomainError):
        app.publish_policy(policy.next_version(), REGISTRAR)  # version 2 again


def test_old_event_versions_are_upcast(app: RegistryApp, clock: SimulatedClock) -> None:
    rid = approved(app, clock, 1).registration_id
    app.handle(RecordCe(rid, 8, "CCF", "Kubernetes"), engineer(1))
    stored = next(
        n
        for n in app.recorder.select_notifications(1, 1000)
        if n.topic.endswith("ContinuingEducationRecorded")
    )
    state = json.loads(stored.state)
    assert state.pop("class_version") == 3  # v2 added `course`, v3 typed `valid_until`
    del state["course"]
    from eventsourcing.persistence import StoredEvent

    v1 = StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, json.dumps(state).encode()
    )
    event = app.mapper.to_domain_event(v1)
    assert event.course == "" and event.hours == 8  # type: ignore[attr-defined]


def test_submission_lacking_required_materials_is_refused_naming_each_item(
    app: RegistryApp,
) -> None:
    """ID-card copy, photo, CHSI report of a declared bachelor degree and a contact detail
    are required at submission (seed: engineer-registration-process); each gap is named."""
    no_contact = PersonalData(name="张小三", id_number=person(5).id_number)
    rid = app.handle(Apply("SIE", no_contact, sie_facts()), engineer(5)).registration_id
    with pytest.raises(Ineligible) as refused:
        app.handle(Submit(rid), engineer(5))
    codes = {c.code for c in refused.value.unmet}
    assert codes == {
        "materials.id_document",
        "materials.photo",
        "materials.chsi_report",
        "materials.contact",
    }
    assert app.get(rid).status_at(app.clock.now()) is Status.DRAFT

    rid = app.handle(Apply("SIE", person(6), sie_facts()), engineer(6)).registration_id
    refs = required_evidence(6)
    for ref, content in refs[:2]:  # ID copy and photo, no CHSI report
        app.handle(AttachEvidence(rid, ref, content), engineer(6))
    with pytest.raises(Ineligible) as refused:
        app.handle(Submit(rid), engineer(6))
    assert [c.code for c in refused.value.unmet] == ["materials.chsi_report"]
    ref, content = refs[2]
    app.handle(AttachEvidence(rid, ref, content), engineer(6))
    assert app.handle(Submit(rid), engineer(6)).events == ("Submitted",)


def test_a_stored_first_release_policy_takes_the_shipped_material_rules() -> None:
    old = SOFTWARE_IMPLEMENTATION.as_dict()
    for added in ("required_evidence", "degree_report_evidence", "requires_contact"):
        del old[added]
    loaded = SchemePolicy.from_dict(old)
    assert loaded == SOFTWARE_IMPLEMENTATION
    assert SchemePolicy.from_dict(SOFTWARE_IMPLEMENTATION.as_dict()) == SOFTWARE_IMPLEMENTATION
