"""Test data builders: valid ID numbers, facts for each scheme, whole lifecycles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.numbering import check_character
from domain.personal import PersonalData
from registry.application.clock import SimulatedClock
from registry.application.service import CommandResult, RegistryApp

REVIEWER = Actor("reviewer-1", Role.REVIEWER)
REGISTRAR = Actor("registrar-1", Role.REGISTRAR)
EMPLOYER_ID = "emp-91440300"
EMPLOYER = Actor(EMPLOYER_ID, Role.EMPLOYER)


def id_number(n: int, birth: str = "19900101", region: str = "440305") -> str:
    """A valid 18-character resident ID number, distinct for each n."""
    body = f"{region}{birth}{n % 1000:03d}"
    return body + check_character(body)


def person(n: int, name: str = "张小三") -> PersonalData:
    return PersonalData(
        name=name,
        id_number=id_number(n, birth=f"{1980 + n // 1000 % 20}0101"),
        phone="13800138000",
        email=f"eng{n}@example.cn",
        address="深圳市南山区",
    )


def engineer(n: int) -> Actor:
    return Actor(f"engineer-{n}", Role.ENGINEER)


def sie_facts(employer_id: str = EMPLOYER_ID, **overrides: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "education": [
            {
                "level": "bachelor",
                "institution": "华南理工大学",
                "major": "软件工程",
                "graduated": "2015-07-01",
            }
        ],
        "certificates": [
            {
                "kind": "ruankao_intermediate",
                "name": "系统集成项目管理工程师",
                "issued": "2018-05-20",
            }
        ],
        "projects": [
            {
                "name": "某市政务云平台实施",
                "start": "2019-03-01",
                "end": "2019-12-31",
                "role": "实施工程师",
                "outcome": "上线并培训 300 名用户",
            },
            {
                "name": "制造企业 MES 部署",
                "start": "2020-02-01",
                "end": "2020-10-31",
                "role": "实施负责人",
                "outcome": "覆盖 3 个车间",
            },
        ],
        "employer": {
            "id": employer_id,
            "name": "深圳某软件有限公司",
            "job_description": "ERP/MES 系统实施与培训",
        },
        "work_years": 6,
        "independent_work_years": 3,
        "skills": "SAP 实施, Oracle 数据库迁移",
        "region": "44",
    }
    facts.update(overrides)
    return facts


def iet_facts(employer_id: str = EMPLOYER_ID, **overrides: Any) -> dict[str, Any]:
    facts = sie_facts(employer_id)
    facts.update(
        {
            "work_years": 5,
            "independent_work_years": 2.5,
            "achievements": [{"title": "省级科技进步奖", "year": 2023}],
            "ce_hours_last_year": 96,
        }
    )
    facts.update(overrides)
    return facts


def approved(
    app: RegistryApp,
    clock: SimulatedClock,
    n: int,
    scheme: str = "SIE",
    facts: dict[str, Any] | None = None,
) -> CommandResult:
    """Take engineer n from application to approval; returns the approval result."""
    eng = engineer(n)
    if facts is None:
        facts = sie_facts() if scheme == "SIE" else iet_facts()
    rid: UUID = app.apply(eng, scheme, person(n), facts).registration_id
    clock.advance(timedelta(hours=1))
    app.submit(rid, eng)
    clock.advance(timedelta(days=1))
    if scheme == "IET":
        app.endorse(rid, EMPLOYER)
        clock.advance(timedelta(days=1))
    app.start_review(rid, REVIEWER)
    if scheme == "IET":
        app.record_expert_score(rid, REVIEWER, 78, "combined")
    clock.advance(timedelta(days=2))
    return app.approve(rid, REVIEWER)
