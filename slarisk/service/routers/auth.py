"""`GET /v1/whoami`: the calling key's id and role (an authenticated no-op)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from slarisk.service.deps import require
from slarisk.service.routers import AUTH_ERRORS
from slarisk.service.schemas import WhoAmIOut
from slarisk.service.security import ANY_ROLE, Principal

router = APIRouter(prefix="/v1", tags=["auth"])


@router.get(
    "/whoami",
    response_model=WhoAmIOut,
    summary="The key making the request (any role)",
    responses=AUTH_ERRORS,
)
async def whoami(principal: Annotated[Principal, Depends(require(ANY_ROLE))]) -> WhoAmIOut:
    return WhoAmIOut(key_id=principal.key_id, role=principal.role.value, name=principal.name)
