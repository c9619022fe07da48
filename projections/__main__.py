"""`python -m projections {catch-up,rebuild,status}`: operate the read models from a shell.

A rebuild must be one command an operator can run after a fold change or a suspected
corruption; it reports its throughput so the figure can be compared with the baselines.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from projections.fold import ProjectionError
from projections.registry_views import RegistryProjections


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m projections", description=__doc__)
    parser.add_argument("command", choices=("catch-up", "rebuild", "status"))
    parser.add_argument("--settings", help="registry settings file (default: registry.toml)")
    args = parser.parse_args(argv)

    from pathlib import Path

    from registry.application.service import RegistryApp
    from registry.application.settings import Settings

    settings = Settings.load(Path(args.settings) if args.settings else None)
    app = RegistryApp(settings)
    try:
        views = RegistryProjections(app)
        if args.command == "status":
            print(json.dumps({"position": views.position(), "lag": views.lag()}))
            return 0
        started = time.perf_counter()
        run = views.rebuild if args.command == "rebuild" else views.catch_up
        done = [0]

        def progress(consumed: int) -> None:
            done[0] += consumed
            print(f"\r{done[0]}", end="", file=sys.stderr)

        try:
            count = run(progress)
        except ProjectionError as exc:  # e.g. another rebuild is running: one line, no trace
            print(f"error: {exc}", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - started
        rate = count / seconds if seconds > 0 else 0.0
        print(file=sys.stderr)
        print(
            json.dumps(
                {
                    "command": args.command,
                    "notifications": count,
                    "seconds": round(seconds, 3),
                    "per_second": round(rate),
                    "position": views.position(),
                }
            )
        )
        return 0
    finally:
        app.close()


if __name__ == "__main__":
    raise SystemExit(main())
