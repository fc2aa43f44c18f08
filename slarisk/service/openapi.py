"""The OpenAPI document as committed in api/openapi.json (stable text form)."""

from __future__ import annotations

import json

from fastapi import FastAPI


def dump_openapi(app: FastAPI) -> str:
    """``app.openapi()`` as indented JSON with a trailing newline."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
