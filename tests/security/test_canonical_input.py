"""Values with no canonical JSON form never reach the log (issue 9, item 2 and low items).

One request with ``NaN`` in its facts used to be accepted (201), written to the append-only
log, and from then on break `audit checkpoint`, `audit export` and every audit endpoint.
Here such values, lone surrogates, and NUL or bidi-override characters in names are sent to
the real server as raw JSON text: each is refused with a 4xx JSON error, nothing is appended,
and the audit chain still checkpoints, exports and verifies. A property test then throws
arbitrary JSON-ish values at every command through the application service.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from registry.application import Amend, Apply, RecordCe, Reinstate, Suspend
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.audit.canonical import canonical_json, event_object
from registry.bootstrap import open_app
from tests.builders import REGISTRAR, approved, engineer, id_number, person, sie_facts
from tests.security.conftest import Live

NAN_FACTS = json.dumps(sie_facts()).replace('"work_years": 6', '"work_years": NaN')


def _apply_body(facts_json: str, name: str = "\\u5f20\\u4e09", n: int = 501) -> str:
    personal = f'{{"name": "{name}", "id_number": "{id_number(n)}"}}'
    return f'{{"scheme": "SIE", "personal": {personal}, "facts": {facts_json}}}'


def _facts_with(key: str, raw_value: str) -> str:
    facts = sie_facts()
    facts[key] = "__PLACEHOLDER__"
    return json.dumps(facts).replace('"__PLACEHOLDER__"', raw_value)


ATTACKS: list[tuple[str, str, str]] = [
    # (what, path suffix, raw JSON body)
    ("NaN in facts", "", _apply_body(_facts_with("work_years", "NaN"))),
    ("Infinity in facts", "", _apply_body(_facts_with("work_years", "Infinity"))),
    ("-Infinity in facts", "", _apply_body(_facts_with("ce_hours_last_year", "-Infinity"))),
    ("1e999 overflows to inf", "", _apply_body(_facts_with("work_years", "1e999"))),
    ("NaN nested in an unknown fact", "", _apply_body(_facts_with("extra", '{"a": [NaN]}'))),
    ("lone surrogate in facts", "", _apply_body(_facts_with("skills", '"SAP \\ud800"'))),
    ("lone surrogate as a key", "", _apply_body(_facts_with("x", '{"\\udfff": 1}'))),
    ("lone surrogate in the name", "", _apply_body(json.dumps(sie_facts()), "\\ud83d")),
    ("NUL in the name", "", _apply_body(json.dumps(sie_facts()), "\\u5f20\\u0000\\u4e09")),
    ("bidi override in the name", "", _apply_body(json.dumps(sie_facts()), "\\u202e\\u5f20")),
    ("bidi isolate in the name", "", _apply_body(json.dumps(sie_facts()), "A\\u2067B")),
    ("NaN CE hours", "/ce", '{"hours": NaN, "provider": "p"}'),
    ("Infinity CE hours", "/ce", '{"hours": Infinity, "provider": "p"}'),
    ("lone surrogate CE provider", "/ce", '{"hours": 8, "provider": "\\udc00"}'),
    ("NaN in an amendment", "/amend", '{"changes": {"work_years": NaN}}'),
    ("lone surrogate in a reason", "/suspend", '{"reason_code": "other", "reason": "\\ud800"}'),
]


def _cli(live: Live, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **live.env}
    env.update(
        REGISTRY_SETTINGS=str(live.settings.sqlite_path.parent / "none.toml"),
        REGISTRY_SQLITE_PATH=str(live.settings.sqlite_path),
        REGISTRY_KEYS_DIR=str(live.settings.keys_dir),
    )
    return subprocess.run(
        [sys.executable, "-c", "from registry.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _audit_chain_passes(live: Live, tmp: Path) -> None:
    for args in (
        ("audit", "checkpoint", "--out", str(tmp / "cp.json")),
        ("audit", "export", "--out", str(tmp / "history.jsonl")),
        ("keys", "export-public", "--format", "jwks", "--output", str(tmp / "jwks.json")),
    ):
        done = _cli(live, *args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
    verified = _cli(
        live,
        "audit",
        "verify",
        str(tmp / "history.jsonl"),
        "--checkpoint",
        str(tmp / "cp.json"),
        "--trust-list",
        str(tmp / "jwks.json"),
        "--json",
    )
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]


def test_values_without_canonical_form_are_refused_and_the_audit_chain_survives(
    live: Live, attacker: httpx.Client, tmp_path: Path
) -> None:
    app = live.open_app()
    try:
        before = app.recorder.max_notification_id()
    finally:
        app.close()
    refused = []
    for what, suffix, body in ATTACKS:
        target = live.ids["active"] if suffix in {"/ce", "/amend", "/suspend"} else None
        url = f"{live.url}/api/v1/registrations"
        if target:
            url += f"/{target}{suffix}"
        role = "registrar" if suffix == "/suspend" else "engineer"
        r = attacker.post(
            url,
            content=body.encode(),
            headers={**live.auth(role), "Content-Type": "application/json"},
        )
        assert 400 <= r.status_code < 500, (what, r.status_code, r.text)
        problem = r.json()
        assert set(problem) >= {"code", "message"}, what
        refused.append(what)
    assert len(refused) == len(ATTACKS)
    app = live.open_app()
    try:
        assert app.recorder.max_notification_id() == before  # nothing was appended
    finally:
        app.close()
    _audit_chain_passes(live, tmp_path)


# ------------------------------------------------------------------ the property

NASTY_TEXT = st.sampled_from(["\ud800", "a\udfffb", "\x00", "\u202e", "ok", "", "<b>&</b>"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | NASTY_TEXT
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5) | NASTY_TEXT, inner, max_size=3)
    ),
    max_leaves=8,
)
FACT_KEYS = st.sampled_from(
    ["work_years", "skills", "employer", "projects", "region", "extra", "ce_hours_last_year"]
)


def _every_event_is_canonical(app: RegistryApp) -> None:
    for n in app.recorder.select_notifications(1, 1_000_000):
        canonical_json(
            event_object(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
        )


@pytest.mark.parametrize("store", ["sqlite"])
def test_arbitrary_values_to_every_command_are_refused_or_leave_the_log_canonical(
    store: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    settings_ = Settings(
        sqlite_path=tmp_path / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
    )
    clock = SimulatedClock(datetime(2024, 3, 1, 9, tzinfo=UTC))
    app = open_app(settings_, clock=clock)
    active = approved(app, clock, 1).registration_id
    counter = iter(range(100, 100_000))
    outcomes = {"accepted": 0, "refused": 0}

    def attempt(call: Any) -> None:
        try:
            call()
        except DomainError:
            outcomes["refused"] += 1
        else:
            outcomes["accepted"] += 1

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(key=FACT_KEYS, value=JSONISH, text=JSONISH, hours=SCALARS)
    def every_command(key: str, value: Any, text: Any, hours: Any) -> None:
        n = next(counter)
        facts = {**sie_facts(), key: value}
        name = text if isinstance(text, str) and text.strip() else "张三"
        attempt(lambda: app.handle(Apply("SIE", person(n, name=name), facts), engineer(n)))
        attempt(lambda: app.handle(Amend(active, {key: value}), REGISTRAR))
        attempt(lambda: app.handle(RecordCe(active, hours, str(text), str(value)), REGISTRAR))
        attempt(lambda: app.handle(Suspend(active, "other", str(text)), REGISTRAR))
        attempt(lambda: app.handle(Reinstate(active, str(value)), REGISTRAR))
        _every_event_is_canonical(app)

    try:
        every_command()
    finally:
        app.close()
    assert outcomes["accepted"] > 0 and outcomes["refused"] > 0, outcomes
