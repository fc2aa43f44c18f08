"""CLI commands of slarisk.service: `serve`, `keys create|revoke|list`, `api-spec`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Service SQLite file (default: $SLARISK_DB_PATH)."),
]


def _settings(db: Path | None = None, **overrides: object):  # type: ignore[no-untyped-def]
    """Settings from the environment and options; a bad value is one line naming it, exit 2."""
    from pydantic import ValidationError

    from slarisk.service.settings import Settings

    values = {k: v for k, v in overrides.items() if v is not None}
    if db is not None:
        values["db_path"] = db
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise _fail(f"setting {field} (SLARISK_{field.upper()}): {err['msg']}") from None


def _existing_db(db: Path | None) -> Path:
    """The service database for commands that only read or change it (it must exist)."""
    path = _settings(db).db_path
    if not path.is_file():
        raise _fail(f"no service database at {path} (`slarisk keys create` makes one)")
    return path


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _fail(message: str) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(2)


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    db: DbOption = None,
    policy: Annotated[Path | None, typer.Option(help="SLA policy YAML.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Start the HTTP service (one worker; API keys are never logged)."""
    import uvicorn

    from slarisk.service.app import create_app

    settings = _settings(db, host=host, port=port, policy_path=policy)
    if not _port_free(settings.host, settings.port):
        raise _fail(f"cannot listen on {settings.host}:{settings.port}: address in use (--port)")
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, workers=1)


keys_app = typer.Typer(no_args_is_help=True, help="Manage API keys (stored hashed).")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="scorer, planner, scheduler, sales or admin.")],
    name: Annotated[str, typer.Option(help="Who or what holds the key.")] = "",
    db: DbOption = None,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from slarisk.errors import SlariskError
    from slarisk.service.security import create_key
    from slarisk.service.store import Store

    settings = _settings(db)
    try:
        key_id, key = create_key(Store(settings.db_path), role, name)
    except SlariskError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"key id: {key_id}  role: {role}")
    typer.echo(key)
    typer.echo("Store the key now: it cannot be shown again.", err=True)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id to revoke.")], db: DbOption = None
) -> None:
    """Revoke a key (takes effect on the next request)."""
    from slarisk.service.security import revoke_key
    from slarisk.service.store import Store

    if not revoke_key(Store(_existing_db(db)), key_id):
        raise _fail(f"no active key with id {key_id!r}")
    typer.echo(f"revoked {key_id}")


@keys_app.command("list")
def keys_list(db: DbOption = None) -> None:
    """List keys: id, role, name, created and revoked dates (never secrets)."""
    from rich.console import Console
    from rich.table import Table

    from slarisk.service.security import list_keys
    from slarisk.service.store import Store

    table = Table("key id", "role", "name", "created", "revoked")
    for k in list_keys(Store(_existing_db(db))):
        table.add_row(k.key_id, k.role, k.name, k.created_at, k.revoked_at or "")
    Console().print(table)


def api_spec(
    out: Annotated[Path, typer.Option("--out", help="Where to write the OpenAPI JSON.")] = Path(
        "api/openapi.json"
    ),
) -> None:
    """Write the service's OpenAPI document (the contract checked by the tests)."""
    from slarisk.service.app import create_app
    from slarisk.service.openapi import dump_openapi

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump_openapi(create_app()), encoding="utf-8")
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the top-level app."""
    app.command("serve")(serve)
    app.command("api-spec")(api_spec)
    app.add_typer(keys_app, name="keys")
