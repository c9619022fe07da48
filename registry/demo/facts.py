"""Application facts (education, projects, certificates, employer) for a demo engineer.

Drawn from the reference data with the engineer's own random stream, so a story's facts
depend only on the seed and the day they are filed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from registry.demo.cast import DemoEngineer
from registry.demo.reference import (
    ACHIEVEMENTS,
    CERTIFICATES,
    COLLEGES,
    DESIGN_ONLY_OUTCOME,
    IMPLEMENTATION_OUTCOME,
    MAJORS,
    PROJECTS,
    ROLES,
    UNIVERSITIES,
)


def application_facts(
    e: DemoEngineer,
    applied: date,
    *,
    scheme: str,
    student: bool = False,
    design_only: bool = False,
    no_implementation: bool = False,
    title_route: bool = False,
) -> dict[str, Any]:
    """Application facts as of `applied` (today on the simulated clock)."""
    rng = e.rng
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
