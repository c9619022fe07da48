"""Scheme policies are versioned data; eligibility is a pure function that reports every gap."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from typing import Any

from domain.errors import InvalidInput, UnmetCondition
from domain.facts import EDUCATION_LEVELS, SENIOR_WORKER_OR_HIGHER, ApplicationFacts

GUANGDONG = "44"
GUANGDONG_PROVISION_REGIONS: tuple[str, ...] = (GUANGDONG,)
"""Where the Guangdong provisions (rule A title route, skill-certificate waiver) apply by
default: Guangdong only. Another region adopts them by listing itself in a new policy version."""
_REGION_FIELDS = ("title_route_regions", "skill_waiver_regions")


@dataclass(frozen=True)
class SchemePolicy:
    """One version of a scheme's rules. A new version is published as an event."""

    code: str
    version: int
    name_zh: str
    name_en: str
    number_prefix: str
    # review
    review_working_days: int
    further_verification_working_days: int
    requires_employer_endorsement: bool
    requires_expert_score: bool
    pass_score: int
    # eligibility
    min_projects: int
    allow_student_projects: bool
    min_education: str | None
    college_min_work_years: float
    min_work_years: float
    min_independent_work_years: float
    achievements_within_years: int | None
    min_ce_hours_per_year: float
    skill_certificate_waives_education: bool
    # validity and supervision
    validity_years: int
    ce_renews_validity: bool
    ce_compliance_cycle_years: int | None
    ce_missing_years_for_suspension: int | None
    annual_assessment: bool
    title_eligibility_after_years: int | None
    # required materials (added after the first release: a stored policy without them takes
    # the shipped values of its scheme, see `from_dict`)
    required_evidence: tuple[str, ...] = ()
    """Evidence kinds every submission must carry (e.g. ID-card copy, photo)."""
    degree_report_evidence: str | None = None
    """Evidence kind verifying a declared bachelor degree or above (学信网 CHSI report)."""
    requires_contact: bool = False
    """The personal data must give a phone number or an e-mail address."""
    # Guangdong provisions (广东省规定), scoped to the regions that adopt them (added after
    # the first release: a stored policy without them takes Guangdong, where they applied)
    title_route_regions: tuple[str, ...] = GUANGDONG_PROVISION_REGIONS
    """Regions where rule A applies: a registration there earns the two-clean-years title
    route (`title_eligibility_after_years`), and a title application there accepts it."""
    skill_waiver_regions: tuple[str, ...] = GUANGDONG_PROVISION_REGIONS
    """Regions where `skill_certificate_waives_education` applies to the applicant."""

    def __post_init__(self) -> None:
        for name in _REGION_FIELDS:
            regions = getattr(self, name)
            if isinstance(regions, str) or not all(
                isinstance(r, str) and len(r) == 2 and r.isdigit() for r in regions
            ):
                raise InvalidInput(
                    f"{name} must list two-digit administrative division codes, got {regions!r}"
                )

    def title_route_in(self, region: str) -> bool:
        """Rule A (two clean years registered → the title) is in force in `region`."""
        return region in self.title_route_regions

    def skill_waiver_in(self, region: str) -> bool:
        """A senior-worker skill certificate waives the education condition in `region`."""
        return self.skill_certificate_waives_education and region in self.skill_waiver_regions

    @property
    def validity_lapses(self) -> bool:
        """The registration lapses by time when `valid_until` passes (rule A, SIE). A scheme
        with a CE compliance cycle (rule B, IET) has no expiry for the title: its
        `valid_until` is the next CE review deadline, and a failed review suspends."""
        return not self.ce_compliance_cycle_years

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SchemePolicy:
        data = dict(data)
        shipped = _SHIPPED.get(str(data.get("code")))
        for f in fields(cls):
            if f.name in _ADDED_FIELDS and f.name not in data:
                data[f.name] = getattr(shipped, f.name) if shipped else f.default
        for name in ("required_evidence", *_REGION_FIELDS):
            if isinstance(data.get(name), list):
                data[name] = tuple(data[name])
        try:
            return cls(**data)
        except TypeError as exc:
            raise InvalidInput(f"invalid scheme policy: {exc}") from None

    def next_version(self, **changes: Any) -> SchemePolicy:
        return replace(self, version=self.version + 1, **changes)


SOFTWARE_IMPLEMENTATION = SchemePolicy(
    code="SIE",
    version=1,
    name_zh="软件实施工程师登记",
    name_en="Software Implementation Engineer Registration",
    number_prefix="SIE",
    review_working_days=7,
    further_verification_working_days=15,
    requires_employer_endorsement=False,
    requires_expert_score=False,
    pass_score=0,
    min_projects=2,
    allow_student_projects=True,
    min_education=None,
    college_min_work_years=0,
    min_work_years=0,
    min_independent_work_years=0,
    achievements_within_years=None,
    min_ce_hours_per_year=0,
    skill_certificate_waives_education=False,
    validity_years=2,
    ce_renews_validity=True,
    ce_compliance_cycle_years=None,
    ce_missing_years_for_suspension=None,
    annual_assessment=False,
    title_eligibility_after_years=2,
    required_evidence=("id_document", "photo"),
    degree_report_evidence="chsi_report",
    requires_contact=True,
)

INTERMEDIATE_ENGINEER = SchemePolicy(
    code="IET",
    version=1,
    name_zh="中级工程师注册",
    name_en="Intermediate Engineer Title Registration",
    number_prefix="IET",
    review_working_days=7,
    further_verification_working_days=15,
    requires_employer_endorsement=True,
    requires_expert_score=True,
    pass_score=60,
    min_projects=0,
    allow_student_projects=False,
    min_education="bachelor",
    college_min_work_years=6,
    min_work_years=4,
    min_independent_work_years=2,
    achievements_within_years=5,
    min_ce_hours_per_year=90,
    skill_certificate_waives_education=True,
    validity_years=3,
    ce_renews_validity=False,
    ce_compliance_cycle_years=3,
    ce_missing_years_for_suspension=2,
    annual_assessment=True,
    title_eligibility_after_years=None,
    required_evidence=("id_document", "photo"),
    degree_report_evidence="chsi_report",
    requires_contact=True,
)

DEFAULT_POLICIES = (SOFTWARE_IMPLEMENTATION, INTERMEDIATE_ENGINEER)
_SHIPPED = {p.code: p for p in DEFAULT_POLICIES}
# Fields a first-release stored policy lacks; it takes its shipped scheme's values (the seeds'
# rules applied all along, the first release just did not enforce them).
_ADDED_FIELDS = frozenset(
    {"required_evidence", "degree_report_evidence", "requires_contact", *_REGION_FIELDS}
)
VERIFIED_DEGREE_FROM = "bachelor"

_MATERIAL_NAMES = {
    "id_document": "a copy of the resident ID card (身份证复印件)",
    "photo": "a photo (证件照)",
    "chsi_report": "the CHSI (学信网) verification report of the declared degree",
    "degree": "a copy of the degree certificate",
}


@dataclass(frozen=True)
class ApplicantHistory:
    """What the registry already knows about the applicant, gathered by the application layer."""

    on_dishonesty_list: bool = False
    title_eligible_by_registration: bool = False
    """Rule A: two clean years registered (in a region where the route applies). Counted
    only when the policy checked also applies rule A in the applicant's region."""


@dataclass(frozen=True)
class Materials:
    """What a submission carries besides its facts: the kinds of evidence attached and
    whether the (sealed) personal data gives a contact detail."""

    evidence_kinds: frozenset[str] = frozenset()
    has_contact: bool = False


def check_eligibility(
    policy: SchemePolicy,
    facts: ApplicationFacts,
    on: date,
    history: ApplicantHistory = ApplicantHistory(),
    materials: Materials | None = None,
) -> list[UnmetCondition]:
    """Every unmet condition of `policy` for these facts on date `on` (empty = eligible).

    `materials` are checked when given (at submission); without them only the facts are."""
    unmet: list[UnmetCondition] = []

    def gap(code: str, message: str) -> None:
        unmet.append(UnmetCondition(code, message))

    if materials is not None:
        unmet.extend(missing_materials(policy, facts, materials))

    if history.on_dishonesty_list:
        gap("ethics.dishonesty_list", "applicant is on the dishonesty list (失信名单)")
    if not facts.ethics_clean:
        gap("ethics.record", "ethics record is not clean")

    projects = facts.projects
    if not policy.allow_student_projects:
        projects = tuple(p for p in projects if p.kind == "work")
    if len(projects) < policy.min_projects:
        gap(
            "projects.too_few",
            f"at least {policy.min_projects} project experiences required, {len(projects)} given",
        )
    only_student_work = bool(facts.projects) and all(p.kind != "work" for p in facts.projects)
    if policy.min_projects and facts.employer is None and not only_student_work:
        gap("employer.missing", "employer and job description are required")
    if policy.requires_employer_endorsement and facts.employer is None:
        gap("employer.missing", "an employer is required for the employer preliminary review")

    # Guangdong provisions: only where the policy applies them to the applicant's region
    direct_by_title_rule = history.title_eligible_by_registration and policy.title_route_in(
        facts.region
    )
    direct_by_skill = policy.skill_waiver_in(facts.region) and any(
        c.kind in SENIOR_WORKER_OR_HIGHER for c in facts.certificates
    )
    if policy.min_education and not (direct_by_title_rule or direct_by_skill):
        required = EDUCATION_LEVELS.index(policy.min_education)
        highest = facts.highest_education
        level = EDUCATION_LEVELS.index(highest) if highest else -1
        college_ok = highest == "college" and facts.work_years >= policy.college_min_work_years
        if level < required and not college_ok:
            gap(
                "education.insufficient",
                f"{policy.min_education} degree or above required (college diploma with "
                f"{policy.college_min_work_years:g}+ years of work), "
                f"or a senior-worker skill certificate",
            )
    if not direct_by_title_rule:
        if facts.work_years < policy.min_work_years:
            gap(
                "experience.work_years",
                f"{policy.min_work_years:g} years of relevant work required, "
                f"{facts.work_years:g} declared",
            )
        if facts.independent_work_years < policy.min_independent_work_years:
            gap(
                "experience.independent_years",
                f"{policy.min_independent_work_years:g} years of independent work required, "
                f"{facts.independent_work_years:g} declared",
            )
    if policy.achievements_within_years is not None:
        since = on.year - policy.achievements_within_years
        if not any(a.year > since for a in facts.achievements):
            gap(
                "achievements.none_recent",
                f"an achievement within the last {policy.achievements_within_years} years "
                "is required",
            )
    if facts.ce_hours_last_year < policy.min_ce_hours_per_year:
        gap(
            "ce.hours",
            f"{policy.min_ce_hours_per_year:g} continuing-education hours per year required, "
            f"{facts.ce_hours_last_year:g} declared for the last year",
        )
    return unmet


def missing_materials(
    policy: SchemePolicy, facts: ApplicationFacts, materials: Materials
) -> list[UnmetCondition]:
    """Each required material the submission lacks, one condition per missing item."""
    missing: list[UnmetCondition] = []
    for kind in policy.required_evidence:
        if kind not in materials.evidence_kinds:
            name = _MATERIAL_NAMES.get(kind, f"evidence of kind {kind!r}")
            missing.append(UnmetCondition(f"materials.{kind}", f"{name} is required"))
    report = policy.degree_report_evidence
    threshold = EDUCATION_LEVELS.index(VERIFIED_DEGREE_FROM)
    declared = [e for e in facts.education if EDUCATION_LEVELS.index(e.level) >= threshold]
    if report and declared and report not in materials.evidence_kinds:
        name = _MATERIAL_NAMES.get(report, f"evidence of kind {report!r}")
        missing.append(
            UnmetCondition(
                f"materials.{report}",
                f"{name} is required for the declared {declared[0].level} degree",
            )
        )
    if policy.requires_contact and not materials.has_contact:
        missing.append(
            UnmetCondition("materials.contact", "a contact detail (phone or e-mail) is required")
        )
    return missing
