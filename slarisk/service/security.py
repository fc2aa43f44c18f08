"""API keys and roles.

A key reads ``slk_<key_id>_<secret>``. Only ``sha256(key_id:secret)`` is stored; the secret is
shown once, at creation. Checks compare digests in constant time. Keys are never logged: errors
and the audit trail name the key id only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from slarisk.errors import InputError
from slarisk.service.store import Store

PREFIX = "slk"


class Role(StrEnum):
    """Roles an API key can hold."""

    scorer = "scorer"
    planner = "planner"
    scheduler = "scheduler"
    sales = "sales"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid, unrevoked key."""

    key_id: str
    role: Role
    name: str


@dataclass(frozen=True)
class KeyInfo:
    """A stored key as listed by ``slarisk keys list`` (never holds the secret)."""

    key_id: str
    role: str
    name: str
    created_at: str
    revoked_at: str | None


def _digest(key_id: str, secret: str) -> str:
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def create_key(store: Store, role: Role | str, name: str = "") -> tuple[str, str]:
    """Create a key with ``role``; return ``(key_id, full_key)``. The full key is not stored."""
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InputError(f"unknown role {role!r} (allowed: {allowed})", field="role") from None
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.conn().execute(
        "INSERT INTO api_keys (key_id, secret_hash, role, name, created_at) VALUES (?,?,?,?,?)",
        (key_id, _digest(key_id, secret), role.value, name, _now()),
    )
    return key_id, f"{PREFIX}_{key_id}_{secret}"


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke ``key_id``; return False when no active key has that id."""
    cur = store.conn().execute(
        "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
        (_now(), key_id),
    )
    return cur.rowcount > 0


def list_keys(store: Store) -> list[KeyInfo]:
    """All keys, oldest first (ids, roles and dates only)."""
    rows = store.conn().execute(
        "SELECT key_id, role, name, created_at, revoked_at FROM api_keys ORDER BY created_at"
    )
    return [KeyInfo(*tuple(r)) for r in rows]


def authenticate(store: Store, presented: str | None) -> Principal | None:
    """The principal of ``presented`` when it is a valid, unrevoked key, else None."""
    if not presented:
        return None
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    key_id, secret = parts[1], parts[2]
    row = (
        store.conn()
        .execute(
            "SELECT secret_hash, role, name FROM api_keys WHERE key_id = ? AND revoked_at IS NULL",
            (key_id,),
        )
        .fetchone()
    )
    expected = row["secret_hash"] if row is not None else _digest("absent", "absent")
    ok = hmac.compare_digest(expected, _digest(key_id, secret))
    if row is None or not ok:
        return None
    return Principal(key_id=key_id, role=Role(row["role"]), name=row["name"])


# Which roles may call which route (admin may call all). Public routes are not listed.
SCORE = frozenset({Role.scorer, Role.admin})
MODEL_READ = frozenset({Role.scorer, Role.admin})
SIMULATE = frozenset({Role.planner, Role.sales, Role.admin})
#: demand forecasts (`/v1/forecasts`): the planners' work, and who may run simulations.
FORECAST = frozenset({Role.planner, Role.sales, Role.admin})
#: shift plans and rosters (`/v1/schedules`).
SCHEDULE = frozenset({Role.planner, Role.scheduler, Role.admin})
STAFFING = frozenset({Role.planner, Role.scheduler, Role.admin})
ADMIN = frozenset({Role.admin})
ANY_ROLE = frozenset(Role)
