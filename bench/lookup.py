"""Status and as-of-date lookup latency on a PostgreSQL store of 1,000,000 registrations.

Data generator: the projection tables (`proj_registration`, `proj_history`) are written
**directly in bulk with COPY**, not by replaying events — replaying a million registrations
through the commands would take hours and measure the writes again, not the lookups. The
rows have the shapes the projector writes: ~90 % numbered (active, some lapsed, suspended,
reinstated, revoked, a few on the dishonesty list), the rest still in review; each
registration has its history rows (drafted, submitted, under review, approved, then CE
renewals, suspensions, reinstatements, revocations): about 4.7 history rows per
registration. `--quick` uses 100,000 registrations and says so in the figure.

Measured: `RegistryProjections.by_number` and `RegistryProjections.status_as_of` (random
numbers, random dates 2019–2026), single client, through the registry's own connection
pool. Baseline: the same row fetched by number with a prepared statement on one raw
psycopg connection — the round-trip floor of an indexed lookup. The plans are checked with
EXPLAIN and reported (index scans on `proj_registration.number` and the history primary key).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from bench.framework import BenchContext, Figure, Target, latency_summary, tracked
from domain.clock import add_years
from domain.numbering import format_number
from projections.fold import HISTORY_COLUMNS, RegState
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.bootstrap import open_app, open_projections

EPOCH = datetime(2019, 1, 1, 9, 0, tzinfo=UTC)
REGIONS = ("44", "11", "31", "32", "33", "35", "37", "42", "43", "51")
_NULL = "\\N"


_DAYS: dict[int, str] = {}


def _ts(moment: datetime) -> str:
    """`projections.fold.ts` for whole-second UTC times, with the date part cached (the
    generator formats ~5 timestamps per registration; isoformat was its main cost)."""
    ordinal = moment.toordinal()
    day = _DAYS.get(ordinal)
    if day is None:
        day = _DAYS[ordinal] = date.fromordinal(ordinal).isoformat()
    return f"{day}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.000000+00:00"


def _text(value: Any) -> str:
    if value is None:
        return _NULL
    return str(value)


def generate(count: int, seed: int = 11) -> Iterator[tuple[RegState, list[tuple[Any, ...]]]]:
    """`count` registrations as (current row, history rows), deterministic for a seed."""
    rng = random.Random(seed)
    sequences: dict[tuple[str, str, int], int] = {}
    for n in range(count):
        iet = rng.random() < 0.2
        scheme, prefix = ("IET", "IET") if iet else ("SIE", "SIE")
        validity = 3 if iet else 2
        region = REGIONS[n % len(REGIONS)]
        created = EPOCH + timedelta(minutes=n * 3 + rng.randint(0, 2))
        rid = str(uuid.UUID(int=(seed << 64) + n))
        employer = f"emp-{9144030000 + rng.randint(0, 20_000)}"
        state = RegState(
            registration_id=rid,
            scheme=scheme,
            created_at=_ts(created),
            review_days=7 if not iet else 20,
            fv_days=15,
            validity_years=validity,
            title_years=None if iet else 2,
            ce_renews=0 if iet else 1,
            ce_annual=1 if iet else 0,
            subject_id=str(uuid.UUID(int=(seed << 96) + n)),
            status_since=_ts(created),
            employer_id=employer,
            employer_name="某软件有限公司",
            region=region,
            masked_name="张*三" if n % 2 else "李*",
            updated_at=_ts(created),
        )
        history: list[tuple[Any, ...]] = []

        def move(
            at: datetime,
            status: str,
            reason: str,
            state: RegState = state,
            history: list[tuple[Any, ...]] = history,
        ) -> None:
            state.status, state.status_reason, state.status_since = status, reason, _ts(at)
            state.updated_at = _ts(at)
            state.version += 1
            state.history_seq += 1
            history.append(
                (
                    state.registration_id,
                    state.history_seq,
                    _ts(at),
                    state.status,
                    state.status_reason,
                    state.status_since,
                    state.valid_until,
                    int(state.number is not None),
                    state.employer_id,
                    state.employer_name,
                    state.dishonest,
                    state.run_start,
                )
            )

        state.version = 0
        move(created, "draft", "drafted")
        submitted = created + timedelta(hours=rng.randint(1, 72))
        state.submitted_at = _ts(submitted)
        move(submitted, "submitted", "submitted")
        reviewed = submitted + timedelta(days=rng.randint(1, 3))
        move(reviewed, "under_review", "review.started")
        roll = rng.random()
        if roll < 0.1:  # still in review (or returned): no number yet
            if roll < 0.03:
                move(reviewed + timedelta(days=2), "returned_for_supplement", "vague_skills")
            yield state, history
            continue
        approved = reviewed + timedelta(days=rng.randint(2, 6))
        year = approved.year
        key = (prefix, region, year)
        sequences[key] = sequences.get(key, 0) + 1
        state.number = format_number(prefix, region, year, sequences[key])
        state.approved_at = _ts(approved)
        state.decision_seq = 1
        valid_until = add_years(approved.date(), validity)
        state.valid_until = valid_until.isoformat()
        state.run_start = _ts(approved)
        state.certificate_serial = f"C{approved:%Y%m%d}-{n:08d}"
        move(approved, "active", "approved")
        at = approved
        roll = rng.random()
        if roll < 0.55:  # CE recorded in time: validity renewed (once or twice)
            for _ in range(rng.randint(1, 2)):
                at = at + timedelta(days=rng.randint(200, 600))
                valid_until = add_years(valid_until, validity)
                state.valid_until = valid_until.isoformat()
                move(at, "active", "ce.renewed")
        elif roll < 0.65:  # suspended; half reinstated
            at = at + timedelta(days=rng.randint(60, 500))
            state.first_bad_at = _ts(at)
            move(at, "suspended", "ce.missing_consecutive_years")
            state.run_start = None
            if rng.random() < 0.5:
                at = at + timedelta(days=rng.randint(20, 120))
                state.reinstated_at = _ts(at)
                state.run_start = _ts(at)
                move(at, "active", "reinstated")
        elif roll < 0.67:  # revoked, and on the dishonesty list
            at = at + timedelta(days=rng.randint(60, 500))
            state.first_bad_at = _ts(at)
            state.run_start = None
            move(at, "revoked", "fraud")
            at = at + timedelta(hours=1)
            state.dishonest, state.dishonest_since = 1, _ts(at)
            state.dishonest_reason = "forged project evidence"
            move(at, "revoked", "fraud")
        yield state, history


def load(settings: Settings, count: int, advance: Callable[[int], None]) -> list[str]:
    """Create the tables through the projections, COPY the rows in; returns the numbers."""
    app = open_app(settings, clock=SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    try:
        open_projections(app)  # creates the tables and indexes exactly as in production
    finally:
        app.close()
    columns = RegState.columns()
    numbers: list[str] = []
    dsn = settings.postgres_dsn
    with psycopg.connect(dsn, options=f"-c search_path={settings.postgres_schema}") as conn:
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")  # bulk load; the lookups are reads
            reg_lines: list[str] = []
            hist_lines: list[str] = []

            def flush() -> None:
                if reg_lines:
                    with cur.copy(
                        f"COPY proj_registration ({', '.join(columns)}) FROM STDIN"
                    ) as cp:
                        cp.write("".join(reg_lines))
                    reg_lines.clear()
                if hist_lines:
                    with cur.copy(
                        f"COPY proj_history ({', '.join(HISTORY_COLUMNS)}) FROM STDIN"
                    ) as cp:
                        cp.write("".join(hist_lines))
                    hist_lines.clear()

            done = 0
            for state, history in generate(count):
                reg_lines.append("\t".join(_text(v) for v in state.as_row()) + "\n")
                for row in history:
                    hist_lines.append("\t".join(_text(v) for v in row) + "\n")
                if state.number is not None:
                    numbers.append(state.number)
                done += 1
                if done % 20_000 == 0:
                    flush()
                    advance(20_000)
            flush()
            advance(done % 20_000)
            cur.execute("UPDATE proj_tracking SET position = 0")
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE proj_registration")
        conn.execute("ANALYZE proj_history")
    return numbers


def _plans(settings: Settings, number: str) -> dict[str, str]:
    with psycopg.connect(
        settings.postgres_dsn, options=f"-c search_path={settings.postgres_schema}"
    ) as conn:
        by_number = conn.execute(
            "EXPLAIN SELECT * FROM proj_registration WHERE number = %s", (number,)
        ).fetchall()
        rid = conn.execute(
            "SELECT registration_id FROM proj_registration WHERE number = %s", (number,)
        ).fetchone()
        history = conn.execute(
            "EXPLAIN SELECT * FROM proj_history WHERE registration_id = %s AND at <= %s "
            "ORDER BY seq DESC LIMIT 1",
            (rid[0] if rid else "", "2025-01-01"),
        ).fetchall()
    return {
        "by_number": " / ".join(str(r[0]).strip() for r in by_number),
        "history_at": " / ".join(str(r[0]).strip() for r in history),
    }


def _timed(
    samples: int, fn: Callable[[int], object], advance: Callable[[int], None]
) -> list[float]:
    out: list[float] = []
    for i in range(samples):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
        advance(1)
    return out


def run(ctx: BenchContext) -> list[Figure]:
    count = ctx.size(100_000, 1_000_000)
    samples = ctx.size(2_000, 20_000)
    rng = random.Random(5)
    with ctx.postgres_schema("lookup") as settings, ctx.progress() as progress:
        t0 = time.perf_counter()
        with tracked(progress, f"lookup: COPY {count:,} registrations", count) as advance:
            numbers = load(settings, count, advance)
        load_s = time.perf_counter() - t0
        picks = [rng.choice(numbers) for _ in range(samples)]
        days = [date(2019, 1, 1) + timedelta(days=rng.randint(0, 8 * 365)) for _ in range(samples)]
        app = open_app(settings, clock=SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC)))
        try:
            views = open_projections(app)
            today = date(2026, 1, 1)
            for i in range(200):  # warm the pool and the plan cache
                views.by_number(picks[i], today)
                views.status_as_of(picks[i], days[i])

            def by_number(i: int) -> None:
                if views.by_number(picks[i], today) is None:
                    raise RuntimeError(f"{picks[i]} not found")

            def as_of(i: int) -> None:
                if views.status_as_of(picks[i], days[i]) is None:
                    raise RuntimeError(f"{picks[i]} not found")

            with tracked(progress, "lookup: by_number", samples) as advance:
                current = latency_summary(_timed(samples, by_number, advance))
            with tracked(progress, "lookup: status_as_of", samples) as advance:
                historic = latency_summary(_timed(samples, as_of, advance))
        finally:
            app.close()
        with psycopg.connect(
            settings.postgres_dsn,
            options=f"-c search_path={settings.postgres_schema}",
            autocommit=True,
            prepare_threshold=0,
        ) as conn:
            sql = "SELECT * FROM proj_registration WHERE number = %s"
            for i in range(200):
                conn.execute(sql, (picks[i],)).fetchone()

            def raw(i: int) -> None:
                conn.execute(sql, (picks[i],)).fetchone()

            with tracked(progress, "lookup: raw psycopg baseline", samples) as advance:
                floor = latency_summary(_timed(samples, raw, advance))
        plans = _plans(settings, picks[0])
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            sizes = conn.execute(
                "SELECT pg_size_pretty(pg_total_relation_size(%s)), "
                "pg_size_pretty(pg_total_relation_size(%s)), "
                "(SELECT count(*) FROM " + settings.postgres_schema + ".proj_history)",
                (
                    f"{settings.postgres_schema}.proj_registration",
                    f"{settings.postgres_schema}.proj_history",
                ),
            ).fetchone()
    scale = f"{count:,} registrations" + (" (quick mode: not 1,000,000)" if ctx.quick else "")
    params: dict[str, Any] = {
        "registrations": count,
        "numbered": len(numbers),
        "history_rows": int(sizes[2]) if sizes else None,
        "registration_table_size": sizes[0] if sizes else None,
        "history_table_size": sizes[1] if sizes else None,
        "samples": samples,
        "copy_load_seconds": round(load_s, 1),
        "plans": plans,
        "data": "projection tables written directly with COPY (generator), not replayed",
    }
    figures: list[Figure] = []
    for label, summary, what in (
        ("by_number", current, "status lookup by number"),
        ("status_as_of", historic, "as-of-date status lookup"),
    ):
        for pct in ("p50", "p99"):
            figures.append(
                Figure(
                    name=f"lookup.{label}.{pct}",
                    title=f"{what} {pct}, {scale}, PostgreSQL",
                    unit="ms",
                    value=summary[f"{pct}_ms"],
                    baseline_title=f"raw psycopg prepared SELECT by number {pct}",
                    baseline=floor[f"{pct}_ms"],
                    higher_is_better=False,
                    target=Target("value_at_most", 10.0) if pct == "p99" else None,
                    params=dict(params, mean_ms=round(summary["mean_ms"], 3)),
                )
            )
    return figures
