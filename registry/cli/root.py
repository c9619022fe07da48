"""Root Typer app; sub-command modules register themselves here on import.

Commands that live outside the registry (the demo, the benchmarks) are plugins: each is an
entry point in the ``registry.cli`` group naming a `typer.Typer` with one command, and is
imported only when that command runs or the command list is shown. So `registry.cli` never
imports them (import-linter checks it), and a plain `registry status` does not pay for
loading the benchmarks.
"""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import typer
from typer import _click as click  # typer vendors click: its commands are these types
from typer.core import TyperGroup

from registry.bootstrap import is_store_failure
from registry.cli.output import report_store_failure

PLUGIN_GROUP = "registry.cli"


class RegistryGroup(TyperGroup):
    """The root command group: a store failure anywhere is one line and exit 3.

    PostgreSQL down or unreachable at start, a full disk or a read-only SQLite file ends a
    command with `error [store.unavailable]: …` on stderr (a JSON line under `--json`),
    never a traceback; any other exception is still a bug and surfaces as one. It also
    lists and loads the plugins' commands.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        return [*names, *(name for name in plugins() if name not in names)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and (plugin := plugins().get(cmd_name)) is not None:
            command = load_plugin(plugin)
            self.add_command(command, cmd_name)  # built-in commands win over a plugin's
        return command

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # typer/click exits (e.g. one already reporting the failure) pass through
            if type(exc).__module__.startswith(("typer", "click")) or not is_store_failure(exc):
                raise
            report_store_failure(exc, "--json" in args)


def plugins() -> dict[str, EntryPoint]:
    """The installed `registry.cli` plugins by command name (read from package metadata)."""
    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


def load_plugin(entry_point: EntryPoint) -> click.Command:
    """Import a plugin and return its command, named as its entry point."""
    plugin = entry_point.load()
    if not isinstance(plugin, typer.Typer):
        raise TypeError(f"plugin {entry_point.value} is not a typer.Typer")
    command = typer.main.get_command(plugin)
    command.name = entry_point.name
    return command


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
    "registry.cli.setup",
    "registry.cli.applicant",
    "registry.cli.employer",
    "registry.cli.employer_change",
    "registry.cli.review",
    "registry.cli.registrar",
    "registry.cli.certificates",
    "registry.cli.queries",
    "registry.cli.projections",
    "registry.cli.users",
    "registry.cli.serve",
    "registry.cli.audit",
    "registry.cli.audit_check",
]

for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a module not written yet is simply absent
        if exc.name != _name:
            raise
