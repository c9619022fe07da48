"""`facts` and `changes` are typed in OpenAPI (issue 11), while the domain keeps the rules.

The edge models document every fact's properties and check JSON types only; what is
required, allowed values and dates stay the domain's to check, so a bad fact is still
refused with the domain's `input.invalid` code and message. The route hands the domain
the keys and values that were sent: unknown keys (which the domain ignores) are kept and
omitted optional fields are not invented.
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.reasons import AMENDABLE
from tests.api.conftest import Api
from tests.builders import approved, person, sie_facts
from verify_api.models import ApplicationFactsIn, FactChangesIn


def _schema(api: Api) -> dict[str, Any]:
    body: dict[str, Any] = api.client.get("/openapi.json").json()
    return body


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a $ref (possibly behind anyOf with null) to its component schema."""
    if "anyOf" in node:
        (node,) = [n for n in node["anyOf"] if n.get("type") != "null"]
    ref = node["$ref"].rsplit("/", 1)[-1]
    component: dict[str, Any] = schema["components"]["schemas"][ref]
    return component


def _body(schema: dict[str, Any], path: str) -> dict[str, Any]:
    content = schema["paths"][path]["post"]["requestBody"]["content"]
    return _resolve(schema, content["application/json"]["schema"])


def test_openapi_documents_the_facts_of_an_application(sqlite_api: Api) -> None:
    schema = _schema(sqlite_api)
    facts = _resolve(schema, _body(schema, "/api/v1/registrations")["properties"]["facts"])
    props = facts["properties"]
    assert {"education", "certificates", "projects", "employer", "work_years"} <= set(props)
    assert {"independent_work_years", "achievements", "skills", "region"} <= set(props)
    assert {"ce_hours_last_year", "ethics_clean"} <= set(props)
    education = _resolve(schema, props["education"]["items"])
    assert set(education["properties"]) == {"level", "institution", "major", "graduated"}
    assert education["required"] == ["level", "institution", "major", "graduated"]
    assert "bachelor" in education["properties"]["level"]["enum"]
    assert education["properties"]["graduated"]["format"] == "date"
    assert "default" not in education["properties"]["level"]
    certificate = _resolve(schema, props["certificates"]["items"])
    assert set(certificate["required"]) == {"kind", "name", "issued"}
    assert "pmp" in certificate["properties"]["kind"]["enum"]
    project = _resolve(schema, props["projects"]["items"])
    assert {"name", "start", "end", "role", "outcome", "kind"} <= set(project["properties"])
    assert "end" not in project["required"]
    employer = _resolve(schema, props["employer"])
    assert set(employer["required"]) == {"id", "name", "job_description"}
    achievement = _resolve(schema, props["achievements"]["items"])
    assert set(achievement["properties"]) == {"title", "year"}
    assert props["work_years"]["type"] == "number"
    # The domain ignores unknown keys, and so does the edge.
    assert facts["additionalProperties"] is True
    supplement = _body(schema, "/api/v1/registrations/{registration_id}/supplement")
    assert _resolve(schema, supplement["properties"]["facts"]) == facts


def test_openapi_documents_the_amendable_facts(sqlite_api: Api) -> None:
    schema = _schema(sqlite_api)
    amend = _body(schema, "/api/v1/registrations/{registration_id}/amend")
    changes = _resolve(schema, amend["properties"]["changes"])
    assert set(changes["properties"]) == AMENDABLE
    assert changes["additionalProperties"] is False
    assert not changes.get("required")
    assert all("default" not in p for p in changes["properties"].values())
    education = _resolve(schema, changes["properties"]["education"]["items"])
    assert "graduated" in education["properties"]


def test_the_domain_receives_the_facts_as_sent() -> None:
    facts = sie_facts(unknown={"kept": [1, "a"]})
    facts["projects"][0]["note"] = "an unknown key inside an item"
    facts["projects"][0]["end"] = None
    del facts["projects"][1]["end"]
    assert ApplicationFactsIn.model_validate(facts).as_facts() == facts
    assert ApplicationFactsIn.model_validate({}).as_facts() == {}
    assert FactChangesIn.model_validate({}).as_changes() == {}
    changes = {"skills": "SAP", "employer": None}
    assert FactChangesIn.model_validate(changes).as_changes() == changes


def _apply(api: Api, facts: dict[str, Any]) -> Any:
    p = person(7)
    return api.client.post(
        "/api/v1/registrations",
        headers=api.auth("engineer"),
        json={
            "scheme": "SIE",
            "personal": {"name": p.name, "id_number": p.id_number, "phone": p.phone},
            "facts": facts,
        },
    )


def _education(**item: Any) -> dict[str, Any]:
    base = dict(sie_facts()["education"][0])
    base.update(item)
    return sie_facts(education=[{k: v for k, v in base.items() if v is not ...}])


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (_education(major=...), "major is required"),
        (_education(level="phd"), "education level must be one of"),
        (_education(graduated="July 2015"), "graduated must be an ISO date"),
        (sie_facts(work_years=-1), "work_years must be a non-negative number"),
        (sie_facts(region="4"), "region must be a two-digit"),
        (sie_facts(achievements=[{"title": "t", "year": 1900}]), "achievement year"),
    ],
)
def test_bad_facts_keep_the_domain_code_and_message(
    sqlite_api: Api, facts: dict[str, Any], message: str
) -> None:
    r = _apply(sqlite_api, facts)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "input.invalid"
    assert message in r.json()["message"]


def test_a_fact_of_the_wrong_json_type_is_refused_at_the_edge(sqlite_api: Api) -> None:
    r = _apply(sqlite_api, _education(level=3))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "request.invalid"
    assert r.json()["details"][0]["loc"][-1] == "level"


def test_an_unknown_fact_is_ignored_and_an_unknown_change_refused_by_the_domain(
    sqlite_api: Api,
) -> None:
    r = _apply(sqlite_api, sie_facts(hobby="go"))
    assert r.status_code == 201, r.text
    rid = approved(sqlite_api.registry, sqlite_api.clock, 1).registration_id
    r = sqlite_api.client.post(
        f"/api/v1/registrations/{rid}/amend",
        json={"changes": {"work_years": 9}},
        headers=sqlite_api.auth("engineer"),
    )
    assert r.status_code == 422, r.text
    assert r.json() == {"code": "input.invalid", "message": "cannot amend work_years"}
    r = sqlite_api.client.post(
        f"/api/v1/registrations/{rid}/amend",
        json={"changes": {"skills": "Kubernetes 运维"}},
        headers=sqlite_api.auth("engineer"),
    )
    assert r.status_code == 200, r.text
    got = sqlite_api.client.get(f"/api/v1/registrations/{rid}", headers=sqlite_api.auth("engineer"))
    assert got.json()["facts"]["skills"] == "Kubernetes 运维"
