"""Times a person reads are local times with the zone, and dates local calendar dates
(issue 11 "Time", SPEC §12): on the verification page and in the tender report's PDF and CSV.

The suspension lands at 2024-05-31 18:00 UTC, which is 2024-06-01 02:00 in Beijing: a page
or report still in UTC would say 31 May.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from registry.application import Suspend
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from tests.api.conftest import Api, make_api
from tests.builders import REGISTRAR, approved

LATE_EVENING_UTC = datetime(2024, 5, 31, 18, 0, tzinfo=UTC)  # 2024-06-01 02:00 in Beijing


def _api(tmp_path: Path, clock: SimulatedClock, timezone: str) -> Iterator[Api]:
    settings = Settings(
        sqlite_path=tmp_path / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
        timezone=timezone,
    )
    made, registry = make_api(settings, clock, tmp_path)
    with made.client:
        yield made
    registry.close()


@pytest.fixture
def beijing(tmp_path: Path, clock: SimulatedClock) -> Iterator[Api]:
    yield from _api(tmp_path, clock, "Asia/Shanghai")


@pytest.fixture
def new_york(tmp_path: Path, clock: SimulatedClock) -> Iterator[Api]:
    yield from _api(tmp_path, clock, "America/New_York")


def _suspended_late_evening_utc(api: Api) -> tuple[str, dict[str, object]]:
    result = approved(api.registry, api.clock, 1)
    cert = api.issue(result.registration_id)
    api.clock.set(LATE_EVENING_UTC)
    api.registry.handle(Suspend(result.registration_id, "investigation", "complaint"), REGISTRAR)
    return result.number or "", cert


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_verification_page_shows_local_time_with_zone_and_local_dates(
    beijing: Api, lang: str
) -> None:
    _, cert = _suspended_late_evening_utc(beijing)
    page = beijing.client.get("/v", params={"c": cert["credential"], "lang": lang})
    assert page.status_code == 200
    assert 'data-headline="not_valid_now"' in page.text
    checked = re.findall(r'class="checked-at">([^<]*)<', page.text)
    assert checked == ["2024-06-01 02:00 (Asia/Shanghai)"]
    assert re.findall(r'id="since">([^<]*)<', page.text) == ["2024-06-01"]
    explain = re.search(r'id="explain">([^<]*)<', page.text)
    assert explain is not None and "2024-06-01" in explain.group(1)
    assert "2024-05-31" not in page.text and "UTC" not in page.text


def test_credential_validity_is_the_local_last_day_in_any_zone(new_york: Api) -> None:
    """West of UTC the credential's `exp` (the first local instant after validity) falls on
    the next UTC day; the page still shows the registration's last valid local day."""
    result = approved(new_york.registry, new_york.clock, 1)
    cert = new_york.issue(result.registration_id)
    valid_until = new_york.registry.get(result.registration_id).valid_until
    assert valid_until is not None
    page = new_york.client.get("/v", params={"c": cert["credential"], "lang": "en"})
    assert 'data-headline="valid"' in page.text
    assert re.findall(r'id="credential-until">([^<]*)<', page.text) == [valid_until.isoformat()]
    checked = re.findall(r'class="checked-at">([^<]*)<', page.text)
    assert len(checked) == 1 and checked[0].endswith("(America/New_York)")


def test_tender_report_pdf_and_csv_show_local_time_and_local_dates(beijing: Api) -> None:
    number, _ = _suspended_late_evening_utc(beijing)
    r = beijing.client.post(
        "/api/v1/bulk-check?format=json",
        json={"items": [number], "as_of": "2024-06-01"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["timezone"] == "Asia/Shanghai"
    assert report["checked_at"].startswith("2024-05-31T18:00")  # instants stay UTC in JSON
    report_id = report["report_id"]

    pdf = beijing.client.get(f"/api/v1/bulk-check/{report_id}?format=pdf")
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Checked at (Asia/Shanghai): 2024-06-01 02:00" in text
    assert "(UTC)" not in text

    body = beijing.client.get(f"/api/v1/bulk-check/{report_id}?format=csv")
    assert body.status_code == 200
    lines = body.content.decode("utf-8-sig").splitlines()
    assert "# timezone: Asia/Shanghai" in lines
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert len(rows) == 1
    assert rows[0]["since_on_date"] == "2024-06-01"
    assert rows[0]["since_now"] == "2024-06-01"
    assert rows[0]["status_on_date"] == "suspended"
