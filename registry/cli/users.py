"""`registry users ...`: API users for the registry API; the token is printed once only."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from domain.errors import DomainError
from registry.application import ASSIGNABLE_ROLES, Settings
from registry.bootstrap import open_users, registry_session
from registry.cli.root import app

users_app = typer.Typer(help="API users and bearer tokens (stored as SHA-256 hashes).")
app.add_typer(users_app, name="users")

_ROLES = ", ".join(sorted(r.value for r in ASSIGNABLE_ROLES))


@users_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Unique user name.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {_ROLES}.")],
    actor_id: Annotated[
        str | None,
        typer.Option(
            "--actor-id",
            help="Identity the domain checks (an employer's organisation id, an engineer's "
            "applicant id); defaults to NAME.",
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Create a user and print its token once; only its hash is kept."""
    with registry_session(Settings.load()) as registry:
        try:
            user, token = open_users(registry).create(name, role, actor_id=actor_id)
        except DomainError as exc:
            typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
            raise typer.Exit(2) from None
    if json_:
        typer.echo(
            json.dumps(
                {
                    "name": user.name,
                    "role": user.role.value,
                    "actor_id": user.actor_id,
                    "token": token,
                }
            )
        )
        return
    typer.echo(f"created {user.name} ({user.role.value}, actor {user.actor_id})")
    typer.echo("token (shown once; send as 'Authorization: Bearer <token>'):")
    typer.echo(token)


@users_app.command("list")
def list_users(
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List users (never tokens)."""
    with registry_session(Settings.load()) as registry:
        users = open_users(registry).list()
    rows = [
        {
            "name": u.name,
            "role": u.role.value,
            "actor_id": u.actor_id,
            "created_at": u.created_at.isoformat(),
            "revoked_at": u.revoked_at.isoformat() if u.revoked_at else None,
        }
        for u in users
    ]
    if json_:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        typer.echo(f"{r['name']:<24} {r['role']:<10} {r['actor_id']:<24} {state}")


@users_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="User to revoke.")]) -> None:
    """Revoke a user's token at once (the record stays for the audit trail)."""
    with registry_session(Settings.load()) as registry:
        try:
            user = open_users(registry).revoke(name)
        except DomainError as exc:
            typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"revoked {user.name}")
