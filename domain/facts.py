"""What an applicant declares: education, certificates, projects, employer, achievements.

Facts are plain, validated value objects; they are stored in events as dicts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from domain.errors import InvalidInput
from domain.values import require_canonical, require_finite, require_plain_text

EDUCATION_LEVELS = ("secondary", "college", "bachelor", "master", "doctorate")
CERTIFICATE_KINDS = frozenset(
    {
        "ruankao_junior",
        "ruankao_intermediate",
        "ruankao_senior",
        "pmp",
        "vendor",
        "skill_senior_worker",  # 高级工
        "skill_technician",  # 技师
        "skill_senior_technician",  # 高级技师
        "other",
    }
)
SENIOR_WORKER_OR_HIGHER = frozenset(
    {"skill_senior_worker", "skill_technician", "skill_senior_technician"}
)
PROJECT_KINDS = frozenset({"work", "internship", "graduation"})


def _text(data: dict[str, Any], key: str, *, required: bool = True, limit: int = 500) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be text")
    value = require_plain_text(value, key, multiline=limit > 500).strip()
    if required and not value:
        raise InvalidInput(f"{key} is required")
    if len(value) > limit:
        raise InvalidInput(f"{key} is longer than {limit} characters")
    return value


def _date(data: dict[str, Any], key: str, *, required: bool = True) -> date | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{key} is required")
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{key} must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class Education:
    level: str
    institution: str
    major: str
    graduated: date

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Education:
        level = _text(data, "level")
        if level not in EDUCATION_LEVELS:
            raise InvalidInput(f"education level must be one of {', '.join(EDUCATION_LEVELS)}")
        graduated = _date(data, "graduated")
        assert graduated is not None
        return cls(level, _text(data, "institution"), _text(data, "major"), graduated)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "graduated": self.graduated.isoformat()}


@dataclass(frozen=True)
class Certificate:
    kind: str
    name: str
    issued: date

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Certificate:
        kind = _text(data, "kind")
        if kind not in CERTIFICATE_KINDS:
            raise InvalidInput(f"certificate kind {kind!r} unknown")
        issued = _date(data, "issued")
        assert issued is not None
        return cls(kind, _text(data, "name"), issued)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "issued": self.issued.isoformat()}


@dataclass(frozen=True)
class Project:
    """A project experience; internship and graduation projects count for new graduates."""

    name: str
    start: date
    end: date | None
    role: str
    outcome: str
    kind: str = "work"
    implementation_phase: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Project:
        kind = _text(data, "kind", required=False) or "work"
        if kind not in PROJECT_KINDS:
            raise InvalidInput(f"project kind must be one of {', '.join(sorted(PROJECT_KINDS))}")
        start = _date(data, "start")
        assert start is not None
        end = _date(data, "end", required=False)
        if end is not None and end < start:
            raise InvalidInput(f"project {data.get('name')!r} ends before it starts")
        return cls(
            name=_text(data, "name"),
            start=start,
            end=end,
            role=_text(data, "role"),
            outcome=_text(data, "outcome", limit=2000),
            kind=kind,
            implementation_phase=bool(data.get("implementation_phase", True)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "start": self.start.isoformat(), "end": _iso(self.end)}


@dataclass(frozen=True)
class Employer:
    id: str
    name: str
    job_description: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Employer:
        return cls(
            _text(data, "id", limit=100),
            _text(data, "name"),
            _text(data, "job_description", limit=2000),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Achievement:
    title: str
    year: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Achievement:
        year = data.get("year")
        if not isinstance(year, int) or not 1950 <= year <= 2200:
            raise InvalidInput("achievement year must be an integer year")
        return cls(_text(data, "title"), year)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidInput(f"{key} must be a list of objects")
    if len(value) > 50:
        raise InvalidInput(f"{key} has more than 50 entries")
    return value


@dataclass(frozen=True)
class ApplicationFacts:
    """Everything but personal data (name, ID number, contacts live in the vault)."""

    education: tuple[Education, ...] = ()
    certificates: tuple[Certificate, ...] = ()
    projects: tuple[Project, ...] = ()
    employer: Employer | None = None
    work_years: float = 0.0
    independent_work_years: float = 0.0
    achievements: tuple[Achievement, ...] = ()
    skills: str = ""
    ce_hours_last_year: float = 0.0
    ethics_clean: bool = True
    region: str = "44"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApplicationFacts:
        if not isinstance(data, dict):
            raise InvalidInput("application facts must be an object")
        require_canonical(data, "facts")
        employer = data.get("employer")
        if employer is not None and not isinstance(employer, dict):
            raise InvalidInput("employer must be an object")

        def number(key: str) -> float:
            value = data.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InvalidInput(f"{key} must be a non-negative number")
            return require_finite(float(value), key)

        region = _text(data, "region", required=False, limit=10) or "44"
        if not region.isdigit() or len(region) != 2:
            raise InvalidInput("region must be a two-digit administrative division code")
        return cls(
            education=tuple(Education.from_dict(e) for e in _items(data, "education")),
            certificates=tuple(Certificate.from_dict(c) for c in _items(data, "certificates")),
            projects=tuple(Project.from_dict(p) for p in _items(data, "projects")),
            employer=Employer.from_dict(employer) if employer else None,
            work_years=number("work_years"),
            independent_work_years=number("independent_work_years"),
            achievements=tuple(Achievement.from_dict(a) for a in _items(data, "achievements")),
            skills=_text(data, "skills", required=False, limit=2000),
            ce_hours_last_year=number("ce_hours_last_year"),
            ethics_clean=bool(data.get("ethics_clean", True)),
            region=region,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "education": [e.as_dict() for e in self.education],
            "certificates": [c.as_dict() for c in self.certificates],
            "projects": [p.as_dict() for p in self.projects],
            "employer": self.employer.as_dict() if self.employer else None,
            "work_years": self.work_years,
            "independent_work_years": self.independent_work_years,
            "achievements": [a.as_dict() for a in self.achievements],
            "skills": self.skills,
            "ce_hours_last_year": self.ce_hours_last_year,
            "ethics_clean": self.ethics_clean,
            "region": self.region,
        }

    @property
    def highest_education(self) -> str | None:
        levels = [EDUCATION_LEVELS.index(e.level) for e in self.education]
        return EDUCATION_LEVELS[max(levels)] if levels else None
