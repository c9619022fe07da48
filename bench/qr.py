"""QR PNG generation, and the batch issue of certificates (sign + QR PNG + event).

QR: `registry.credentials.qr_png` on the verification URL of a typical credential (QR
version 14, error correction Q, 8 px modules, 4-module quiet zone) vs zxing-cpp's C++ QR
encoder producing the same symbol size and error-correction level, written as PNG by
Pillow: the floor for "a PNG of this QR code" on this machine.

Batch issue: for each of N active registrations (bulk-loaded first, not timed): the
registry's certificate use case (`registry.application.issue_certificate`, as the HTTP
endpoint runs it: load, decrypt the masked name, sign, archive the credential, record
``CertificateIssued`` in one transaction), then render the QR PNG. Baseline: the same N
certificates from the bare parts — one raw Ed25519 signature over the same CBOR claims, a
zxing-cpp PNG of the same URL, and one single-event `eventsourcing` save — so the ratio shows
the whole path's cost over its parts.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import timedelta

import cbor2
import zxingcpp
from PIL import Image

from bench.credentials import BASE_URL, sample_claims
from bench.framework import BenchContext, Figure, Tick, bare_app, tracked
from bench.seeding import seed_registrations
from bench.workload import REGISTRAR, START
from registry.application import SimulatedClock, issue_certificate
from registry.bootstrap import open_app, open_credential_archive
from registry.credentials import (
    KeyStore,
    SigningKey,
    credential_url,
    issue_credential,
    qr_info,
    qr_png,
)

MODULE_PX = 8
QUIET_MODULES = 4


def zxing_png(data: str) -> bytes:
    """The baseline encoder: zxing-cpp QR (EC level Q) scaled to 8 px modules, 1-bit PNG."""
    barcode = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="Q")
    image = barcode.to_image(scale=MODULE_PX, add_quiet_zones=False)
    interface: dict[str, object] = image.__array_interface__
    shape = interface["shape"]
    assert isinstance(shape, tuple)
    height, width = int(shape[0]), int(shape[1])
    symbol = Image.frombuffer("L", (width, height), bytes(memoryview(image)), "raw", "L", 0, 1)  # type: ignore[arg-type]
    border = QUIET_MODULES * MODULE_PX
    canvas = Image.new("1", (width + 2 * border, height + 2 * border), 1)
    canvas.paste(symbol.convert("1"), (border, border))
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def _rate(n: int, fn: Callable[[], object], advance: Callable[[int], None]) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
        advance(1)
    return n / (time.perf_counter() - start)


def run_qr(ctx: BenchContext) -> list[Figure]:
    n = ctx.size(40, 300)
    key = SigningKey.generate()
    url = credential_url(BASE_URL, issue_credential(sample_claims(), key))
    info = qr_info(url)
    with ctx.progress() as progress:
        with tracked(progress, "qr: registry qr_png", n) as advance:
            ours = _rate(n, lambda: qr_png(url), advance)
        with tracked(progress, "qr: zxing-cpp baseline", n) as advance:
            base = _rate(n, lambda: zxing_png(url), advance)
    return [
        Figure(
            name="qr.png",
            title="QR PNG generations/s for a typical credential URL",
            unit="PNG/s",
            value=ours,
            baseline_title="zxing-cpp C++ encoder + Pillow PNG, same symbol",
            baseline=base,
            params={
                "iterations": n,
                "url_chars": len(url),
                "qr_version": info.version,
                "modules": info.modules,
                "error_correction": "Q",
                "module_px": MODULE_PX,
            },
        )
    ]


def run_batch(ctx: BenchContext) -> list[Figure]:
    count = ctx.size(200, 10_000)
    clock = SimulatedClock(START + timedelta(days=400))
    app = open_app(ctx.sqlite_settings("batch"), clock=clock)
    bare = bare_app(ctx.sqlite_settings("batch-bare"))
    keys = KeyStore(ctx.workdir / "batch-keys")
    key = keys.generate()
    archive = open_credential_archive(app)
    try:
        with ctx.progress() as progress:
            seed = count + count // 4 + 10  # some seeded registrations are suspended/revoked
            with tracked(progress, "batch: seed registrations", seed) as advance:
                seeded = seed_registrations(app, seed, advance=advance)
            active = [rid for rid in seeded.registration_ids if app.get(rid).permitted][:count]
            if len(active) < count:
                raise RuntimeError(f"only {len(active)} active registrations were seeded")
            pngs = 0
            with tracked(progress, f"batch issue {count} certificates", count) as advance:
                t0 = time.perf_counter()
                for rid in active:
                    issued = issue_certificate(app, archive, keys, rid, REGISTRAR)
                    pngs += len(qr_png(issued.url))
                    advance(1)
                ours_s = time.perf_counter() - t0
            payload = cbor2.dumps(sample_claims().to_cwt(), canonical=True)
            url = credential_url(BASE_URL, issue_credential(sample_claims(), key))
            with tracked(progress, "batch baseline: raw parts", count) as advance:
                t0 = time.perf_counter()
                for _ in range(count):
                    key.private_key.sign(payload)  # type: ignore[call-arg]
                    zxing_png(url)
                    bare.save(Tick())
                    advance(1)
                base_s = time.perf_counter() - t0
    finally:
        app.close()
        bare.close()
    return [
        Figure(
            name="batch_issue.seconds",
            title=f"batch issue of {count:,} certificates (sign + QR PNG + event, SQLite)",
            unit="s",
            value=ours_s,
            baseline_title="raw Ed25519 sign + zxing-cpp PNG + bare 1-event save",
            baseline=base_s,
            higher_is_better=False,
            params={
                "certificates": count,
                "certificates_per_s": round(count / ours_s, 1),
                "mean_png_bytes": round(pngs / count),
                "single_process": True,
            },
            notes="" if not ctx.quick else "quick mode: 200 certificates, not 10,000",
        )
    ]
