"""The demo's stories: one lifecycle path per story kind, through both schemes.

Nothing here bypasses the application: every step is a `RegistryApp` use case, so the demo
exercises exactly the rules the CLI and the HTTP service do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.errors import DomainError
from domain.status import Status
from registry.application import (
    Amend,
    Apply,
    Approve,
    AttachEvidence,
    Decline,
    Endorse,
    EndorseEmployerChange,
    ErasePersonalData,
    LiftDishonesty,
    ListAsDishonest,
    ProvideSupplement,
    RecordCe,
    RecordExpertScore,
    Reinstate,
    Reject,
    RequestFurtherVerification,
    ReturnForSupplement,
    Revoke,
    StartReview,
    Submit,
    Suspend,
    Withdraw,
)
from registry.demo.cast import DemoEngineer, DemoPerson
from registry.demo.facts import application_facts
from registry.demo.reference import CE_PROVIDERS, EMPLOYERS
from registry.demo.scheduler import EXPERT, REGISTRAR, REVIEWER, Cursor, Scheduler, Story
from registry.samples import required_evidence


class DemoRun(Scheduler):
    """Every story kind of `STORY_KINDS` as a `_<name>` generator, plus the shared steps."""

    # ---------------------------------------------------------------- helpers

    def _apply(self, e: DemoEngineer, scheme: str, facts: dict[str, Any]) -> UUID:
        result = self.app.handle(Apply(scheme, e.person.personal_data(), facts), e.actor)
        e.registrations.append(result.registration_id)
        self._schemes[result.registration_id] = scheme
        return result.registration_id

    def _submit(self, e: DemoEngineer) -> None:
        """Attach the materials the scheme requires (ID copy, photo, CHSI report), submit."""
        for ref, content in required_evidence(e.index):
            self.app.handle(AttachEvidence(e.rid, ref, content), e.actor)
        self.app.handle(Submit(e.rid), e.actor)

    def _to_review(self, e: DemoEngineer, c: Cursor) -> Iterator[float]:
        """Submit → (employer endorsement for IET) → review started."""
        yield c.later(0.1, 4, office_hours=False)
        self._submit(e)
        if self._schemes[e.rid] == "IET":
            yield c.later(1, 6)
            self.app.handle(
                Endorse(e.rid, note="在职情况属实"), Actor(e.employer.id, Role.EMPLOYER)
            )
        yield c.later(0.5, 5)
        self.app.handle(StartReview(e.rid), REVIEWER)

    def _approve(self, e: DemoEngineer, c: Cursor) -> Iterator[float]:
        if self._schemes[e.rid] == "IET":
            yield c.later(2, 10)
            self.app.handle(RecordExpertScore(e.rid, e.rng.randrange(64, 96), "combined"), EXPERT)
        yield c.later(0.5, 4)
        self.app.handle(Approve(e.rid), REGISTRAR if self._schemes[e.rid] == "IET" else REVIEWER)

    def _log_ce(self, e: DemoEngineer, hours: float) -> bool:
        reg = self._get(e.rid)
        now = self.clock.now()
        if reg.status not in {Status.ACTIVE, Status.SUSPENDED, Status.UNDER_REVIEW}:
            return False
        if reg.status_at(now) is Status.EXPIRED:
            return False
        provider, course = e.rng.choice(CE_PROVIDERS)
        self.app.handle(RecordCe(e.rid, hours, provider, course), e.actor)
        return True

    def _ce_until(
        self, e: DemoEngineer, c: Cursor, stop: float, *, sparse: bool = False
    ) -> Iterator[float]:
        """The engineer's CE habit until day `stop`: IET ≥ 90 h/year, SIE every 9-18 months."""
        iet = self._schemes[e.rid] == "IET"
        if iet:
            gap, hours = ((300, 360), (8, 25)) if sparse else ((80, 118), (35, 45))
            first = (20, 40)
        else:
            gap, hours, first = (270, 520), (16, 48), (150, 400)
        nxt = c.day + e.rng.uniform(*first)
        while nxt < stop and nxt <= self.span:
            yield c.at(nxt)
            self._log_ce(e, float(e.rng.randrange(int(hours[0]), int(hours[1]) + 1)))
            nxt = c.day + e.rng.uniform(*gap)

    def _approved_life(self, e: DemoEngineer, scheme: str, **facts: Any) -> Iterator[float]:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(
            e, scheme, application_facts(e, self.clock.now().date(), scheme=scheme, **facts)
        )
        yield from self._to_review(e, c)
        yield from self._approve(e, c)

    # ------------------------------------------------------------------ SIE stories

    def _sie_draft(self, e: DemoEngineer) -> Story:
        yield e.start_day
        self._apply(e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE"))

    def _sie_submitted(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE"))
        yield c.later(0.1, 1, office_hours=False)
        self._submit(e)

    def _sie_under_review(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE"))
        yield from self._to_review(e, c)

    def _sie_returned_pending(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(
            e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE", design_only=True)
        )
        yield from self._to_review(e, c)
        yield c.later(1, 4)
        self.app.handle(
            ReturnForSupplement(
                e.rid, ["skills.vague"], "技能描述过于笼统，请补充具体的实施技能与工具"
            ),
            REVIEWER,
        )

    def _sie_returned_supplemented(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(
            e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE", design_only=True)
        )
        yield from self._to_review(e, c)
        yield c.later(1, 5)
        codes = ["project.no_implementation"]
        if e.rng.random() < 0.4:
            codes.append("skills.vague")
        self.app.handle(
            ReturnForSupplement(
                e.rid, codes, "项目经历未体现实施环节，请补充部署、迁移、上线等实施工作"
            ),
            REVIEWER,
        )
        yield c.later(2, 12, office_hours=False)
        self.app.handle(
            ProvideSupplement(e.rid, application_facts(e, self.clock.now().date(), scheme="SIE")),
            e.actor,
        )
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    def _sie_refused_then_amended(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(
            e,
            "SIE",
            application_facts(e, self.clock.now().date(), scheme="SIE", no_implementation=True),
        )
        yield c.later(1, 6, office_hours=False)
        fixed = application_facts(e, self.clock.now().date(), scheme="SIE")
        self.app.handle(Amend(e.rid, {"projects": fixed["projects"]}), e.actor)
        yield from self._to_review(e, c)
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    def _sie_fv_pending(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE"))
        yield from self._to_review(e, c)
        yield c.later(1, 3)
        self.app.handle(RequestFurtherVerification(e.rid, "学历信息待学信网核验"), REVIEWER)

    def _sie_fv_approved(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE"))
        yield from self._to_review(e, c)
        yield c.later(1, 4)
        self.app.handle(RequestFurtherVerification(e.rid, "项目证明材料需向原单位核实"), REVIEWER)
        yield c.later(5, 18)
        self.app.handle(Approve(e.rid), REVIEWER)
        yield from self._ce_until(e, c, self.span)

    def _sie_rejected(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE"))
        yield from self._to_review(e, c)
        yield c.later(2, 7)
        self.app.handle(Reject(e.rid, "项目经历与证明材料不符，且无法补正"), REVIEWER)

    def _sie_dishonesty_listed(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE"))
        yield from self._to_review(e, c)
        yield c.later(1, 4)
        self.app.handle(RequestFurtherVerification(e.rid, "学历证书编号在学信网查无此证"), REVIEWER)
        yield c.later(5, 15)
        self.app.handle(Reject(e.rid, "提交伪造的学历证书"), REVIEWER)
        yield c.later(1, 5)
        self.app.handle(ListAsDishonest(e.rid, "申请材料中使用伪造学历证书（失信）"), REGISTRAR)

    def _sie_withdrawn(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", application_facts(e, self.clock.now().date(), scheme="SIE"))
        if e.rng.random() < 0.5:
            yield from self._to_review(e, c)
        yield c.later(1, 10, office_hours=False)
        self.app.handle(Withdraw(e.rid, "个人原因撤回申请"), e.actor)

    def _sie_student(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "SIE", student=True)
        c = self._cursor(self._day_now(), e)
        yield from self._ce_until(e, c, self.span)

    def _sie_active(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "SIE")
        c = self._cursor(self._day_now(), e)
        yield from self._ce_until(e, c, self.span)

    def _sie_lapsed(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "SIE")

    def _sie_lapsed_reinstated(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "SIE")
        reg = self._get(e.rid)
        assert reg.valid_until is not None
        c = self._cursor(self._day_of(reg.valid_until) + e.rng.uniform(20, 90), e)
        yield c.later(0, 1)
        self.app.handle(Reinstate(e.rid, "补修继续教育学时后申请恢复登记"), REGISTRAR)
        yield c.later(1, 10, office_hours=False)
        self._log_ce(e, 32)
        yield from self._ce_until(e, c, self.span)

    def _manual_suspension(self, e: DemoEngineer, scheme: str, reinstate: bool) -> Story:
        yield from self._approved_life(e, scheme)
        c = self._cursor(self._day_now(), e)
        suspend_on = c.day + e.rng.uniform(90, 330)
        yield from self._ce_until(e, c, suspend_on)
        yield c.at_office(suspend_on)
        code = "investigation" if reinstate else "complaint"
        self.app.handle(Suspend(e.rid, code, "收到项目业主投诉，暂停执业待调查"), REGISTRAR)
        if not reinstate:
            return
        yield c.later(20, 70)
        self.app.handle(Reinstate(e.rid, "调查结束，投诉不成立，恢复执业"), REGISTRAR)
        yield from self._ce_until(e, c, self.span)

    def _sie_manual_suspension(self, e: DemoEngineer) -> Story:
        return self._manual_suspension(e, "SIE", reinstate=True)

    def _sie_suspended(self, e: DemoEngineer) -> Story:
        return self._manual_suspension(e, "SIE", reinstate=False)

    def _revoked(
        self, e: DemoEngineer, scheme: str, code: str, reason: str, lift: bool = False
    ) -> Story:
        yield from self._approved_life(e, scheme)
        c = self._cursor(self._day_now(), e)
        revoke_on = c.day + e.rng.uniform(60, 420)
        yield from self._ce_until(e, c, revoke_on)
        yield c.at_office(revoke_on)
        self.app.handle(Revoke(e.rid, code, reason), REGISTRAR)
        if lift:
            yield c.later(200, 400)
            self.app.handle(LiftDishonesty(e.rid, "失信惩戒期满，完成信用修复"), REGISTRAR)

    def _sie_revoked_fraud(self, e: DemoEngineer) -> Story:
        return self._revoked(e, "SIE", "fraud", "经核查，申请时提交的项目验收报告系伪造")

    def _sie_revoked_lifted(self, e: DemoEngineer) -> Story:
        return self._revoked(e, "SIE", "fraud", "冒用他人项目业绩申请登记", lift=True)

    def _amend_employer(self, e: DemoEngineer, scheme: str) -> Story:
        yield from self._approved_life(e, scheme)
        c = self._cursor(self._day_now(), e)
        move_on = c.day + e.rng.uniform(120, 500)
        yield from self._ce_until(e, c, move_on)
        yield c.at_office(move_on)
        new_employer = EMPLOYERS[(EMPLOYERS.index(e.employer) + 1 + e.index % 5) % len(EMPLOYERS)]
        reg = self._get(e.rid)
        if reg.status is not Status.ACTIVE:
            return
        self.app.handle(
            Amend(
                e.rid,
                {"employer": new_employer.as_facts("高级实施顾问，负责大型客户项目的实施交付")},
            ),
            e.actor,
        )
        e.employer = new_employer
        # the move is a request: the new employer endorses it, then the registrar approves
        yield c.later(1, 4)
        self.app.handle(
            EndorseEmployerChange(e.rid, note="已办理入职"), Actor(new_employer.id, Role.EMPLOYER)
        )
        yield c.later(2, 9)
        self.app.handle(Approve(e.rid), REGISTRAR if scheme == "IET" else REVIEWER)
        yield from self._ce_until(e, c, self.span)

    def _sie_amend_employer(self, e: DemoEngineer) -> Story:
        return self._amend_employer(e, "SIE")

    def _sie_amend_contact(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "SIE")
        c = self._cursor(self._day_now(), e)
        yield c.later(30, 90, office_hours=False)
        moved = DemoPerson(
            e.person.name,
            e.person.id_number,
            e.person.phone,
            e.person.email,
            e.person.address.split("区")[0] + "区新港东路" + str(e.index) + "号",
            e.person.birth,
            e.person.male,
        )
        self.app.handle(Amend(e.rid, {}, moved.personal_data()), e.actor)
        yield from self._ce_until(e, c, self.span)

    def _sie_erased(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "SIE")
        c = self._cursor(self._day_now(), e)
        erase_on = c.day + e.rng.uniform(200, 400)
        yield from self._ce_until(e, c, erase_on)
        yield c.at_office(erase_on)
        self.app.handle(ErasePersonalData(e.rid), REGISTRAR)

    def _sie_title_to_iet(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "SIE")
        c = self._cursor(self._day_now(), e)
        apply_on = c.day + 730 + e.rng.uniform(10, 40)
        yield from self._ce_until(e, c, apply_on)
        yield c.at(apply_on)
        facts = application_facts(e, self.clock.now().date(), scheme="IET", title_route=True)
        self._apply(e, "IET", facts)
        yield from self._to_review(e, c)
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    # ------------------------------------------------------------------ IET stories

    def _iet_draft(self, e: DemoEngineer) -> Story:
        yield e.start_day
        self._apply(e, "IET", application_facts(e, self.clock.now().date(), scheme="IET"))

    def _iet_submitted(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", application_facts(e, self.clock.now().date(), scheme="IET"))
        yield c.later(0.1, 1, office_hours=False)
        self._submit(e)

    def _iet_endorsed(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", application_facts(e, self.clock.now().date(), scheme="IET"))
        yield c.later(0.1, 1, office_hours=False)
        self._submit(e)
        yield c.later(0.5, 3)
        self.app.handle(Endorse(e.rid, note="同意申报"), Actor(e.employer.id, Role.EMPLOYER))

    def _iet_declined(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", application_facts(e, self.clock.now().date(), scheme="IET"))
        yield c.later(0.1, 1, office_hours=False)
        self._submit(e)
        yield c.later(1, 5)
        self.app.handle(
            Decline(e.rid, "申报的项目业绩与本单位记录不符，单位不予确认"),
            Actor(e.employer.id, Role.EMPLOYER),
        )
        if e.index % 2:
            yield c.later(3, 20, office_hours=False)
            self.app.handle(Withdraw(e.rid, "单位未通过初审，撤回申请"), e.actor)

    def _iet_under_review(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", application_facts(e, self.clock.now().date(), scheme="IET"))
        yield from self._to_review(e, c)
        if e.rng.random() < 0.5:
            yield c.later(1, 3)
            self.app.handle(RecordExpertScore(e.rid, e.rng.randrange(55, 90), "defence"), EXPERT)

    def _iet_returned_supplemented(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", application_facts(e, self.clock.now().date(), scheme="IET"))
        yield from self._to_review(e, c)
        yield c.later(1, 5)
        self.app.handle(
            ReturnForSupplement(e.rid, ["evidence.missing"], "缺少近五年业绩成果的证明材料"),
            REVIEWER,
        )
        yield c.later(3, 15, office_hours=False)
        self.app.handle(ProvideSupplement(e.rid), e.actor)
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    def _iet_fv_approved(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", application_facts(e, self.clock.now().date(), scheme="IET"))
        yield from self._to_review(e, c)
        yield c.later(1, 4)
        self.app.handle(RequestFurtherVerification(e.rid, "继续教育学时需向培训机构核实"), REVIEWER)
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    def _iet_rejected(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", application_facts(e, self.clock.now().date(), scheme="IET"))
        yield from self._to_review(e, c)
        yield c.later(2, 10)
        score = e.rng.randrange(35, 59)
        self.app.handle(RecordExpertScore(e.rid, score, "practical_test"), EXPERT)
        yield c.later(0.5, 3)
        try:  # the registrar tries to approve anyway: refused, nothing written
            self.app.handle(Approve(e.rid), REGISTRAR)
        except DomainError as refusal:
            self.refusals[f"approve:{refusal.code}"] += 1
        self.app.handle(Reject(e.rid, f"专家评审得分 {score}，低于合格线 60 分"), REGISTRAR)

    def _iet_withdrawn(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", application_facts(e, self.clock.now().date(), scheme="IET"))
        yield from self._to_review(e, c)
        yield c.later(1, 10, office_hours=False)
        self.app.handle(Withdraw(e.rid, "工作调动，暂不申报"), e.actor)

    def _iet_active(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "IET")
        c = self._cursor(self._day_now(), e)
        yield from self._ce_until(e, c, self.span)

    def _iet_ce_missing(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "IET")
        c = self._cursor(self._day_now(), e)
        yield from self._ce_until(e, c, self.span, sparse=True)

    def _iet_assessment_failed(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "IET")
        c = self._cursor(self._day_now(), e)
        yield from self._ce_until(e, c, self.span)

    def _iet_manual_suspension(self, e: DemoEngineer) -> Story:
        return self._manual_suspension(e, "IET", reinstate=True)

    def _iet_revoked_forged(self, e: DemoEngineer) -> Story:
        return self._revoked(e, "IET", "forged_material", "职称申报材料中的论文系伪造")

    def _iet_revoked_misconduct(self, e: DemoEngineer) -> Story:
        return self._revoked(e, "IET", "misconduct", "违反职业道德，造成重大安全事故")

    def _iet_amend_employer(self, e: DemoEngineer) -> Story:
        return self._amend_employer(e, "IET")
