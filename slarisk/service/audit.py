"""Audit trail: every score and recommendation served, so a disputed decision can be replayed.

A record holds the time, the key id (never the key), the endpoint, the model version, the
SHA-256 digest of the exact request body, the number of items and a JSON summary of the
outputs; optionally the zlib-compressed body itself (``audit_store_inputs``).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slarisk.service.store import Store


def digest(body: bytes) -> str:
    """``sha256:<hex>`` of a request body, as recorded in the audit trail."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One served decision."""

    at: str
    key_id: str
    endpoint: str
    model_version: str | None
    input_digest: str
    n_items: int
    outputs: dict[str, Any]


def record(
    store: Store,
    *,
    key_id: str,
    endpoint: str,
    model_version: str | None,
    body: bytes,
    n_items: int,
    outputs: dict[str, Any],
    keep_body: bool = False,
) -> str:
    """Append one record; return the input digest."""
    input_digest = digest(body)
    store.conn().execute(
        "INSERT INTO audit (at, key_id, endpoint, model_version, input_digest, n_items, outputs,"
        " input_body) VALUES (?,?,?,?,?,?,?,?)",
        (
            datetime.now(UTC).isoformat(timespec="milliseconds"),
            key_id,
            endpoint,
            model_version,
            input_digest,
            n_items,
            json.dumps(outputs, separators=(",", ":"), default=str),
            zlib.compress(body) if keep_body else None,
        ),
    )
    return input_digest


def recent(store: Store, limit: int = 100) -> list[AuditRecord]:
    """The latest ``limit`` records, newest first."""
    rows = store.conn().execute(
        "SELECT at, key_id, endpoint, model_version, input_digest, n_items, outputs"
        " FROM audit ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        AuditRecord(
            at=r["at"],
            key_id=r["key_id"],
            endpoint=r["endpoint"],
            model_version=r["model_version"],
            input_digest=r["input_digest"],
            n_items=r["n_items"],
            outputs=json.loads(r["outputs"]),
        )
        for r in rows
    ]
