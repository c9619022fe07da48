"""Root Typer app; sub-command modules register themselves here on import."""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup


class RegistryGroup(TyperGroup):
    """The root command group: a store failure anywhere is one line and exit 3.

    PostgreSQL down or unreachable at start, a full disk or a read-only SQLite file ends a
    command with `error [store.unavailable]: …` on stderr (a JSON line under `--json`),
    never a traceback; any other exception is still a bug and surfaces as one.
    """

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from registry.adapters.sql import is_store_failure

            # typer/click exits (e.g. one already reporting the failure) pass through
            if type(exc).__module__.startswith(("typer", "click")) or not is_store_failure(exc):
                raise
            from registry.cli.output import report_store_failure

            report_store_failure(exc, "--json" in args)


app = typer.Typer(
    name="registry",
    cls=RegistryGroup,
    help="Engineer Registry: event-sourced registrations with signed, verifiable credentials.",
    no_args_is_help=True,
    add_completion=False,
)

# Each module adds its commands to `app` (or a sub-app) when imported.
_COMMAND_MODULES = [
    "registry.cli.keys",
    "registry.cli.verify",
    "registry.cli.core",
    "registry.cli.users",
    "registry.cli.serve",
    "registry.cli.audit",
    "registry.cli.bench",
]

for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a module not written yet is simply absent
        if exc.name != _name:
            raise
