"""Deterministic sample people and application facts, shared by tests, benchmarks and the demo.

One home for data builders that were written twice (``tests/builders.py`` and
``bench/writes.py``): valid resident ID numbers, personal data and the facts of a complete
SIE or IET application. It lives in the `registry` package rather than under `tests/`
because the benchmarks and the demo ship with the registry and must not import the test
suite; it imports only the domain, and no production module imports it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from domain.evidence import EvidenceRef
from domain.numbering import check_character
from domain.personal import PersonalData

EMPLOYER_ID = "emp-91440300"

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"


def resident_id_number(area: str, birth: date, sequence: int) -> str:
    """An 18-character resident ID number with a valid ISO 7064 MOD 11-2 check character."""
    body = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


def id_number(n: int, birth: str = "19900101", region: str = "440305") -> str:
    """A valid 18-character resident ID number, distinct for each n < 1000 (and birth)."""
    body = f"{region}{birth}{n % 1000:03d}"
    return body + check_character(body)


def serial_id_number(n: int) -> str:
    """A valid, distinct ID number for every n < 8,000,000 (one birth day per thousand)."""
    return resident_id_number("440305", date(1965, 1, 1) + timedelta(days=n // 1000), n % 1000)


def person(n: int, name: str = "张小三") -> PersonalData:
    """Personal data with a distinct ID number for each n < 20,000."""
    return PersonalData(
        name=name,
        id_number=id_number(n, birth=f"{1980 + n // 1000 % 20}0101"),
        phone="13800138000",
        email=f"eng{n}@example.cn",
        address="深圳市南山区",
    )


def varied_person(n: int) -> PersonalData:
    """Personal data with a varied name and a distinct ID number for every n < 8,000,000."""
    name = _SURNAMES[n % 20] + _GIVEN[(n // 20) % 20] + (_GIVEN[(n // 400) % 20] if n % 3 else "")
    return PersonalData(
        name=name,
        id_number=serial_id_number(n),
        phone="13800138000",
        email=f"eng{n}@example.cn",
        address="深圳市南山区科技园",
    )


def sie_facts(employer_id: str = EMPLOYER_ID, **overrides: Any) -> dict[str, Any]:
    """The facts of a complete SIE application that the scheme's rules accept."""
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
    """The facts of a complete IET application (SIE's plus achievements and CE hours)."""
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


def required_evidence(n: int) -> list[tuple[EvidenceRef, bytes]]:
    """Small, distinct files of the kinds the default policies require at submission:
    ID-card copy and photo (PNG) and the CHSI degree report (PDF), each with its reference."""
    files = [
        ("id_document", f"id-{n}.png", b"\x89PNG\r\n\x1a\n" + f"id card {n}".encode()),
        ("photo", f"photo-{n}.png", b"\x89PNG\r\n\x1a\n" + f"photo {n}".encode()),
        ("chsi_report", f"chsi-{n}.pdf", b"%PDF-1.4\n" + f"chsi report {n}".encode()),
    ]
    return [(EvidenceRef.of(content, kind, name), content) for kind, name, content in files]
