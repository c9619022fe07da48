"""The `registry` command: one Typer app, one sub-module per audience or job."""

from __future__ import annotations

from registry.cli.root import app


def main() -> None:
    app()


__all__ = ["app", "main"]
