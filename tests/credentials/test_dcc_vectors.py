"""Conformance: the EU DCC test vectors, run through `registry verify` as a user would.

Vectors are found under ``../shared/dcc-testdata`` (relative to the repo) or
``$DCC_TESTDATA_DIR``; each JSON file with TESTCTX and EXPECTEDRESULTS is one vector. We
check every EXPECTEDRESULTS key that maps to one of our steps; a key absent is not tested.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from registry.cli.root import app

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("DCC_TESTDATA_DIR") or REPO.parent / "shared" / "dcc-testdata")

# step(s) whose outcome each DCC expectation is about
MAPPING: dict[str, tuple[str, ...]] = {
    "EXPECTEDUNPREFIX": ("unprefix",),
    "EXPECTEDB45DECODE": ("base45",),
    "EXPECTEDCOMPRESSION": ("decompress",),
    "EXPECTEDDECODE": ("cose", "cwt"),
    "EXPECTEDVERIFY": ("kid", "signature"),
    "EXPECTEDEXPIRATIONCHECK": ("expiry",),
}

# Vectors of the full public set whose expectations we do not share (path suffix → why).
EXCLUDED: dict[str, str] = {}


def _vectors() -> list[Path]:
    if not DATA_DIR.is_dir():
        return []
    found = []
    for path in sorted(DATA_DIR.rglob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "TESTCTX" in data and "EXPECTEDRESULTS" in data:
            found.append(path)
    return found


VECTORS = _vectors()
SKIP_REASON = f"DCC test data not found at {DATA_DIR} (set DCC_TESTDATA_DIR)"


def _input(data: dict[str, Any]) -> str | None:
    if data.get("PREFIX"):
        return str(data["PREFIX"])
    if data.get("BASE45"):
        return "HC1:" + str(data["BASE45"])
    return None


def _agreement(data: dict[str, Any], steps: dict[str, Any]) -> list[str]:
    """Disagreements between the vector's expectations and our step results."""
    problems = []
    for key, expected in data["EXPECTEDRESULTS"].items():
        names = MAPPING.get(key)
        if names is None or not isinstance(expected, bool):
            continue
        statuses = [steps[name]["status"] for name in names]
        if key == "EXPECTEDDECODE" and expected:
            ok = statuses[0] == "VALID" and statuses[1] != "INVALID"
        elif expected:
            ok = all(s == "VALID" for s in statuses)
        else:
            ok = any(s == "INVALID" for s in statuses)
        if not ok:
            problems.append(f"{key}={expected} but {dict(zip(names, statuses, strict=True))}")
    return problems


def run_vector(path: Path, tmp_path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    data = json.loads(path.read_text("utf-8"))
    ctx = data["TESTCTX"]
    text = _input(data)
    if text is None:
        return None, []
    args = ["verify", text, "--prefix", "HC1:", "--json"]
    if ctx.get("VALIDATIONCLOCK"):
        args += ["--at", str(ctx["VALIDATIONCLOCK"])]
    if ctx.get("CERTIFICATE"):
        cert = tmp_path / f"{path.stem}.der"
        cert.write_bytes(base64.b64decode(ctx["CERTIFICATE"]))
        args += ["--trust-anchor", str(cert)]
    else:
        empty = tmp_path / "empty-jwks.json"
        empty.write_text('{"keys": []}')
        args += ["--trust-list", str(empty)]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), f"exit {result.exit_code}: {result.output}"
    out = json.loads(result.stdout)
    assert (result.exit_code == 0) == out["valid"]
    return out, _agreement(data, out["steps"])


@pytest.mark.skipif(not VECTORS, reason=SKIP_REASON)
@pytest.mark.parametrize("path", VECTORS, ids=[str(p.relative_to(DATA_DIR)) for p in VECTORS])
def test_vector(path: Path, tmp_path: Path) -> None:
    rel = str(path.relative_to(DATA_DIR))
    if rel in EXCLUDED:
        pytest.skip(EXCLUDED[rel])
    out, problems = run_vector(path, tmp_path)
    if out is None:
        pytest.skip("vector carries no PREFIX or BASE45 input")
    assert not problems, f"{rel}: {problems}"


@pytest.mark.skipif(not VECTORS, reason=SKIP_REASON)
def test_every_vector_file_was_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [p for p in DATA_DIR.rglob("*.json") if p.parent.name == "raw"]
    checked = failed = 0
    for path in VECTORS:
        if str(path.relative_to(DATA_DIR)) in EXCLUDED:
            continue
        out, problems = run_vector(path, tmp_path)
        if out is not None:
            checked += 1
            failed += bool(problems)
    with capsys.disabled():
        print(f"\nDCC vectors: {checked} checked, {failed} disagreeing, in {DATA_DIR}")
    assert failed == 0
    if REPO.parent / "shared" / "dcc-testdata" == DATA_DIR:
        assert checked == len(files) == len(VECTORS) == 10
