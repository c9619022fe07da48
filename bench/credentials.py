"""Credential benchmark: size, QR version, and single-core sign/verify rates.

Run as ``python -m bench.credentials [--quick]``. Our figures are shown beside raw Ed25519
sign/verify from `cryptography` in the same run, so the ratio shows what CBOR, COSE, zlib
and Base45 cost on top of the signature itself. `run()` returns a dict; `run_figures()` is
the `registry bench` benchmark.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.framework import BenchContext, Figure, Target
from registry.credentials import (
    CredentialClaims,
    SigningKey,
    TrustStore,
    credential_url,
    issue_credential,
    mask_name,
    qr_info,
    verify_credential,
)

BASE_URL = "https://verify.example.org"


def sample_claims() -> CredentialClaims:
    """A typical credential's claims (the QR benchmarks encode the same one)."""
    issued = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    return CredentialClaims(
        issuer="CN-44-REG",
        issued_at=issued,
        expires_at=issued + timedelta(days=730),
        registration_number="GD-SIE-2025-000123",
        scheme_code="SIE",
        certificate_serial="C2025000123",
        masked_name=mask_name("张小三"),
        issuer_region="44",
    )


def _rate(label: str, n: int, fn: Callable[[], object], progress: Progress) -> float:
    task = progress.add_task(label, total=n)
    step = max(1, n // 100)
    start = time.perf_counter()
    for i in range(n):
        fn()
        if i % step == 0:
            progress.advance(task, step)
    elapsed = time.perf_counter() - start
    progress.update(task, completed=n)
    return n / elapsed


def run(quick: bool = False, console: Console | None = None) -> dict[str, Any]:
    """Measure and return figures (ops/s are single-threaded)."""
    console = console or Console()
    n = 500 if quick else 5000
    key = SigningKey.generate()
    claims = sample_claims()
    trust = TrustStore.from_public_keys([(key.kid, key.public_key)], issuer="CN-44-REG")
    credential = issue_credential(claims, key)
    url = credential_url(BASE_URL, credential)
    info = qr_info(url)
    at = claims.issued_at + timedelta(days=1)
    assert verify_credential(credential, trust, at).valid
    message = b"x" * 64
    raw_sig = key.private_key.sign(message)  # type: ignore[call-arg]
    public = key.public_key

    def raw_verify() -> None:
        public.verify(raw_sig, message)  # type: ignore[call-arg]

    with Progress(console=console, transient=True) as progress:
        sign_rate = _rate("issue credential", n, lambda: issue_credential(claims, key), progress)
        verify_rate = _rate(
            "verify credential", n, lambda: verify_credential(credential, trust, at), progress
        )
        raw_sign_rate = _rate(
            "raw Ed25519 sign",
            n,
            lambda: key.private_key.sign(message),  # type: ignore[call-arg]
            progress,
        )
        raw_verify_rate = _rate("raw Ed25519 verify", n, raw_verify, progress)

    figures: dict[str, Any] = {
        "iterations": n,
        "credential_chars": len(credential),
        "credential_bytes": len(credential.encode("ascii")),
        "url_chars": len(url),
        "qr_version": info.version,
        "qr_modules": info.modules,
        "qr_error_correction": "Q",
        "sign_per_s": round(sign_rate),
        "verify_per_s": round(verify_rate),
        "raw_ed25519_sign_per_s": round(raw_sign_rate),
        "raw_ed25519_verify_per_s": round(raw_verify_rate),
        "sign_ratio_vs_raw": round(sign_rate / raw_sign_rate, 3),
        "verify_ratio_vs_raw": round(verify_rate / raw_verify_rate, 3),
    }
    table = Table(title="Credentials (Ed25519, single core)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in figures.items():
        table.add_row(name, str(value))
    console.print(table)
    return figures


def run_figures(ctx: BenchContext) -> list[Figure]:
    """The benchmark as `registry bench` runs it: `run` in the context's size mode."""
    return credentials_figures(run(quick=ctx.quick, console=ctx.console))


def credentials_figures(result: dict[str, Any]) -> list[Figure]:
    """`bench.credentials.run` figures as rows: verify (target ≥ 0.5) and sign vs raw."""
    n = int(result["iterations"])
    return [
        Figure(
            name="credentials.verify",
            title="offline credential verifications/s (decode+COSE+Ed25519+expiry)",
            unit="verifications/s",
            value=float(result["verify_per_s"]),
            baseline_title="raw Ed25519 verify (cryptography)",
            baseline=float(result["raw_ed25519_verify_per_s"]),
            target=Target("ratio_at_least", 0.5),
            params={"iterations": n, "credential_chars": result["credential_chars"]},
        ),
        Figure(
            name="credentials.sign",
            title="credential issues/s (CWT+COSE_Sign1+zlib+Base45)",
            unit="credentials/s",
            value=float(result["sign_per_s"]),
            baseline_title="raw Ed25519 sign (cryptography)",
            baseline=float(result["raw_ed25519_sign_per_s"]),
            params={"iterations": n, "qr_version": result["qr_version"]},
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    run(quick=parser.parse_args().quick)


if __name__ == "__main__":
    main()
