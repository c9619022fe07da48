"""`registry init`: create the store (events, vault, projections) and the default policies.

(`registry demo` is a plugin, registry/demo/cli.py: the registry never imports the demo.)
"""

from __future__ import annotations

from registry.application import Settings
from registry.bootstrap import open_projections, registry_session
from registry.cli.common import SETUP, JsonOpt
from registry.cli.output import Output, table
from registry.cli.root import app


@app.command("init", rich_help_panel=SETUP)
def init(json_: JsonOpt = False) -> None:
    """Create the store (events, vault, projections) and the default scheme policies."""
    out = Output(json_)
    # A new registry makes its secret key files here; everything else refuses without them.
    with out.guard(), registry_session(Settings.load(create_missing_secrets=True)) as registry:
        projections = open_projections(registry)
        schemes = registry.schemes()
        data = {
            "store": registry.settings.describe_store(),
            "schemes": [
                {"code": s.code, "version": s.version, "name_zh": s.name_zh, "name_en": s.name_en}
                for s in schemes
            ],
            "projection_position": projections.position(),
            "events": registry.recorder.max_notification_id() or 0,
        }
        out.emit(
            data,
            [
                f"Registry store ready: [bold]{data['store']}[/bold]",
                table(
                    ["code", "version", "name_zh", "name_en"],
                    [[s.code, s.version, s.name_zh, s.name_en] for s in schemes],
                    title="Scheme policies",
                ),
                f"events in the log: {data['events']}, "
                f"projections at {data['projection_position']}",
            ],
        )
