"""Thin routers: parse, check limits and roles, call the library, shape the response."""

from __future__ import annotations

from typing import Any

from slarisk.service.schemas import ErrorOut

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No API key, or an invalid or revoked one."},
    403: {"model": ErrorOut, "description": "The key's role may not call this route."},
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "Body or batch larger than the configured limit."},
    422: {"model": ErrorOut, "description": "Invalid request; the message names the field."},
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "A component this route needs is not loaded."},
}
