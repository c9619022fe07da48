"""Scheme rules on the Registration aggregate itself: no store, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.actors import SYSTEM, Actor, Role
from domain.errors import (
    ImmutableField,
    Ineligible,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
)
from domain.evidence import EvidenceRef
from domain.facts import ApplicationFacts
from domain.numbering import format_number, is_well_formed
from domain.permissions import PERMISSIONS
from domain.registration import Registration
from domain.schemes import (
    INTERMEDIATE_ENGINEER,
    SOFTWARE_IMPLEMENTATION,
    ApplicantHistory,
    SchemePolicy,
    check_eligibility,
)
from domain.status import Status
from tests.builders import iet_facts, sie_facts

ENG = Actor("eng-1", Role.ENGINEER)
REV = Actor("rev-1", Role.REVIEWER)
REG = Actor("reg-1", Role.REGISTRAR)
EMP = Actor("emp-91440300", Role.EMPLOYER)
T0 = datetime(2024, 3, 1, 9, tzinfo=UTC)


def draft(scheme: str = "SIE", facts: dict | None = None) -> Registration:
    policy = SOFTWARE_IMPLEMENTATION if scheme == "SIE" else INTERMEDIATE_ENGINEER
    facts = facts or (sie_facts() if scheme == "SIE" else iet_facts())
    return Registration.draft(
        policy=policy,
        subject_id=uuid4(),
        personal_data="ct",
        facts=ApplicationFacts.from_dict(facts),
        actor=ENG,
        at=T0,
    )


def active(scheme: str = "SIE", at: datetime = T0) -> Registration:
    r = draft(scheme)
    r.submit(ENG, at)
    if scheme == "IET":
        r.endorse(EMP, at)
    r.start_review(REV, at)
    if scheme == "IET":
        r.record_expert_score(80, "defence", REV, at)
    r.approve(format_number(r.policy.number_prefix, "44", at.year, 7), REV, at)
    return r


def test_software_registration_lapses_two_years_after_approval_without_ce() -> None:
    r = active("SIE")
    assert r.valid_until == date(2026, 3, 1)
    # Valid through the end of 1 March in Beijing (UTC+8): the last instant of that local
    # day is 15:59:59.999999 UTC; 16:00 UTC is already 00:00 on 2 March there.
    assert r.status_at(datetime(2026, 3, 1, 15, 59, 59, 999999, tzinfo=UTC)) is Status.ACTIVE
    assert r.status_at(datetime(2026, 3, 1, 16, 0, tzinfo=UTC)) is Status.EXPIRED


def test_ce_registration_renews_two_years_from_the_ce_date() -> None:
    r = active("SIE")
    r.record_ce(12, "CCF 在线课程", "DevOps", ENG, T0 + timedelta(days=500))
    assert r.valid_until == (T0 + timedelta(days=500)).date().replace(year=2027)
    assert r.status_at(datetime(2026, 6, 1, tzinfo=UTC)) is Status.ACTIVE
    # As of a date before the renewal, the old validity still applies.
    assert r.point_at(T0 + timedelta(days=10)).valid_until == date(2026, 3, 1)  # type: ignore[union-attr]


def test_ce_after_lapse_cannot_revive_but_registrar_can_reinstate() -> None:
    r = active("SIE")
    late = datetime(2026, 5, 1, tzinfo=UTC)
    with pytest.raises(InvalidTransition, match="lapsed"):
        r.record_ce(10, "provider", "", ENG, late)
    r.reinstate("CE completed late, fee paid", REG, late)
    assert r.status_at(late) is Status.ACTIVE
    assert r.valid_until == date(2028, 5, 1)


def test_intermediate_title_needs_90_ce_hours_a_year_to_apply() -> None:
    facts = ApplicationFacts.from_dict(iet_facts(ce_hours_last_year=89.5))
    unmet = check_eligibility(INTERMEDIATE_ENGINEER, facts, date(2024, 3, 1))
    assert [u.code for u in unmet] == ["ce.hours"]


def test_eligibility_reports_every_unmet_condition() -> None:
    facts = ApplicationFacts.from_dict(
        iet_facts(
            education=[
                {"level": "college", "institution": "x", "major": "y", "graduated": "2019-07-01"}
            ],
            work_years=3,
            independent_work_years=1,
            achievements=[],
            ce_hours_last_year=0,
        )
    )
    codes = {
        u.code
        for u in check_eligibility(
            INTERMEDIATE_ENGINEER,
            facts,
            date(2024, 3, 1),
            ApplicantHistory(on_dishonesty_list=True),
        )
    }
    assert codes == {
        "ethics.dishonesty_list",
        "education.insufficient",
        "experience.work_years",
        "experience.independent_years",
        "achievements.none_recent",
        "ce.hours",
    }
    r = draft("IET", facts.as_dict())
    with pytest.raises(Ineligible) as refused:
        r.submit(ENG, T0)
    assert len(refused.value.unmet) == 5  # dishonesty is a history fact, not a facts one
    assert r.status is Status.DRAFT and not r.pending_events[1:]


def test_senior_worker_certificate_waives_the_degree() -> None:
    facts = iet_facts(
        education=[],
        certificates=[{"kind": "skill_senior_worker", "name": "高级工", "issued": "2015-01-01"}],
    )
    unmet = check_eligibility(
        INTERMEDIATE_ENGINEER, ApplicationFacts.from_dict(facts), date(2024, 3, 1)
    )
    assert unmet == []


def test_two_consecutive_years_without_ce_suspend_an_intermediate_title() -> None:
    r = active("IET")
    r.record_ce(95, "继续教育基地", "year 1", ENG, T0 + timedelta(days=100))
    # Year 2 and year 3 (ending 2027-03-01) pass with too few hours.
    r.record_ce(30, "继续教育基地", "year 2", ENG, T0 + timedelta(days=400))
    assert r.apply_scheme_rules(SYSTEM, datetime(2026, 3, 2, tzinfo=UTC)) == []
    r.record_ce(20, "继续教育基地", "year 3", ENG, datetime(2026, 6, 1, tzinfo=UTC))
    assert r.apply_scheme_rules(SYSTEM, datetime(2027, 2, 28, tzinfo=UTC)) == []
    assert r.apply_scheme_rules(SYSTEM, datetime(2027, 3, 1, 1, tzinfo=UTC)) == ["Suspended"]
    assert r.status is Status.SUSPENDED
    assert r.timeline[-1].reason_code == "ce.missing_consecutive_years"
    assert r.status_at(datetime(2027, 2, 1, tzinfo=UTC)) is Status.ACTIVE


def test_a_failed_annual_assessment_suspends() -> None:
    r = active("IET")
    r.record_annual_assessment(2024, False, "考核不合格", REG, datetime(2025, 1, 10, tzinfo=UTC))
    assert r.status is Status.SUSPENDED
    assert [type(e).__name__ for e in r.pending_events][-2:] == [
        "AnnualAssessmentRecorded",
        "Suspended",
    ]


def test_compliant_ce_cycle_renews_the_intermediate_title() -> None:
    r = active("IET")
    for year in range(3):
        r.record_ce(92, "基地", f"y{year}", ENG, T0 + timedelta(days=30 + 365 * year))
    # the review takes effect at its deadline (the next local day), not early at a sweep
    assert r.apply_scheme_rules(SYSTEM, datetime(2027, 1, 15, tzinfo=UTC)) == []
    assert r.apply_scheme_rules(SYSTEM, datetime(2027, 3, 1, 15, tzinfo=UTC)) == []
    assert r.apply_scheme_rules(SYSTEM, datetime(2027, 3, 5, tzinfo=UTC)) == [
        "CeComplianceReviewed"
    ]
    assert r.valid_until == date(2030, 3, 1)
    assert r.timeline[-1].at == datetime(2027, 3, 1, 16, tzinfo=UTC)  # 03-02 00:00 Beijing
    assert r.apply_scheme_rules(SYSTEM, datetime(2027, 3, 6, tzinfo=UTC)) == []


def _compliant_iet(sweeps: list[datetime]) -> Registration:
    """An IET registration with 92 CE hours every registration year, swept at `sweeps`."""
    r = active("IET")
    records = [T0 + timedelta(days=30 + 365 * year) for year in range(7)]
    for moment in sorted([*records, *sweeps]):
        if moment in records:
            r.record_ce(92, "基地", moment.isoformat(), ENG, moment)
        else:
            r.apply_scheme_rules(SYSTEM, moment)
    return r


def test_a_late_sweep_reaches_the_punctual_result_for_a_compliant_title() -> None:
    """Issue 11: status is a function of time and the record, not of when the batch ran."""
    end = datetime(2030, 11, 20, tzinfo=UTC)
    monthly = [datetime(2024 + m // 12, m % 12 + 1, 20, tzinfo=UTC) for m in range(3, 83)]
    punctual, late = _compliant_iet(monthly), _compliant_iet([end])
    assert punctual.valid_until == late.valid_until == date(2033, 3, 1)
    # the same moves (a late review takes effect at the last event, if that is later)
    assert [(p.status, p.reason_code, p.valid_until) for p in punctual.timeline] == [
        (p.status, p.reason_code, p.valid_until) for p in late.timeline
    ]
    for day in (date(2027, 3, 2), date(2028, 1, 11), date(2030, 3, 2), date(2030, 11, 20)):
        moment = datetime.combine(day, datetime.min.time(), UTC)
        assert punctual.status_at(moment) is late.status_at(moment) is Status.ACTIVE


@pytest.mark.parametrize("late", [False, True])
def test_a_failed_ce_review_suspends_the_title_rather_than_expiring_it(late: bool) -> None:
    r = active("IET")
    for year in (0, 2):  # year 2 (2025-03 .. 2026-03) has no CE: one deficient year
        r.record_ce(92, "基地", f"y{year}", ENG, T0 + timedelta(days=30 + 365 * year))
    sweeps = (
        [datetime(2028, 1, 20, tzinfo=UTC)]
        if late
        else [datetime(2024 + m // 12, m % 12 + 1, 20, tzinfo=UTC) for m in range(3, 47)]
    )
    for moment in sweeps:
        r.apply_scheme_rules(SYSTEM, moment)
    assert r.status is Status.SUSPENDED
    assert r.timeline[-1].reason_code == "ce.review_failed"
    assert r.timeline[-1].at == datetime(2027, 3, 1, 16, tzinfo=UTC)
    assert r.status_at(datetime(2028, 1, 20, tzinfo=UTC)) is Status.SUSPENDED


def test_roles_are_enforced_by_the_domain() -> None:
    r = draft()
    with pytest.raises(NotPermitted):
        r.submit(Actor("someone-else", Role.ENGINEER), T0)
    r.submit(ENG, T0)
    with pytest.raises(NotPermitted):
        r.start_review(ENG, T0)
    r.start_review(REV, T0)
    with pytest.raises(NotPermitted):
        r.approve("SIE-44-2024-0000015", EMP, T0)


def test_intermediate_title_needs_employer_endorsement_and_a_pass_score() -> None:
    r = draft("IET")
    r.submit(ENG, T0)
    with pytest.raises(InvalidTransition):
        r.start_review(REV, T0)
    with pytest.raises(NotPermitted):
        r.endorse(Actor("emp-other", Role.EMPLOYER), T0)
    r.endorse(EMP, T0)
    r.start_review(REV, T0)
    with pytest.raises(InvalidTransition, match="score"):
        r.approve("IET-44-2024-0000019", REV, T0)
    r.record_expert_score(59, "defence", REV, T0)
    with pytest.raises(InvalidTransition, match="below the pass mark"):
        r.approve("IET-44-2024-0000019", REV, T0)


def test_refused_commands_trigger_no_event() -> None:
    r = active()
    before = len(r.pending_events)
    for attempt in (
        lambda: r.submit(ENG, T0),
        lambda: r.withdraw(ENG, T0),
        lambda: r.reinstate("x", REG, T0),
        lambda: r.suspend("not-a-code", "x", REG, T0),
        lambda: r.record_ce(-1, "p", "", ENG, T0),
    ):
        with pytest.raises((InvalidTransition, InvalidInput)):
            attempt()
    assert len(r.pending_events) == before


def test_event_time_never_goes_backwards() -> None:
    r = active()
    with pytest.raises(InvalidInput, match="before"):
        r.suspend("complaint", "x", REG, T0 - timedelta(seconds=1))


def test_amendment_rules() -> None:
    r = active()
    with pytest.raises(ImmutableField):
        r.amend({}, ENG, T0, id_number_changed=True)
    r.amend({"skills": "SAP S/4HANA"}, ENG, T0)
    assert r.status is Status.ACTIVE
    employer = {"id": "emp-2", "name": "新公司", "job_description": "实施"}
    r.amend({"employer": employer}, ENG, T0)
    # an approved engineer's move is a request: still bound to the old employer, in force
    assert r.status is Status.UNDER_REVIEW and r.number is not None
    assert r.employer_id == EMP.id and r.pending_employer_id == "emp-2" and r.permitted
    with pytest.raises(InvalidTransition, match="not endorsed"):
        r.approve(None, REV, T0)
    with pytest.raises(NotPermitted):
        r.endorse_employer_change(EMP, T0)
    r.endorse_employer_change(Actor("emp-2", Role.EMPLOYER), T0)
    r.approve(None, REV, T0)
    assert r.status is Status.ACTIVE and r.employer_id == "emp-2"
    assert r.pending_employer_id is None


def test_employer_change_declined_by_the_claimed_employer_keeps_the_old_binding() -> None:
    r = active()
    new = {"id": "emp-2", "name": "新公司", "job_description": "实施"}
    r.request_employer_change(new, ENG, T0, "跳槽")
    with pytest.raises(InvalidTransition, match="already pending"):
        r.request_employer_change({**new, "id": "emp-3"}, ENG, T0)
    with pytest.raises(NotPermitted):
        r.decline_employer_change("不认识", Actor("emp-3", Role.EMPLOYER), T0)
    r.decline_employer_change("查无此人", Actor("emp-2", Role.EMPLOYER), T0)
    assert r.status is Status.ACTIVE and r.employer_id == EMP.id
    assert r.pending_employer_id is None
    with pytest.raises(InvalidTransition, match="no employer change"):
        r.approve_employer_change(REV, T0)


def test_revocation_for_fraud_lists_as_dishonest_and_outranks_everything() -> None:
    r = active()
    r.suspend("investigation", "举报", REG, T0 + timedelta(days=1))
    r.revoke("forged_material", "伪造项目验收报告", REG, T0 + timedelta(days=2))
    assert r.dishonest
    assert r.status_at(datetime(2030, 1, 1, tzinfo=UTC)) is Status.REVOKED
    with pytest.raises(InvalidTransition):
        r.reinstate("appeal", REG, T0 + timedelta(days=3))


def test_evidence_limits() -> None:
    ok = EvidenceRef("a" * 64, "application/pdf", 5 * 1024 * 1024, "degree", "学位证.pdf")
    assert ok.size == 5 * 1024 * 1024
    with pytest.raises(Exception, match="size"):
        EvidenceRef("a" * 64, "application/pdf", 5 * 1024 * 1024 + 1, "degree", "x.pdf")
    with pytest.raises(Exception, match="not allowed"):
        EvidenceRef("a" * 64, "image/gif", 10, "degree", "x.gif")


def test_registration_numbers_carry_a_check_character() -> None:
    number = format_number("SIE", "44", 2024, 123)
    assert is_well_formed(number)
    assert not is_well_formed(number[:-1] + ("0" if number[-1] != "0" else "1"))
    assert not is_well_formed("SIE-44-2024-000123")


def test_a_declined_application_goes_back_to_the_employer_after_supplement() -> None:
    r = draft("IET")
    r.submit(ENG, T0)
    r.decline(EMP, T0, "not our employee any more")
    new_employer = {"id": "emp-2", "name": "新公司", "job_description": "实施"}
    r.provide_supplement(
        ENG,
        T0,
        ApplicationFacts.from_dict(iet_facts(employer_id="emp-2") | {"employer": new_employer}),
    )
    assert r.status is Status.SUBMITTED
    with pytest.raises(InvalidTransition):
        r.start_review(REV, T0)
    with pytest.raises(NotPermitted):
        r.endorse(EMP, T0)  # the old employer no longer decides
    r.endorse(Actor("emp-2", Role.EMPLOYER), T0)
    r.start_review(REV, T0)
    assert r.status is Status.UNDER_REVIEW


def test_a_reviewer_return_goes_back_to_review_after_supplement() -> None:
    r = draft("IET")
    r.submit(ENG, T0)
    r.endorse(EMP, T0)
    r.start_review(REV, T0)
    r.return_for_supplement(["project.no_implementation"], "补充实施阶段", REV, T0)
    r.provide_supplement(ENG, T0)
    assert r.status is Status.UNDER_REVIEW


def test_a_lapsed_registration_cannot_be_suspended_or_certified() -> None:
    r = active("SIE")
    later = datetime(2026, 6, 1, tzinfo=UTC)
    with pytest.raises(InvalidTransition, match="lapsed"):
        r.suspend("complaint", "x", REG, later)
    with pytest.raises(InvalidTransition, match="lapsed"):
        r.issue_certificate("S-1", "kid", later + timedelta(days=30), REG, later)


def test_rule_a_two_clean_years_make_the_title_route_available() -> None:
    r = active("SIE")
    r.record_ce(10, "CCF", "", ENG, T0 + timedelta(days=300))
    assert not r.title_eligible_at(T0 + timedelta(days=700))
    assert r.title_eligible_at(datetime(2026, 3, 1, 12, tzinfo=UTC))
    r.suspend("complaint", "投诉", REG, datetime(2026, 3, 2, tzinfo=UTC))
    r.reinstate("投诉不成立", REG, datetime(2026, 3, 3, tzinfo=UTC))
    assert not r.title_eligible_at(datetime(2030, 1, 1, tzinfo=UTC))  # a bad record stays


def test_a_lifted_dishonesty_listing_is_a_bad_record_for_rule_a() -> None:
    r = active("SIE")
    r.record_ce(10, "CCF", "", ENG, T0 + timedelta(days=300))
    assert r.title_eligible_at(datetime(2026, 3, 1, 12, tzinfo=UTC))
    r.list_as_dishonest("虚假材料", REG, datetime(2026, 3, 2, tzinfo=UTC))
    r.lift_dishonesty("信用修复", REG, datetime(2026, 3, 3, tzinfo=UTC))
    assert r.title_eligible_at(datetime(2026, 3, 1, 12, tzinfo=UTC))  # before the listing
    after = datetime(2026, 3, 4, tzinfo=UTC)
    clean = active("SIE")
    clean.record_ce(10, "CCF", "", ENG, T0 + timedelta(days=300))
    assert clean.title_eligible_at(after)  # the same record without the listing qualifies
    assert not r.title_eligible_at(after)  # a lifted listing counts, like a lifted suspension


def test_a_lapse_restarts_the_rule_a_count() -> None:
    r = active("SIE")
    r.reinstate("late CE", REG, datetime(2026, 6, 1, tzinfo=UTC))
    assert not r.title_eligible_at(datetime(2027, 6, 1, tzinfo=UTC))
    r.record_ce(10, "CCF", "", ENG, datetime(2027, 6, 1, tzinfo=UTC))
    assert r.title_eligible_at(datetime(2028, 6, 2, tzinfo=UTC))


def test_an_amendment_under_review_stays_in_force_but_still_lapses() -> None:
    r = active("SIE")
    employer = {"id": "emp-2", "name": "新公司", "job_description": "实施"}
    r.amend({"employer": employer}, ENG, T0 + timedelta(days=700))
    assert r.permitted and r.status is Status.UNDER_REVIEW
    assert r.status_at(datetime(2026, 3, 2, tzinfo=UTC)) is Status.EXPIRED


def test_one_masking_rule_for_every_public_surface() -> None:
    from domain.personal import PersonalData
    from registry.credentials import mask_name as credential_mask
    from tests.builders import id_number

    for name, masked in [
        ("张小三", "张*三"),
        ("张三", "张*"),
        ("欧阳", "欧*"),
        ("Li Lei", "L* L**"),
        ("李", "*"),
    ]:
        assert credential_mask(name) == masked
        assert PersonalData(name, id_number(1)).masked_name == masked


# The table the HTTP role gate used before the permission table moved into the domain.
_ROLE_GATE = {
    "apply": "E RG",
    "attach_evidence": "E RG",
    "submit": "E RG",
    "supplement": "E RG",
    "withdraw": "E RG",
    "record_ce": "E RG",
    "amend": "E RG",
    "endorse": "EM",
    "decline": "EM",
    "request_employer_change": "E RG",
    "employer_change_endorse": "EM",
    "employer_change_decline": "EM RG",
    "employer_change_approve": "RV RG",
    "employer_claims": "EM RG AU AD",
    "start_review": "RV RG",
    "score": "RV RG",
    "return": "RV RG",
    "further_verification": "RV RG",
    "approve": "RV RG",
    "reject": "RV RG",
    "assessment": "RG",
    "suspend": "RG",
    "reinstate": "RG",
    "revoke": "RG",
    "dishonesty_add": "RG",
    "dishonesty_lift": "RG",
    "issue_certificate": "RG",
    "erase": "RG AD",
    "read_registration": "E EM RV RG AU AD",
    "certificate_download": "E RG AD",
    "events": "RG AU AD",
    "queue": "RV RG AU AD",
    "search": "EM RV RG AU AD",
    "statistics": "RV RG AU AD",
    "dishonesty_list": "EM RV RG AU AD",
    "whoami": "E EM RV RG AU AD",
    "apply_scheme_rules": "RG",
    "audit": "AU",
}
_ABBR = {"E": "engineer", "EM": "employer", "RV": "reviewer", "RG": "registrar"}
_ABBR |= {"AU": "auditor", "AD": "admin"}


def test_one_permission_table_gives_every_operation_its_callers() -> None:
    assert set(PERMISSIONS) == set(_ROLE_GATE)
    for operation, roles in _ROLE_GATE.items():
        expected = {Role(_ABBR[r]) for r in roles.split()}
        assert PERMISSIONS[operation].callers == expected, operation


def test_owner_and_named_employer_rules_are_data() -> None:
    other_engineer = Actor("eng-2", Role.ENGINEER)
    other_employer = Actor("emp-2", Role.EMPLOYER)
    submit = PERMISSIONS["submit"]
    assert submit.allows(ENG, owner_id=ENG.id) and submit.allows(REG)
    assert not submit.allows(other_engineer, owner_id=ENG.id)
    with pytest.raises(NotPermitted, match="engineer 'eng-2' may not submit this registration"):
        submit.check(other_engineer, owner_id=ENG.id)
    endorse = PERMISSIONS["endorse"]
    assert endorse.allows(EMP, employer_id=EMP.id)
    with pytest.raises(NotPermitted, match="only the applicant's employer may endorse"):
        endorse.check(other_employer, employer_id=EMP.id)
    with pytest.raises(NotPermitted, match="role engineer may not approve") as refused:
        PERMISSIONS["approve"].check(ENG)
    assert refused.value.code == "actor.not_permitted"
    reader = PERMISSIONS["read_registration"]
    assert reader.allows(EMP, employer_id=EMP.id) and not reader.allows(other_employer)
    assert PERMISSIONS["issue_certificate"].allows(SYSTEM)  # the registry's own renewals
    assert Role.SYSTEM not in PERMISSIONS["issue_certificate"].callers


def test_first_release_event_forms_are_upcast_to_typed_fields() -> None:
    """ISO text and plain dicts as the first release stored them become dates and values."""
    reviewed = {"cycle_end": "2027-03-01", "passed": True, "valid_until": "2030-03-01"}
    Registration.CeComplianceReviewed.upcast_v1_v2(reviewed)
    assert reviewed["cycle_end"] == date(2027, 3, 1)
    assert reviewed["valid_until"] == date(2030, 3, 1)
    reinstated: dict[str, object] = {"reason": "ok", "valid_until": None}
    Registration.Reinstated.upcast_v1_v2(reinstated)
    assert reinstated["valid_until"] is None
    ce = {"hours": 8.0, "provider": "CCF", "valid_until": "2026-05-01"}
    Registration.ContinuingEducationRecorded.upcast_v1_v2(ce)
    Registration.ContinuingEducationRecorded.upcast_v2_v3(ce)
    assert ce == {"hours": 8.0, "provider": "CCF", "course": "", "valid_until": date(2026, 5, 1)}
    ref = EvidenceRef("a" * 64, "application/pdf", 10, "degree", "a.pdf")
    attached = {"evidence": ref.as_dict()}
    Registration.EvidenceAttached.upcast_v1_v2(attached)
    assert attached["evidence"] == ref


def test_guangdong_provisions_apply_only_in_the_regions_their_policy_lists() -> None:
    """Rule A's title route and the skill-certificate waiver are Guangdong provisions
    (广东省规定): an applicant in region 11 gets neither unless a policy lists it."""
    on = date(2024, 3, 1)
    direct = ApplicantHistory(title_eligible_by_registration=True)
    skill = [{"kind": "skill_senior_worker", "name": "高级工", "issued": "2015-01-01"}]

    def unmet(region: str, policy: SchemePolicy, **overrides: Any) -> set[str]:
        facts = ApplicationFacts.from_dict(iet_facts(region=region, **overrides))
        return {u.code for u in check_eligibility(policy, facts, on, direct)}

    no_degree = {"education": [], "certificates": skill}
    no_experience = {"work_years": 1, "independent_work_years": 0}
    assert unmet("44", INTERMEDIATE_ENGINEER, **no_degree) == set()
    assert unmet("44", INTERMEDIATE_ENGINEER, education=[], **no_experience) == set()
    assert unmet("11", INTERMEDIATE_ENGINEER, **no_degree) == {"education.insufficient"}
    assert unmet("11", INTERMEDIATE_ENGINEER, **no_experience) == {
        "experience.work_years",
        "experience.independent_years",
    }
    # another region adopts them by listing itself in a new policy version
    adopted = INTERMEDIATE_ENGINEER.next_version(
        title_route_regions=("44", "11"), skill_waiver_regions=("44", "11")
    )
    assert unmet("11", adopted, **no_degree) == set()
    assert unmet("11", adopted, education=[], **no_experience) == set()

    # a registration in region 11 does not earn the route; one in 44 does
    def registered(region: str) -> Registration:
        r = Registration.draft(
            policy=SOFTWARE_IMPLEMENTATION,
            subject_id=uuid4(),
            personal_data="ct",
            facts=ApplicationFacts.from_dict(sie_facts(region=region)),
            actor=ENG,
            at=T0,
        )
        r.submit(ENG, T0)
        r.start_review(REV, T0)
        r.approve(format_number("SIE", region, 2024, 7), REV, T0)
        r.record_ce(10, "CCF", "", ENG, T0 + timedelta(days=300))
        return r

    two_years_on = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert registered("44").title_eligible_at(two_years_on)
    assert not registered("11").title_eligible_at(two_years_on)


def test_a_stored_policy_without_region_scopes_loads_as_guangdong_only() -> None:
    stored = SOFTWARE_IMPLEMENTATION.as_dict()
    del stored["title_route_regions"], stored["skill_waiver_regions"]
    loaded = SchemePolicy.from_dict(stored)
    assert loaded.title_route_regions == ("44",) and loaded.skill_waiver_regions == ("44",)
    stored = {**INTERMEDIATE_ENGINEER.as_dict(), "skill_waiver_regions": ["44", "45"]}
    assert SchemePolicy.from_dict(stored).skill_waiver_regions == ("44", "45")
    with pytest.raises(InvalidInput, match="two-digit"):
        SchemePolicy.from_dict({**stored, "title_route_regions": "44"})
