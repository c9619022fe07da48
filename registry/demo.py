"""A realistic, deterministic demo data set: three years of a provincial registry's life.

Every engineer gets a *story* (a lifecycle path through both schemes: drafts, employer
pre-review, returns for supplement, further verification, approvals, CE hours, annual
assessments, suspensions, revocations, amendments, lapses, erasure...). Each story is a
generator that yields the simulated day of its next step; a scheduler interleaves all
stories on one global timeline (the simulated clock never goes back), and a "registry
office" process runs the time-driven scheme rules monthly and the annual assessments each
January, as a registry would.

Nothing here bypasses the application: every step is a `RegistryApp` use case, so the demo
exercises exactly the rules the CLI and the HTTP service do.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.errors import DomainError
from domain.numbering import check_character
from domain.personal import PersonalData
from domain.registration import Registration
from domain.status import Status
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.credentials import mask_name

SPAN_DAYS = 1095  # three years of registry life, ending "now"
MIN_ENGINEERS = 60
DEFAULT_ENGINEERS = 240
DEFAULT_SEED = 20240301

Story = Generator[float, None, None]

# --------------------------------------------------------------------------- reference data


@dataclass(frozen=True)
class DemoEmployer:
    id: str
    name: str
    city: str

    def as_facts(self, job: str) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "job_description": job}


EMPLOYERS = (
    DemoEmployer("EMP-GZ-001", "广州华南软件科技有限公司", "广州"),
    DemoEmployer("EMP-SZ-002", "深圳鹏城信息技术有限公司", "深圳"),
    DemoEmployer("EMP-ZH-003", "珠海海纳数据服务有限公司", "珠海"),
    DemoEmployer("EMP-FS-004", "佛山顺德智造系统集成有限公司", "佛山"),
    DemoEmployer("EMP-DG-005", "东莞松湖云计算有限公司", "东莞"),
    DemoEmployer("EMP-GZ-006", "广州天河数字政务服务有限公司", "广州"),
    DemoEmployer("EMP-SZ-007", "深圳前海金融科技有限公司", "深圳"),
    DemoEmployer("EMP-ST-008", "汕头潮汕通信工程有限公司", "汕头"),
    DemoEmployer("EMP-HZ-009", "惠州德赛信息系统有限公司", "惠州"),
    DemoEmployer("EMP-ZS-010", "中山火炬软件实施有限公司", "中山"),
    DemoEmployer("EMP-JM-011", "江门侨乡网络科技有限公司", "江门"),
    DemoEmployer("EMP-ZJ-012", "湛江港城智能设备有限公司", "湛江"),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
    "杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛段雷黎"
    "史陶贺毛郝顾龚邵万覃武钱戴严莫温"
)
COMPOUND_SURNAMES = ("欧阳", "司徒", "上官", "诸葛")
GIVEN_MALE = [
    "伟",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "杰",
    "涛",
    "明",
    "超",
    "刚",
    "平",
    "辉",
    "鹏",
    "华",
    "飞",
    "斌",
    "宇",
    "浩",
    "凯",
    "俊杰",
    "志强",
    "建华",
    "文博",
    "浩然",
    "子轩",
    "宇航",
    "思远",
    "晓东",
    "国栋",
    "永康",
    "家豪",
    "嘉伟",
    "振宇",
    "明辉",
    "伟强",
    "俊宏",
    "锦荣",
    "泽楷",
    "梓豪",
]
GIVEN_FEMALE = [
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "艳",
    "娟",
    "霞",
    "燕",
    "玲",
    "婷",
    "雪",
    "颖",
    "琳",
    "倩",
    "秀英",
    "桂英",
    "海燕",
    "欣怡",
    "梓涵",
    "嘉怡",
    "雨桐",
    "思琪",
    "晓婷",
    "佳慧",
    "慧敏",
    "美玲",
    "嘉欣",
    "诗雨",
    "婉婷",
    "紫萱",
    "可馨",
    "晓燕",
    "丽华",
    "凤仪",
    "淑贤",
]
# (area code, address prefix) of the household registration; the ID number's first 6 digits
AREAS = (
    ("440106", "广东省广州市天河区"),
    ("440104", "广东省广州市越秀区"),
    ("440111", "广东省广州市白云区"),
    ("440304", "广东省深圳市福田区"),
    ("440305", "广东省深圳市南山区"),
    ("440306", "广东省深圳市宝安区"),
    ("440402", "广东省珠海市香洲区"),
    ("440606", "广东省佛山市顺德区"),
    ("441900", "广东省东莞市"),
    ("442000", "广东省中山市"),
    ("440511", "广东省汕头市金平区"),
    ("430104", "湖南省长沙市岳麓区"),
    ("420106", "湖北省武汉市武昌区"),
    ("450103", "广西壮族自治区南宁市青秀区"),
    ("360102", "江西省南昌市东湖区"),
    ("510107", "四川省成都市武侯区"),
)
STREETS = ("体育西路", "中山大道", "深南大道", "科技园南路", "情侣中路", "东莞大道", "岐关西路")
UNIVERSITIES = (
    "华南理工大学",
    "中山大学",
    "深圳大学",
    "广东工业大学",
    "暨南大学",
    "华南师范大学",
    "广州大学",
    "汕头大学",
    "五邑大学",
    "湖南大学",
)
COLLEGES = ("深圳职业技术学院", "广东轻工职业技术学院", "广州番禺职业技术学院", "顺德职业技术学院")
MAJORS = (
    "计算机科学与技术",
    "软件工程",
    "信息管理与信息系统",
    "电子信息工程",
    "通信工程",
    "网络工程",
)
CERTIFICATES = (
    ("ruankao_intermediate", "系统集成项目管理工程师（软考中级）"),
    ("ruankao_intermediate", "软件设计师（软考中级）"),
    ("ruankao_senior", "信息系统项目管理师（软考高级）"),
    ("pmp", "PMP 项目管理专业人士"),
    ("vendor", "华为 HCIP-Datacom"),
    ("vendor", "阿里云 ACP 云计算认证"),
    ("vendor", "SAP 认证应用顾问"),
)
PROJECTS = (
    "市医保结算系统实施",
    "SAP S/4HANA ERP 上线实施",
    "智慧园区一卡通部署",
    "三甲医院 HIS 系统升级",
    "城商行核心系统迁移",
    "政务服务“一网通办”平台实施",
    "汽车零部件厂 MES 上线",
    "冷链仓储 WMS 实施",
    "连锁零售 CRM 系统实施",
    "区级数据中台建设",
    "港口集装箱调度系统部署",
    "高校教务系统迁移上云",
)
ROLES = ("实施工程师", "实施顾问", "项目经理", "技术支持工程师", "数据迁移工程师")
IMPLEMENTATION_OUTCOME = (
    "完成需求调研、系统部署与配置、历史数据迁移、用户培训和上线切换，系统稳定运行并通过验收"
)
DESIGN_ONLY_OUTCOME = "负责需求调研与方案设计，编写需求规格说明书"
ACHIEVEMENTS = (
    "主持的项目获市科技进步奖三等奖",
    "发表论文《大型ERP实施中的数据迁移方法》",
    "获软件著作权一项",
    "参与编写省级团体标准《软件实施服务规范》",
    "所在项目获省优秀信息化案例",
)
CE_PROVIDERS = (
    ("广东省继续教育公共服务平台", "信息系统项目管理新进展"),
    ("华南理工大学继续教育学院", "云原生应用部署与运维"),
    ("中国电子学会", "数据安全法规与实践"),
    ("广州市人社局专业技术人员继续教育基地", "专业技术人员职业道德与诚信建设"),
    ("深圳市软件行业协会", "国产数据库迁移实务"),
)

# --------------------------------------------------------------------------- the cast


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


def make_id_number(area: str, birth: date, sequence: int) -> str:
    """An 18-character resident ID number with a valid ISO 7064 MOD 11-2 check character."""
    body = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


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
            id_number = make_id_number(area, birth, sequence)
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


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DemoExample:
    category: str
    number: str
    registration_id: str
    scheme: str
    masked_name: str
    story: str
    active_on: str
    status_now: str
    reason_now: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class DemoResult:
    seed: int
    engineers: int
    registrations: int
    start: datetime
    end: datetime
    events: int
    elapsed_seconds: float
    counts: dict[str, dict[str, int]]
    examples: list[DemoExample]
    refusals: Counter[str]
    rule_events: Counter[str]
    stories: Counter[str]
    store: str

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "engineers": self.engineers,
            "registrations": self.registrations,
            "store": self.store,
            "simulated_from": self.start.isoformat(),
            "simulated_until": self.end.isoformat(),
            "events": self.events,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "events_per_second": round(self.events_per_second, 1),
            "counts": self.counts,
            "refusals": dict(sorted(self.refusals.items())),
            "rule_events": dict(sorted(self.rule_events.items())),
            "stories": dict(sorted(self.stories.items())),
            "examples": [e.as_dict() for e in self.examples],
        }


# --------------------------------------------------------------------------- the run

REVIEWER = Actor("reviewer-chen", Role.REVIEWER)
EXPERT = Actor("expert-panel-gd", Role.REVIEWER)
REGISTRAR = Actor("registrar-gd-hrss", Role.REGISTRAR)


class _Cursor:
    """One story's position on the timeline, in (fractional) days since the start.

    Day 0 is midnight UTC of the simulation's first date, a `weekday0` (Monday = 0).
    """

    def __init__(self, day: float, rng: random.Random, weekday0: int) -> None:
        self.day = day
        self.rng = rng
        self.weekday0 = weekday0

    def later(self, lo: float, hi: float, *, office_hours: bool = True) -> float:
        target = self.day + self.rng.uniform(lo, hi)
        return self.at_office(target) if office_hours else self.at(target)

    def at(self, day: float) -> float:
        self.day = max(day, self.day + 0.001)
        return self.day

    def at_office(self, day: float) -> float:
        """The first weekday moment between 09:00 and 17:00 Beijing time (01:00-09:00 UTC)."""
        whole = int(day)
        frac = day - whole
        if frac > 9 / 24:
            whole += 1
            frac = self.rng.uniform(1 / 24, 9 / 24)
        elif frac < 1 / 24:
            frac = self.rng.uniform(1 / 24, 9 / 24)
        while (self.weekday0 + whole) % 7 >= 5:
            whole += 1
        return self.at(whole + frac)


class DemoRun:
    """Drives the stories on one simulated clock against a `RegistryApp`."""

    def __init__(
        self,
        app: RegistryApp,
        clock: SimulatedClock,
        *,
        seed: int,
        engineers: int,
        start: datetime,
        end: datetime,
    ) -> None:
        self.app = app
        self.clock = clock
        self.seed = seed
        self.start = start
        self.end = end
        self.span = (end - start).total_seconds() / 86400
        self.cast = plan_cast(seed, engineers)
        self.refusals: Counter[str] = Counter()
        self.rule_events: Counter[str] = Counter()
        self.failed_assessment: set[int] = set()
        self._schemes: dict[UUID, str] = {}

    # ---------------------------------------------------------------- scheduler

    def run(self, progress: Callable[[int], None] | None = None) -> DemoResult:
        began = time.perf_counter()
        first_event = self.app.recorder.max_notification_id() or 0
        queue: list[tuple[float, int, Story]] = []
        sequence = 0

        def push(story: Story) -> None:
            nonlocal sequence
            try:
                day = next(story)
            except StopIteration:
                return
            if day <= self.span:
                heapq.heappush(queue, (day, sequence, story))
                sequence += 1

        push(self._office())
        for engineer in self.cast:
            push(self._story(engineer))
        shown = 0
        while queue:
            day, _, story = heapq.heappop(queue)
            self.clock.set(self.start + timedelta(days=day))
            if progress is not None and int(day) > shown:
                progress(int(day) - shown)
                shown = int(day)
            push(story)
        self.clock.set(self.end)
        if progress is not None and int(self.span) > shown:
            progress(int(self.span) - shown)
        events = (self.app.recorder.max_notification_id() or 0) - first_event
        elapsed = time.perf_counter() - began
        return self._result(events, elapsed)

    def _story(self, e: DemoEngineer) -> Story:
        """Yields the story's first day, then runs each step when resumed."""
        method: Callable[[DemoEngineer], Story] = getattr(self, f"_{e.kind.name}")
        return method(e)

    # ------------------------------------------------------------------- facts

    def _facts(
        self,
        e: DemoEngineer,
        *,
        scheme: str,
        student: bool = False,
        design_only: bool = False,
        no_implementation: bool = False,
        title_route: bool = False,
    ) -> dict[str, Any]:
        """Application facts as of today on the simulated clock."""
        rng = e.rng
        applied = self.clock.now().date()
        employer = e.employer
        if student:
            level, school = "bachelor", rng.choice(UNIVERSITIES)
            graduated = date(applied.year if applied.month > 7 else applied.year - 1, 7, 1)
        elif title_route:
            level, school = "college", rng.choice(COLLEGES)
            graduated = date(max(applied.year - 4, e.person.birth.year + 21), 7, 1)
        else:
            level = rng.choices(["college", "bachelor", "master"], weights=[2, 6, 2])[0]
            if scheme == "IET" and level == "college":
                level = "bachelor"
            school = rng.choice(COLLEGES if level == "college" else UNIVERSITIES)
            graduated = date(
                e.person.birth.year
                + (21 if level == "college" else 22)
                + (3 if level == "master" else 0),
                7,
                1,
            )
            graduated = min(graduated, applied - timedelta(days=400))
        work_years = 0.0 if student else max(1.0, round((applied - graduated).days / 365, 1))
        if scheme == "IET" and not title_route:
            work_years = max(work_years, round(rng.uniform(4.5, 12), 1))
        independent = 0.0 if student else round(min(work_years, rng.uniform(1, 6)), 1)
        if scheme == "IET" and not title_route:
            independent = max(independent, round(rng.uniform(2.0, 4.0), 1))

        def project(
            i: int, *, outcome: str, implementation: bool = True, kind: str = "work"
        ) -> dict[str, Any]:
            begin = applied - timedelta(days=rng.randrange(200, 1400) + 400 * i)
            end = begin + timedelta(days=rng.randrange(90, 360))
            end = min(end, applied - timedelta(days=10))
            return {
                "name": f"{rng.choice(('', '某市', '某省', '某集团'))}{rng.choice(PROJECTS)}",
                "start": begin.isoformat(),
                "end": end.isoformat(),
                "role": rng.choice(ROLES) if kind == "work" else "实习生",
                "outcome": outcome,
                "kind": kind,
                "implementation_phase": implementation,
            }

        if student:
            projects = [
                project(
                    0,
                    outcome="毕业设计：校园一卡通系统部署与试运行，完成服务器部署和用户培训",
                    kind="graduation",
                ),
                project(1, outcome="实习期间参与ERP系统现场部署与数据迁移", kind="internship"),
            ]
        else:
            projects = [
                project(
                    0,
                    outcome=DESIGN_ONLY_OUTCOME if design_only else IMPLEMENTATION_OUTCOME,
                    implementation=not no_implementation,
                ),
                project(1, outcome=IMPLEMENTATION_OUTCOME),
            ]
            if rng.random() < 0.4:
                projects.append(project(2, outcome=IMPLEMENTATION_OUTCOME))
        certificates = [
            {
                "kind": kind,
                "name": name,
                "issued": (applied - timedelta(days=rng.randrange(60, 1500))).isoformat(),
            }
            for kind, name in rng.sample(CERTIFICATES, k=rng.choice((0, 1, 1, 2)))
        ]
        if scheme == "IET" and not certificates:
            certificates.append(
                {
                    "kind": "ruankao_intermediate",
                    "name": CERTIFICATES[0][1],
                    "issued": (applied - timedelta(days=900)).isoformat(),
                }
            )
        facts: dict[str, Any] = {
            "education": [
                {
                    "level": level,
                    "institution": school,
                    "major": rng.choice(MAJORS),
                    "graduated": graduated.isoformat(),
                }
            ],
            "certificates": certificates,
            "projects": projects,
            "employer": None
            if student
            else employer.as_facts(
                f"{rng.choice(ROLES)}，负责客户现场的系统部署、数据迁移、培训与上线支持"
            ),
            "work_years": work_years,
            "independent_work_years": independent,
            "skills": "熟悉 Linux、Oracle/MySQL、Nginx 部署与调优，具备 ERP/HIS 项目现场实施经验"
            if not design_only
            else "熟悉软件相关工作",
            "region": "44",
        }
        if scheme == "IET":
            facts["achievements"] = [
                {"title": rng.choice(ACHIEVEMENTS), "year": applied.year - rng.randrange(0, 4)}
            ]
            facts["ce_hours_last_year"] = float(rng.randrange(90, 140))
        return facts

    # ---------------------------------------------------------------- helpers

    def _apply(self, e: DemoEngineer, scheme: str, facts: dict[str, Any]) -> UUID:
        result = self.app.apply(e.actor, scheme, e.person.personal_data(), facts)
        e.registrations.append(result.registration_id)
        self._schemes[result.registration_id] = scheme
        return result.registration_id

    def _get(self, rid: UUID) -> Registration:
        return self.app.get(rid)

    def _to_review(self, e: DemoEngineer, c: _Cursor) -> Iterator[float]:
        """Submit → (employer endorsement for IET) → review started."""
        yield c.later(0.1, 4, office_hours=False)
        self.app.submit(e.rid, e.actor)
        if self._schemes[e.rid] == "IET":
            yield c.later(1, 6)
            self.app.endorse(e.rid, Actor(e.employer.id, Role.EMPLOYER), note="在职情况属实")
        yield c.later(0.5, 5)
        self.app.start_review(e.rid, REVIEWER)

    def _approve(self, e: DemoEngineer, c: _Cursor) -> Iterator[float]:
        if self._schemes[e.rid] == "IET":
            yield c.later(2, 10)
            self.app.record_expert_score(e.rid, EXPERT, e.rng.randrange(64, 96), "combined")
        yield c.later(0.5, 4)
        self.app.approve(e.rid, REGISTRAR if self._schemes[e.rid] == "IET" else REVIEWER)

    def _log_ce(self, e: DemoEngineer, hours: float) -> bool:
        reg = self._get(e.rid)
        now = self.clock.now()
        if reg.status not in {Status.ACTIVE, Status.SUSPENDED, Status.UNDER_REVIEW}:
            return False
        if reg.status_at(now) is Status.EXPIRED:
            return False
        provider, course = e.rng.choice(CE_PROVIDERS)
        self.app.record_ce(e.rid, e.actor, hours, provider, course)
        return True

    def _ce_until(
        self, e: DemoEngineer, c: _Cursor, stop: float, *, sparse: bool = False
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
        self._apply(e, scheme, self._facts(e, scheme=scheme, **facts))
        yield from self._to_review(e, c)
        yield from self._approve(e, c)

    # ------------------------------------------------------------------ the office

    def _office(self) -> Story:
        """Monthly supervision sweep (02:00 Beijing on the 1st); annual assessments in January."""
        month = (self.start.replace(day=1) + timedelta(days=32)).replace(day=1)
        while True:
            sweep = month.replace(hour=18) - timedelta(days=1)  # 02:00 CST on the 1st
            yield (sweep - self.start).total_seconds() / 86400
            for result in self.app.supervise():
                self.rule_events.update(result.events)
            if month.month == 1:
                assessment = month.replace(day=12, hour=2)
                yield (assessment - self.start).total_seconds() / 86400
                self._annual_assessments(month.year - 1)
            month = (month + timedelta(days=32)).replace(day=1)

    def _annual_assessments(self, year: int) -> None:
        now = self.clock.now()
        for e in self.cast:
            for rid in e.registrations:
                reg = self._get(rid)
                if reg.scheme != "IET" or reg.approved_at is None:
                    continue
                if reg.approved_at.year > year or year in reg.assessments:
                    continue
                if reg.status is not Status.ACTIVE or reg.status_at(now) is not Status.ACTIVE:
                    continue
                fail = (
                    e.kind.name == "iet_assessment_failed" and e.index not in self.failed_assessment
                )
                if fail:
                    self.failed_assessment.add(e.index)
                note = (
                    "年度考核不合格：未履行岗位职责，项目交付出现重大质量问题"
                    if fail
                    else "年度考核合格"
                )
                self.app.record_annual_assessment(rid, REGISTRAR, year, not fail, note)

    # ------------------------------------------------------------------ SIE stories

    def _sie_draft(self, e: DemoEngineer) -> Story:
        yield e.start_day
        self._apply(e, "SIE", self._facts(e, scheme="SIE"))

    def _sie_submitted(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE"))
        yield c.later(0.1, 1, office_hours=False)
        self.app.submit(e.rid, e.actor)

    def _sie_under_review(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE"))
        yield from self._to_review(e, c)

    def _sie_returned_pending(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE", design_only=True))
        yield from self._to_review(e, c)
        yield c.later(1, 4)
        self.app.return_for_supplement(
            e.rid, REVIEWER, ["skills.vague"], "技能描述过于笼统，请补充具体的实施技能与工具"
        )

    def _sie_returned_supplemented(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE", design_only=True))
        yield from self._to_review(e, c)
        yield c.later(1, 5)
        codes = ["project.no_implementation"]
        if e.rng.random() < 0.4:
            codes.append("skills.vague")
        self.app.return_for_supplement(
            e.rid, REVIEWER, codes, "项目经历未体现实施环节，请补充部署、迁移、上线等实施工作"
        )
        yield c.later(2, 12, office_hours=False)
        self.app.provide_supplement(e.rid, e.actor, self._facts(e, scheme="SIE"))
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    def _sie_refused_then_amended(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE", no_implementation=True))
        yield c.later(1, 6, office_hours=False)
        fixed = self._facts(e, scheme="SIE")
        self.app.amend(e.rid, e.actor, {"projects": fixed["projects"]})
        yield from self._to_review(e, c)
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    def _sie_fv_pending(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE"))
        yield from self._to_review(e, c)
        yield c.later(1, 3)
        self.app.request_further_verification(e.rid, REVIEWER, "学历信息待学信网核验")

    def _sie_fv_approved(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE"))
        yield from self._to_review(e, c)
        yield c.later(1, 4)
        self.app.request_further_verification(e.rid, REVIEWER, "项目证明材料需向原单位核实")
        yield c.later(5, 18)
        self.app.approve(e.rid, REVIEWER)
        yield from self._ce_until(e, c, self.span)

    def _sie_rejected(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE"))
        yield from self._to_review(e, c)
        yield c.later(2, 7)
        self.app.reject(e.rid, REVIEWER, "项目经历与证明材料不符，且无法补正")

    def _sie_dishonesty_listed(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE"))
        yield from self._to_review(e, c)
        yield c.later(1, 4)
        self.app.request_further_verification(e.rid, REVIEWER, "学历证书编号在学信网查无此证")
        yield c.later(5, 15)
        self.app.reject(e.rid, REVIEWER, "提交伪造的学历证书")
        yield c.later(1, 5)
        self.app.list_as_dishonest(e.rid, REGISTRAR, "申请材料中使用伪造学历证书（失信）")

    def _sie_withdrawn(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "SIE", self._facts(e, scheme="SIE"))
        if e.rng.random() < 0.5:
            yield from self._to_review(e, c)
        yield c.later(1, 10, office_hours=False)
        self.app.withdraw(e.rid, e.actor, "个人原因撤回申请")

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
        self.app.reinstate(e.rid, REGISTRAR, "补修继续教育学时后申请恢复登记")
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
        self.app.suspend(e.rid, REGISTRAR, code, "收到项目业主投诉，暂停执业待调查")
        if not reinstate:
            return
        yield c.later(20, 70)
        self.app.reinstate(e.rid, REGISTRAR, "调查结束，投诉不成立，恢复执业")
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
        self.app.revoke(e.rid, REGISTRAR, code, reason)
        if lift:
            yield c.later(200, 400)
            self.app.lift_dishonesty(e.rid, REGISTRAR, "失信惩戒期满，完成信用修复")

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
        self.app.amend(
            e.rid,
            e.actor,
            {"employer": new_employer.as_facts("高级实施顾问，负责大型客户项目的实施交付")},
        )
        e.employer = new_employer
        yield c.later(2, 9)
        self.app.approve(e.rid, REGISTRAR if scheme == "IET" else REVIEWER)
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
        self.app.amend(e.rid, e.actor, {}, moved.personal_data())
        yield from self._ce_until(e, c, self.span)

    def _sie_erased(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "SIE")
        c = self._cursor(self._day_now(), e)
        erase_on = c.day + e.rng.uniform(200, 400)
        yield from self._ce_until(e, c, erase_on)
        yield c.at_office(erase_on)
        self.app.erase_personal_data(e.rid, REGISTRAR)

    def _sie_title_to_iet(self, e: DemoEngineer) -> Story:
        yield from self._approved_life(e, "SIE")
        c = self._cursor(self._day_now(), e)
        apply_on = c.day + 730 + e.rng.uniform(10, 40)
        yield from self._ce_until(e, c, apply_on)
        yield c.at(apply_on)
        facts = self._facts(e, scheme="IET", title_route=True)
        self._apply(e, "IET", facts)
        yield from self._to_review(e, c)
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    # ------------------------------------------------------------------ IET stories

    def _iet_draft(self, e: DemoEngineer) -> Story:
        yield e.start_day
        self._apply(e, "IET", self._facts(e, scheme="IET"))

    def _iet_submitted(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", self._facts(e, scheme="IET"))
        yield c.later(0.1, 1, office_hours=False)
        self.app.submit(e.rid, e.actor)

    def _iet_endorsed(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", self._facts(e, scheme="IET"))
        yield c.later(0.1, 1, office_hours=False)
        self.app.submit(e.rid, e.actor)
        yield c.later(0.5, 3)
        self.app.endorse(e.rid, Actor(e.employer.id, Role.EMPLOYER), note="同意申报")

    def _iet_declined(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", self._facts(e, scheme="IET"))
        yield c.later(0.1, 1, office_hours=False)
        self.app.submit(e.rid, e.actor)
        yield c.later(1, 5)
        self.app.decline(
            e.rid,
            Actor(e.employer.id, Role.EMPLOYER),
            "申报的项目业绩与本单位记录不符，单位不予确认",
        )
        if e.index % 2:
            yield c.later(3, 20, office_hours=False)
            self.app.withdraw(e.rid, e.actor, "单位未通过初审，撤回申请")

    def _iet_under_review(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", self._facts(e, scheme="IET"))
        yield from self._to_review(e, c)
        if e.rng.random() < 0.5:
            yield c.later(1, 3)
            self.app.record_expert_score(e.rid, EXPERT, e.rng.randrange(55, 90), "defence")

    def _iet_returned_supplemented(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", self._facts(e, scheme="IET"))
        yield from self._to_review(e, c)
        yield c.later(1, 5)
        self.app.return_for_supplement(
            e.rid, REVIEWER, ["evidence.missing"], "缺少近五年业绩成果的证明材料"
        )
        yield c.later(3, 15, office_hours=False)
        self.app.provide_supplement(e.rid, e.actor)
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    def _iet_fv_approved(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", self._facts(e, scheme="IET"))
        yield from self._to_review(e, c)
        yield c.later(1, 4)
        self.app.request_further_verification(e.rid, REVIEWER, "继续教育学时需向培训机构核实")
        yield from self._approve(e, c)
        yield from self._ce_until(e, c, self.span)

    def _iet_rejected(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", self._facts(e, scheme="IET"))
        yield from self._to_review(e, c)
        yield c.later(2, 10)
        score = e.rng.randrange(35, 59)
        self.app.record_expert_score(e.rid, EXPERT, score, "practical_test")
        yield c.later(0.5, 3)
        try:  # the registrar tries to approve anyway: refused, nothing written
            self.app.approve(e.rid, REGISTRAR)
        except DomainError as refusal:
            self.refusals[f"approve:{refusal.code}"] += 1
        self.app.reject(e.rid, REGISTRAR, f"专家评审得分 {score}，低于合格线 60 分")

    def _iet_withdrawn(self, e: DemoEngineer) -> Story:
        c = self._cursor(e.start_day, e)
        yield c.day
        self._apply(e, "IET", self._facts(e, scheme="IET"))
        yield from self._to_review(e, c)
        yield c.later(1, 10, office_hours=False)
        self.app.withdraw(e.rid, e.actor, "工作调动，暂不申报")

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

    # ----------------------------------------------------------------- timeline

    def _cursor(self, day: float, e: DemoEngineer) -> _Cursor:
        return _Cursor(day, e.rng, self.start.weekday())

    def _day_now(self) -> float:
        return (self.clock.now() - self.start).total_seconds() / 86400

    def _day_of(self, d: date) -> float:
        moment = datetime(d.year, d.month, d.day, tzinfo=UTC)
        return (moment - self.start).total_seconds() / 86400

    # ------------------------------------------------------------------ results

    def _result(self, events: int, elapsed: float) -> DemoResult:
        counts: dict[str, dict[str, int]] = {}
        registrations = 0
        examples: dict[str, DemoExample] = {}
        for e in self.cast:
            for rid in e.registrations:
                reg = self._get(rid)
                registrations += 1
                status = reg.status_at(self.end).value
                by_scheme = counts.setdefault(reg.scheme, {})
                by_scheme[status] = by_scheme.get(status, 0) + 1
                example = self._example(e, reg)
                if example is not None and example.category not in examples:
                    examples[example.category] = example
        return DemoResult(
            seed=self.seed,
            engineers=len(self.cast),
            registrations=registrations,
            start=self.start,
            end=self.end,
            events=events,
            elapsed_seconds=elapsed,
            counts={s: dict(sorted(c.items())) for s, c in sorted(counts.items())},
            examples=[examples[k] for k in EXAMPLE_ORDER if k in examples],
            refusals=self.refusals,
            rule_events=self.rule_events,
            stories=Counter(e.kind.name for e in self.cast),
            store=self.app.settings.describe_store(),
        )

    def _example(self, e: DemoEngineer, reg: Registration) -> DemoExample | None:
        if reg.number is None or reg.approved_at is None:
            return None
        now = reg.status_at(self.end)
        reasons = [p.reason_code for p in reg.timeline]
        last = reg.timeline[-1]
        category: str | None = None
        if now is Status.SUSPENDED and last.reason_code == "ce.missing_consecutive_years":
            category = "suspended_ce"
        elif now is Status.SUSPENDED and last.reason_code == "assessment.failed":
            category = "suspended_assessment"
        elif now is Status.EXPIRED:
            category = "expired"
        elif now is Status.REVOKED and reg.dishonest:
            category = "revoked_dishonest"
        elif now is Status.ACTIVE and "reinstated" in reasons:
            category = "reinstated"
        elif now is Status.ACTIVE and "amendment.approved" in reasons:
            category = "amended"
        elif reg.personal_data_erased:
            category = "erased"
        elif now is Status.ACTIVE and "ce.review_passed" in reasons:
            category = "iet_ce_renewed"
        elif now is Status.ACTIVE and reg.scheme == "SIE" and reg.title_eligible_at(self.end):
            category = "title_eligible"
        elif now is Status.ACTIVE and reg.scheme == "IET":
            category = "iet_active"
        if category is None:
            return None
        active_on = _middle_of_first_active_span(reg)
        if active_on is None:
            return None
        masked = self.app.vault.masked_name(reg.subject_id, reg.personal_data) or "(erased)"
        return DemoExample(
            category=category,
            number=reg.number,
            registration_id=str(reg.id),
            scheme=reg.scheme,
            masked_name=masked,
            story=describe_story(reg, self.end),
            active_on=active_on.isoformat(),
            status_now=now.value,
            reason_now=_reason_now(reg, now),
        )


EXAMPLE_ORDER = (
    "suspended_ce",
    "suspended_assessment",
    "expired",
    "revoked_dishonest",
    "reinstated",
    "amended",
    "erased",
    "iet_ce_renewed",
    "title_eligible",
    "iet_active",
)


def _reason_now(reg: Registration, now: Status) -> str:
    if now is Status.EXPIRED:
        return "ce.missing" if reg.policy.ce_renews_validity else "validity.ended"
    return reg.timeline[-1].reason_code


def _middle_of_first_active_span(reg: Registration) -> date | None:
    """A date well inside the registration's first active period (for --as-of examples)."""
    points = reg.timeline
    for i, point in enumerate(points):
        if point.status is not Status.ACTIVE:
            continue
        begin = point.at
        end_candidates = [p.at for p in points[i + 1 :] if p.status is not Status.ACTIVE]
        end = end_candidates[0] if end_candidates else None
        if point.valid_until is not None:
            lapse = datetime.combine(point.valid_until, datetime.min.time(), tzinfo=UTC)
            end = min(end, lapse) if end else lapse
        if end is None:
            end = begin + timedelta(days=60)
        middle = begin + (end - begin) / 2
        candidate = middle.date()
        first = datetime.combine(candidate, datetime.min.time(), tzinfo=UTC)
        last = first + timedelta(days=1) - timedelta(microseconds=1)
        if (
            first > begin
            and reg.status_at(first) is Status.ACTIVE
            and reg.status_at(last) is Status.ACTIVE
        ):
            return candidate
    return None


_STORY_WORDS = {
    Status.ACTIVE: "active",
    Status.SUSPENDED: "suspended",
    Status.REVOKED: "revoked",
    Status.UNDER_REVIEW: "re-review",
}


def describe_story(reg: Registration, now: datetime) -> str:
    """`SIE-44-2024-0000123: active 2024-03-01, suspended 2026-06-02 (ce.missing_...)`."""
    parts: list[str] = []
    previous: Status | None = None
    for point in reg.timeline:
        renewal = point.reason_code in {"ce.review_passed", "ce.review_failed"}
        if point.status is Status.ACTIVE and previous is Status.ACTIVE and not renewal:
            continue
        if point.reason_code == "approved":
            parts.append(f"active {point.at.date()}")
        elif point.reason_code == "reinstated":
            parts.append(f"reinstated {point.at.date()}")
        elif point.reason_code == "amendment.rereview":
            parts.append(f"re-review {point.at.date()} (amendment)")
        elif point.reason_code in {"ce.review_passed", "ce.review_failed"}:
            outcome = "passed" if point.reason_code == "ce.review_passed" else "failed"
            parts.append(
                f"CE cycle review {outcome} {point.at.date()} (valid until {point.valid_until})"
            )
        elif point.reason_code == "amendment.approved":
            parts.append(f"re-approved {point.at.date()}")
        elif reg.approved_at is not None and point.at >= reg.approved_at:
            word = _STORY_WORDS.get(point.status, point.status.value)
            parts.append(f"{word} {point.at.date()} ({point.reason_code})")
        previous = point.status
    if reg.status_at(now) is Status.EXPIRED and reg.valid_until is not None:
        parts.append(f"expired {reg.valid_until + timedelta(days=1)} (no CE renewal)")
    if reg.dishonest:
        parts.append("on the dishonesty list")
    if reg.personal_data_erased:
        parts.append("personal data erased")
    return f"{reg.number}: " + ", ".join(parts)


def demo_timeline_end(until: date | None = None, *, now: datetime | None = None) -> datetime:
    """The simulation's last moment: `until` at 09:00 UTC, or now (never the future)."""
    current = now or datetime.now(tz=UTC)
    if until is None:
        return current.replace(second=0, microsecond=0) - timedelta(minutes=1)
    end = datetime(until.year, until.month, until.day, 9, 0, tzinfo=UTC)
    if end > current:
        raise ValueError(f"--until {until} is in the future; the demo ends at the latest now")
    return end


def run_demo(
    app: RegistryApp,
    clock: SimulatedClock,
    *,
    seed: int = DEFAULT_SEED,
    engineers: int = DEFAULT_ENGINEERS,
    end: datetime,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Run the whole demo on `app`, whose clock must be `clock`, set at `demo_start(end)`."""
    if app.clock is not clock:
        raise ValueError("the app must run on the demo's simulated clock")
    start = demo_start(end)
    if clock.now() > start:
        raise ValueError("the simulated clock is already past the demo's start")
    clock.set(start)
    demo = DemoRun(app, clock, seed=seed, engineers=engineers, start=start, end=end)
    return demo.run(progress)


def demo_start(end: datetime) -> datetime:
    return (end - timedelta(days=SPAN_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
