"""Every use case through the CLI on a fresh store: lifecycle, refusals, bad input, privacy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domain.numbering import format_number
from registry.samples import required_evidence
from tests.builders import EMPLOYER_ID, id_number, iet_facts, sie_facts
from tests.cli.conftest import Cli

ID_NUMBER = id_number(901)
PHONE = "13912345678"
EMAIL = "zhang.xiaosan@mail.example.cn"
ADDRESS = "广东省深圳市南山区科技园南路88号"


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def application(tmp_path: Path, scheme: str = "SIE", n: int = 901) -> Path:
    facts = sie_facts() if scheme == "SIE" else iet_facts()
    personal = {
        "name": "张小三",
        "id_number": id_number(n),
        "phone": PHONE,
        "email": EMAIL,
        "address": ADDRESS,
    }
    return write(
        tmp_path / f"apply-{scheme}-{n}.json",
        {"scheme": scheme, "personal": personal, "facts": facts},
    )


@pytest.fixture
def private_cli(cli: Cli) -> Cli:
    cli.secrets = {ID_NUMBER, id_number(902), PHONE, EMAIL, ADDRESS}
    return cli


def latest_event(cli: Cli) -> int:
    return int(cli.json("projections", "status")["latest_event"])


def materials(cli: Cli, rid: str, tmp_path: Path, *actor: str) -> None:
    """`registry evidence add` for each material required at submission."""
    for ref, content in required_evidence(7):
        path = tmp_path / ref.filename
        path.write_bytes(content)
        added = cli.json("evidence", "add", rid, str(path), "--kind", ref.kind, *actor)
        assert added["events"] == ["EvidenceAttached"]


def test_init_prints_where(private_cli: Cli) -> None:
    out = private_cli.run("init").stdout
    assert "registry.sqlite" in out and "SIE" in out and "IET" in out
    data = private_cli.json("init")
    assert {s["code"] for s in data["schemes"]} == {"SIE", "IET"}
    assert data["store"].startswith("SQLite")


def test_sie_lifecycle(private_cli: Cli, tmp_path: Path) -> None:
    cli = private_cli
    drafted = cli.json("apply", str(application(tmp_path)), "--as", "eng-901", "--role", "engineer")
    rid = drafted["registration_id"]
    assert drafted["status"] == "draft" and drafted["masked_name"] == "张*三"
    materials(cli, rid, tmp_path, "--as", "eng-901", "--role", "engineer")
    assert cli.json("submit", rid, "--as", "eng-901", "--role", "engineer")["status"] == "submitted"
    assert cli.json("review", "start", rid, "--as", "rev-1", "--role", "reviewer")["events"] == [
        "ReviewStarted"
    ]
    returned = cli.json(
        "return",
        rid,
        "--reason",
        "project.no_implementation",
        "-r",
        "skills.vague",
        "--note",
        "请补充实施环节",
    )
    assert returned["status"] == "returned_for_supplement"
    facts = write(tmp_path / "facts.json", {"facts": sie_facts(skills="Linux 部署、数据迁移")})
    assert cli.json("supplement", rid, "--facts", str(facts))["status"] == "under_review"
    assert cli.json("further-verification", rid, "--reason", "学信网核验")["status"] == (
        "further_verification"
    )
    approved = cli.json("approve", rid, "--idempotency-key", "approve-901")
    number = approved["number"]
    assert approved["status"] == "active" and number.startswith("SIE-44-")
    again = cli.json("approve", rid, "--idempotency-key", "approve-901")
    assert again["replayed"] is True and again["number"] == number
    assert cli.json("ce", number, "--hours", "24", "--provider", "省继续教育平台")["events"] == [
        "ContinuingEducationRecorded"
    ]
    changes = write(
        tmp_path / "changes.json",
        {"employer": {"id": "emp-new", "name": "深圳新公司", "job_description": "实施顾问"}},
    )
    moved = cli.json("amend", number, "--changes", str(changes), "--as", "eng-901")
    assert moved["status"] == "under_review" and moved["events"] == ["EmployerChangeRequested"]
    # bound to the old employer until the new one endorses and the registrar approves
    claims = cli.json("employer-change", "claims", "emp-new")
    assert [c["number"] for c in claims] == [number] and claims[0]["employer_id"] == EMPLOYER_ID
    cli.fails("approve", number, code=1, error="registration.invalid_transition")
    cli.fails("employer-change", "endorse", number, code=2, error="input.actor_required")
    cli.fails(
        "employer-change",
        "endorse",
        number,
        "--as",
        EMPLOYER_ID,
        code=1,
        error="actor.not_permitted",
    )
    endorsed = cli.json("employer-change", "endorse", number, "--as", "emp-new")
    assert endorsed["events"] == ["EmployerChangeEndorsed"]
    assert cli.json("employer-change", "approve", number)["events"] == ["EmployerChangeApproved"]
    assert cli.json("employer-change", "claims", "emp-new") == []
    assert cli.json("search", "--employer", "emp-new")[0]["number"] == number
    asked = cli.json(
        "employer-change",
        "request",
        number,
        "--employer-id",
        "emp-3",
        "--employer-name",
        "第三公司",
        "--job",
        "实施",
    )
    assert asked["events"] == ["EmployerChangeRequested"]
    declined = cli.json(
        "employer-change", "decline", number, "--role", "registrar", "--reason", "材料不实"
    )
    assert declined["status"] == "active" and declined["events"] == ["EmployerChangeDeclined"]
    assert cli.json("suspend", number, "--reason-code", "investigation")["status"] == "suspended"
    assert cli.json("reinstate", number, "--reason", "调查结束")["status"] == "active"
    revoked = cli.json("revoke", number, "--reason-code", "fraud", "--reason", "伪造材料")
    assert revoked["events"] == ["Revoked", "DishonestyListed"]
    assert [e["number"] for e in cli.json("dishonesty-list")] == [number]
    assert cli.json("dishonesty", "lift", number, "--reason", "信用修复")["events"] == [
        "DishonestyLifted"
    ]
    assert cli.json("dishonesty", "add", number, "--reason", "再次核实")["events"] == [
        "DishonestyListed"
    ]
    status = cli.json("status", number)
    assert status["status"] == "revoked" and status["permitted_to_practise"] is False
    human = cli.run("status", number).stdout
    assert "NOT PERMITTED TO PRACTISE" in human and "张*三" in human
    erased = cli.json("erase", number, "--yes")
    assert erased["events"] == ["PersonalDataErased"] and erased["masked_name"] == "(erased)"
    assert cli.json("show", number)["masked_name"] is None


def test_iet_employer_expert_and_assessment(private_cli: Cli, tmp_path: Path) -> None:
    cli = private_cli
    rid = cli.json("apply", str(application(tmp_path, "IET", 902)))["registration_id"]
    materials(cli, rid, tmp_path)
    cli.json("submit", rid)
    cli.fails("endorse", rid, code=2, error="input.actor_required")
    cli.fails("endorse", rid, "--as", "someone-else", code=1, error="actor.not_permitted")
    assert cli.json("endorse", rid, "--as", EMPLOYER_ID)["status"] == "employer_endorsed"
    cli.json("review", "start", rid)
    cli.fails("approve", rid, code=1, error="registration.invalid_transition")
    cli.json("score", rid, "82", "--method", "defence")
    number = cli.json("approve", rid)["number"]
    assert number.startswith("IET-44-")
    year = str(int(cli.json("status", number)["on"][:4]))
    assessed = cli.json("assess", number, "--year", year, "--failed", "--note", "不合格")
    assert assessed["events"] == ["AnnualAssessmentRecorded", "Suspended"]
    assert cli.json("status", number)["reason_code"] == "assessment.failed"
    result = cli.json("supervise", "--quiet")
    assert result["checked"] == 1


def test_decline_and_withdraw(private_cli: Cli, tmp_path: Path) -> None:
    cli = private_cli
    rid = cli.json("apply", str(application(tmp_path, "IET", 902)))["registration_id"]
    materials(cli, rid, tmp_path)
    cli.json("submit", rid)
    declined = cli.json("decline", rid, "--as", EMPLOYER_ID, "--reason", "不予确认")
    assert declined["status"] == "returned_for_supplement"
    assert cli.json("withdraw", rid, "--reason", "撤回")["status"] == "withdrawn"
    cli.fails("reject", rid, "--reason", "x", code=1, error="registration.invalid_transition")


def test_bad_input_is_one_clear_line_and_writes_nothing(private_cli: Cli, tmp_path: Path) -> None:
    cli = private_cli
    rid = cli.json("apply", str(application(tmp_path)))["registration_id"]
    before = latest_event(cli)
    unknown = format_number("SIE", "44", 2025, 4242)
    cases: list[tuple[list[str], int, str]] = [
        (["status", "SIE-44-2025-0000001", "--as-of", "2025-02-30"], 2, "input.date"),
        (["status", "not-a-number"], 2, "registration_number.malformed"),
        (["status", "SIE-44-2025-0042420"], 2, "registration_number.malformed"),
        (["status", unknown], 2, "registration.not_found"),
        (["submit", unknown], 2, "registration.not_found"),
        (["submit", "00000000-0000-0000-0000-000000000000"], 2, "registration.not_found"),
        (["apply", str(tmp_path / "missing.json")], 2, "input.file"),
        (["apply", str(write_text(tmp_path / "bad.json", "{not json"))], 2, "input.json"),
        (["apply", str(write(tmp_path / "list.json", [1, 2]))], 2, "input.json"),
        (["apply", str(write(tmp_path / "noscheme.json", {"facts": {}}))], 2, "input.invalid"),
        (
            [
                "apply",
                str(
                    write(
                        tmp_path / "badid.json",
                        {
                            "scheme": "SIE",
                            "facts": sie_facts(),
                            "personal": {"name": "李四", "id_number": "440305199001011234"},
                        },
                    )
                ),
            ],
            2,
            "input.invalid",
        ),
        (["apply", str(application(tmp_path))], 1, "registration.duplicate"),
        (["approve", rid], 1, "registration.invalid_transition"),
        (["return", rid, "--reason", "bogus.code"], 1, "registration.invalid_transition"),
        (["ce", rid, "--hours", "10", "--provider", "x"], 1, "registration.invalid_transition"),
        (["suspend", rid, "--reason-code", "because"], 2, "input.invalid"),
        (["submit", rid, "--as", "stranger", "--role", "engineer"], 1, "actor.not_permitted"),
        (["submit", rid, "--expected-version", "7"], 1, "registration.conflict"),
        (["erase", rid], 2, "input.confirmation_required"),
        (["eligible-for-title", "--on", "tomorrow"], 2, "input.date"),
    ]
    for args, code, error in cases:
        result = cli.fails(*args, code=code, error=error)
        assert len(result.stderr.strip().splitlines()) >= 1
        assert [line for line in result.stderr.splitlines() if line.startswith("error")] == [
            result.stderr.strip().splitlines()[-1]
        ]
    assert latest_event(cli) == before
    as_json = cli.run("status", unknown, "--json", code=2)
    error = json.loads(as_json.stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == "registration.not_found" and as_json.stdout == ""


def write_text(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def test_ineligible_lists_every_unmet_condition(private_cli: Cli, tmp_path: Path) -> None:
    cli = private_cli
    facts = iet_facts(work_years=1, independent_work_years=0, ce_hours_last_year=10)
    path = write(
        tmp_path / "weak.json",
        {"scheme": "IET", "facts": facts, "personal": {"name": "王五", "id_number": ID_NUMBER}},
    )
    rid = cli.json("apply", str(path))["registration_id"]
    result = cli.fails("submit", rid, code=1, error="registration.ineligible")
    for code in ("experience.work_years", "experience.independent_years", "ce.hours"):
        assert code in result.stderr
    # The missing materials are named too: no ID copy, photo, CHSI report, phone or e-mail.
    for code in ("id_document", "photo", "chsi_report", "contact"):
        assert f"materials.{code}" in result.stderr


def test_evidence_add_sniffs_the_type_and_refuses_other_files(
    private_cli: Cli, tmp_path: Path
) -> None:
    cli = private_cli
    rid = cli.json("apply", str(application(tmp_path)))["registration_id"]
    fake = write_text(tmp_path / "photo.png", "not an image at all")
    cli.fails(
        "evidence", "add", rid, str(fake), "--kind", "photo", code=2, error="evidence.invalid"
    )
    cli.fails("evidence", "add", rid, str(fake), "--kind", "selfie", code=2, error="input.invalid")
    materials(cli, rid, tmp_path)
    shown = cli.json("show", rid)
    assert shown["status"] == "draft"
    assert cli.json("submit", rid)["status"] == "submitted"


def test_help_lists_the_commands(cli: Cli) -> None:
    out = cli.run("--help").stdout
    for command in (
        "init",
        "demo",
        "apply",
        "endorse",
        "review",
        "approve",
        "revoke",
        "dishonesty",
        "supervise",
        "status",
        "search",
        "queue",
        "stats",
        "projections",
        "eligible-for-title",
        "dishonesty-list",
    ):
        assert command in out
