"""The demo data set itself: valid people, determinism, and the same story on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.numbering import check_character
from domain.personal import validate_id_number
from registry.demo import STORY_KINDS, demo_secrets, generate_people, plan_cast
from tests.cli.conftest import Cli, postgres_env, require_postgres, sqlite_env

SMALL = "60"
UNTIL = "2026-06-30"


def test_people_have_valid_unique_id_numbers_and_chinese_names() -> None:
    people = generate_people(11, 300)
    ids = [p.id_number for p in people]
    assert len(set(ids)) == 300
    for p in people:
        assert validate_id_number(p.id_number) == p.id_number
        assert p.id_number[17] == check_character(p.id_number[:17])
        assert p.id_number[6:14] == p.birth.strftime("%Y%m%d")
        assert int(p.id_number[16]) % 2 == (1 if p.male else 0)  # GB 11643 sex digit
        assert 2 <= len(p.name) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in p.name)
        assert "*" in p.masked_name
    assert generate_people(11, 300) == people
    assert generate_people(12, 300) != people


def test_cast_covers_every_story_and_is_deterministic() -> None:
    cast = plan_cast(5, 60)
    assert {e.kind.name for e in cast} == {k.name for k in STORY_KINDS}
    assert [(e.kind.name, e.start_day) for e in plan_cast(5, 60)] == [
        (e.kind.name, e.start_day) for e in cast
    ]
    with pytest.raises(ValueError):
        plan_cast(5, 10)


def _summary(cli: Cli, seed: str) -> dict[str, object]:
    data = cli.json(
        "demo", "--engineers", SMALL, "--seed", seed, "--until", UNTIL, "--quiet", "--fresh"
    )
    return data


def test_same_seed_same_registry(tmp_path: Path) -> None:
    secrets = demo_secrets(3, 60)
    first = _summary(Cli(sqlite_env(tmp_path / "a"), secrets), "3")
    second = _summary(Cli(sqlite_env(tmp_path / "b"), secrets), "3")
    keys = ("counts", "events", "refusals", "rule_events", "stories", "simulated_from")
    assert {k: first[k] for k in keys} == {k: second[k] for k in keys}
    strip = ("registration_id",)
    assert [{k: v for k, v in e.items() if k not in strip} for e in first["examples"]] == [  # type: ignore[attr-defined]
        {k: v for k, v in e.items() if k not in strip}
        for e in second["examples"]  # type: ignore[attr-defined]
    ]
    assert str(first["simulated_until"]).startswith(UNTIL)


def test_demo_rejects_bad_options(cli: Cli) -> None:
    cli.fails("demo", "--until", "2999-01-01", "--quiet", code=2, error="input.invalid")
    cli.fails("demo", "--until", "someday", "--quiet", code=2, error="input.date")
    assert cli.run("demo", "--engineers", "5", code=2).exit_code == 2  # below the minimum


@pytest.mark.postgres
def test_demo_on_postgres(postgres_schema: str, tmp_path: Path) -> None:
    require_postgres()
    cli = Cli(postgres_env(postgres_schema, tmp_path), demo_secrets(4, 60))
    data = cli.json("demo", "--engineers", SMALL, "--seed", "4", "--quiet")
    assert data["store"].startswith("PostgreSQL")
    assert data["engineers"] == 60 and data["events"] > 300
    example = next(e for e in data["examples"] if e["status_now"] != "active")
    then = cli.json("status", example["number"], "--as-of", example["active_on"])
    assert then["status"] == "active"
    assert cli.json("status", example["number"])["status"] == example["status_now"]
    again = cli.json("demo", "--engineers", SMALL, "--seed", "4", "--quiet", "--fresh")
    assert again["counts"] == data["counts"]
