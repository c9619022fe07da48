"""Root Typer app; sub-command modules register themselves here on import."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="registry",
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
