"""Issue 9 item 7: a projections rebuild must not give the public false answers.

The attack: keep verifying genuine credentials and looking up registrations through the
real HTTP server while an operator runs `registry projections rebuild` on the same store.
Before the fix, 10 of 110 checks read "not found" because the rebuild emptied the live
tables; now the rebuild builds shadow tables and switches atomically, so every answer
during and after the rebuild must equal the answer before it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from registry.application.clock import SimulatedClock
from registry.bootstrap import open_app, open_projections
from tests.builders import approved
from tests.projections.concurrent_reader import ContinuousReader
from tests.security.conftest import Live

_VOLATILE = ("checked_at", "checked_at_utc", "verified_at")


def _stable(body: Any) -> Any:
    """An answer without the fields that name the moment of asking."""
    if isinstance(body, dict):
        return {k: _stable(v) for k, v in body.items() if k not in _VOLATILE}
    if isinstance(body, list):
        return [_stable(v) for v in body]
    return body


def _ask(client: httpx.Client, url: str, numbers: list[str], credential: str) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for number in numbers:
        r = client.get(f"{url}/api/v1/lookup/{number}")
        answers[f"lookup {number}"] = (r.status_code, _stable(r.json()))
    r = client.post(f"{url}/api/v1/verify", json={"credential": credential})
    answers["verify"] = (r.status_code, _stable(r.json()))
    return answers


def test_public_answers_stay_right_during_a_projections_rebuild(
    live: Live, attacker: httpx.Client
) -> None:
    # More registrations on the same store, so the rebuild commits many batches.
    clock = SimulatedClock(datetime.now(UTC) - timedelta(days=30))
    writer = open_app(live.settings, clock=clock)
    try:
        extra = [approved(writer, clock, n).number for n in range(10, 40)]
    finally:
        writer.close()
    issued = attacker.post(
        f"{live.url}/api/v1/registrations/{live.ids['active']}/certificate",
        headers=live.auth("registrar"),
    )
    assert issued.status_code == 201, issued.text
    credential = issued.json()["credential"]
    numbers = [live.numbers["active"], live.numbers["suspended"], live.numbers["revoked"]]
    numbers += [n for n in extra if n is not None]

    expected = _ask(attacker, live.url, numbers, credential)
    assert expected["verify"][0] == 200 and expected["verify"][1]["headline"] == "valid"
    assert expected[f"lookup {live.numbers['suspended']}"][1]["status"] == "suspended"
    assert expected[f"lookup {live.numbers['revoked']}"][1]["status"] == "revoked"
    assert all(code == 200 for code, _ in expected.values())

    def check() -> list[str]:
        got = _ask(attacker, live.url, numbers, credential)
        reader.count(len(got))
        return [
            f"{key}: {got[key]} (expected {want})"
            for key, want in expected.items()
            if got[key] != want
        ]

    operator = open_app(live.settings)  # the operator's `registry projections rebuild`
    try:
        views = open_projections(operator)
        views.batch_size = 10
        head = operator.recorder.max_notification_id() or 0
        batches: list[int] = []
        reader = ContinuousReader(check, name="http-reader")
        with reader:

            def progress(consumed: int) -> None:
                batches.append(views.rebuild_position() or 0)
                reader.marking = True
                reader.await_rounds(1)

            rebuilt = views.rebuild(progress)
            reader.marking = False
            checks_during = reader.checks
            reader.await_rounds(2)  # the server keeps answering right after the switch
    finally:
        operator.close()

    assert reader.problems == [], f"{len(reader.problems)} wrong answers: {reader.problems[:5]}"
    assert rebuilt == head
    assert len(batches) >= 10 and reader.marked_rounds >= len(batches)
    assert sum(1 for p in batches if 0 < p < head) >= 8  # reads while the shadow was partial
    assert checks_during >= len(batches) * len(expected)
