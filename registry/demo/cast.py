"""The demo's cast: fictional people and which story each one lives, starting when.

Deterministic in (seed, engineers): tests regenerate the people to scan output for leaks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from domain.actors import Actor, Role
from domain.personal import PersonalData
from registry.credentials import mask_name
from registry.demo.reference import (
    AREAS,
    COMPOUND_SURNAMES,
    EMPLOYERS,
    GIVEN_FEMALE,
    GIVEN_MALE,
    STREETS,
    SURNAMES,
    DemoEmployer,
)
from registry.samples import resident_id_number

SPAN_DAYS = 1095  # three years of registry life, ending "now"
MIN_ENGINEERS = 60
DEFAULT_ENGINEERS = 240
DEFAULT_SEED = 20240301


@dataclass(frozen=True)
class DemoPerson:
    """A fictional engineer's personal data (never printed by the registry; only for tests)."""

    name: str
    id_number: str
    phone: str
    email: str
    address: str
    birth: date
    male: bool

    def personal_data(self) -> PersonalData:
        return PersonalData(
            name=self.name,
            id_number=self.id_number,
            phone=self.phone,
            email=self.email,
            address=self.address,
        )

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


def generate_people(
    seed: int = DEFAULT_SEED, engineers: int = DEFAULT_ENGINEERS
) -> list[DemoPerson]:
    """The demo's people, deterministic in `seed` (tests use it to scan output for leaks)."""
    rng = random.Random(f"people:{seed}")
    people: list[DemoPerson] = []
    seen: set[str] = set()
    for index in range(engineers):
        male = rng.random() < 0.62
        surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.03 else rng.choice(SURNAMES)
        name = surname + rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
        area, place = rng.choice(AREAS)
        while True:
            birth = date(1972, 1, 1) + timedelta(days=rng.randrange(0, 30 * 365))
            sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
            id_number = resident_id_number(area, birth, sequence)
            if id_number not in seen:
                seen.add(id_number)
                break
        phone = f"1{rng.choice('3578')}{rng.randrange(0, 10**9):09d}"
        email = f"engineer{index:04d}.{seed % 1000:03d}@mail.example.cn"
        address = f"{place}{rng.choice(STREETS)}{rng.randrange(1, 999)}号"
        people.append(DemoPerson(name, id_number, phone, email, address, birth, male))
    return people


def demo_secrets(seed: int = DEFAULT_SEED, engineers: int = DEFAULT_ENGINEERS) -> set[str]:
    """Every ID number, phone, e-mail and address of the demo (for leak scans in tests)."""
    secrets: set[str] = set()
    for p in generate_people(seed, engineers):
        secrets.update({p.id_number, p.phone, p.email, p.address})
    return secrets


# --------------------------------------------------------------------------- stories


@dataclass(frozen=True)
class StoryKind:
    name: str
    scheme: str
    window: tuple[int, int]  # start day range; negative = days before the end
    weight: float
    description: str


STORY_KINDS: tuple[StoryKind, ...] = (
    # --- SIE: 软件实施工程师登记
    StoryKind("sie_draft", "SIE", (-40, -2), 2, "draft, never submitted"),
    StoryKind("sie_submitted", "SIE", (-6, -1), 2, "submitted, awaiting review"),
    StoryKind("sie_under_review", "SIE", (-30, -3), 3, "under review (some overdue)"),
    StoryKind("sie_returned_pending", "SIE", (-30, -6), 2, "returned (skills.vague), open"),
    StoryKind(
        "sie_returned_supplemented",
        "SIE",
        (20, -60),
        5,
        "returned (project.no_implementation), supplemented, approved",
    ),
    StoryKind(
        "sie_refused_then_amended",
        "SIE",
        (20, -60),
        2,
        "draft with a design-only project corrected before submitting, approved",
    ),
    StoryKind("sie_fv_pending", "SIE", (-30, -4), 1, "further verification, open"),
    StoryKind("sie_fv_approved", "SIE", (20, -60), 3, "further verification, approved"),
    StoryKind("sie_rejected", "SIE", (20, -20), 3, "rejected"),
    StoryKind("sie_withdrawn", "SIE", (20, -10), 2, "withdrawn"),
    StoryKind("sie_student", "SIE", (0, -60), 3, "new graduate, student projects, active"),
    StoryKind("sie_active", "SIE", (0, -40), 26, "approved, CE logged, active"),
    StoryKind("sie_lapsed", "SIE", (0, 320), 8, "approved, no CE, lapsed"),
    StoryKind("sie_lapsed_reinstated", "SIE", (0, 240), 2, "lapsed, reinstated, CE"),
    StoryKind("sie_manual_suspension", "SIE", (0, -300), 2, "suspended, reinstated"),
    StoryKind("sie_suspended", "SIE", (0, -120), 1, "suspended (complaint), open"),
    StoryKind("sie_revoked_fraud", "SIE", (0, -150), 2, "revoked for fraud, dishonesty list"),
    StoryKind("sie_revoked_lifted", "SIE", (0, 300), 1, "revoked for fraud, listing lifted"),
    StoryKind(
        "sie_amend_employer", "SIE", (0, -200), 3, "employer changed, re-review, re-approved"
    ),
    StoryKind("sie_amend_contact", "SIE", (0, -100), 2, "contact details amended"),
    StoryKind("sie_erased", "SIE", (0, -200), 1, "personal data erased"),
    StoryKind(
        "sie_title_to_iet",
        "SIE",
        (0, 270),
        3,
        "two clean SIE years, applies directly for the IET title",
    ),
    StoryKind(
        "sie_dishonesty_listed",
        "SIE",
        (20, -60),
        1,
        "rejected for forged material, put on the dishonesty list",
    ),
    # --- IET: 中级工程师注册
    StoryKind("iet_draft", "IET", (-40, -2), 1, "draft, never submitted"),
    StoryKind("iet_submitted", "IET", (-8, -1), 2, "submitted, awaiting employer"),
    StoryKind("iet_endorsed", "IET", (-12, -2), 2, "employer endorsed, awaiting review"),
    StoryKind("iet_declined", "IET", (20, -5), 2, "employer declined"),
    StoryKind("iet_under_review", "IET", (-30, -3), 2, "under expert review"),
    StoryKind(
        "iet_returned_supplemented",
        "IET",
        (20, -80),
        3,
        "returned (evidence.missing), supplemented, approved",
    ),
    StoryKind("iet_fv_approved", "IET", (20, -80), 2, "further verification, approved"),
    StoryKind("iet_rejected", "IET", (20, -20), 3, "expert score below pass mark, rejected"),
    StoryKind("iet_withdrawn", "IET", (20, -10), 1, "withdrawn"),
    StoryKind("iet_active", "IET", (0, -60), 16, "approved, CE ≥ 90 h/year, assessed, active"),
    StoryKind(
        "iet_ce_missing",
        "IET",
        (0, 280),
        5,
        "two registration years without CE → suspended by the rules",
    ),
    StoryKind("iet_assessment_failed", "IET", (0, 600), 3, "annual assessment failed → suspended"),
    StoryKind("iet_manual_suspension", "IET", (0, -300), 2, "suspended, reinstated"),
    StoryKind("iet_revoked_forged", "IET", (0, -150), 2, "revoked for forged material"),
    StoryKind("iet_revoked_misconduct", "IET", (0, -150), 1, "revoked for misconduct"),
    StoryKind(
        "iet_amend_employer", "IET", (0, -200), 2, "employer changed, re-review, re-approved"
    ),
)
STORY_BY_NAME = {k.name: k for k in STORY_KINDS}


@dataclass
class DemoEngineer:
    index: int
    person: DemoPerson
    kind: StoryKind
    start_day: float
    employer: DemoEmployer
    rng: random.Random
    actor: Actor
    registrations: list[UUID] = field(default_factory=list)

    @property
    def rid(self) -> UUID:
        return self.registrations[-1]


def plan_cast(seed: int, engineers: int) -> list[DemoEngineer]:
    """Who lives which story, starting when: deterministic in (seed, engineers)."""
    if engineers < MIN_ENGINEERS:
        raise ValueError(f"the demo needs at least {MIN_ENGINEERS} engineers to tell every story")
    rng = random.Random(f"cast:{seed}")
    kinds = list(STORY_KINDS)
    extra = rng.choices(kinds, weights=[k.weight for k in kinds], k=engineers - len(kinds))
    assigned = kinds + extra
    rng.shuffle(assigned)
    cast = []
    for index, (person, kind) in enumerate(
        zip(generate_people(seed, engineers), assigned, strict=True)
    ):
        lo, hi = (d if d >= 0 else SPAN_DAYS + d for d in kind.window)
        cast.append(
            DemoEngineer(
                index=index,
                person=person,
                kind=kind,
                start_day=rng.uniform(lo, hi),
                employer=rng.choice(EMPLOYERS),
                rng=random.Random(f"engineer:{seed}:{index}"),
                actor=Actor(f"engineer-{index:04d}", Role.ENGINEER),
            )
        )
    return cast
