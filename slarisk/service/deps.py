"""`Annotated` dependencies of the routers: service state, settings, store, the caller's key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, Security, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from slarisk.service.champion import ModelHolder
from slarisk.service.jobs import JobRunner
from slarisk.service.metrics import Metrics
from slarisk.service.security import Principal, Role, authenticate
from slarisk.service.settings import Settings
from slarisk.service.store import Store


@dataclass
class ServiceState:
    """Everything the lifespan builds for one app instance."""

    settings: Settings
    store: Store
    metrics: Metrics
    jobs: JobRunner
    models: ModelHolder
    policy: Any | None = None
    policy_error: str | None = None


# The dependencies below are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency
# in the thread pool, a thread hop per request for what is an attribute lookup.
async def get_state(request: Request) -> ServiceState:
    """The running app's state (set up in the lifespan)."""
    state: ServiceState = request.app.state.service
    return state


async def get_settings(state: Annotated[ServiceState, Depends(get_state)]) -> Settings:
    """The app's settings."""
    return state.settings


async def get_store(state: Annotated[ServiceState, Depends(get_state)]) -> Store:
    """The app's SQLite store."""
    return state.store


StateDep = Annotated[ServiceState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key `slk_<key_id>_<secret>`."
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")

UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="missing or invalid API key (send it as X-API-Key or Authorization: Bearer)",
    headers={"WWW-Authenticate": "Bearer"},
)


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_principal(
    request: Request,
    state: StateDep,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """The caller behind the presented key; 401 when there is none or it is not valid."""
    checked: Principal | None = getattr(request.state, "principal", None)
    if checked is not None:  # already authenticated by GuardedRoute
        return checked
    principal = authenticate(state.store, _presented_key(request))
    if principal is None:
        raise UNAUTHORIZED
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def _forbidden(role: Role, roles: frozenset[Role]) -> str:
    allowed = ", ".join(sorted(r.value for r in roles))
    return f"role {role.value!r} may not call this route (allowed: {allowed})"


def require(roles: frozenset[Role]) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only keys whose role is in ``roles`` (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=_forbidden(principal.role, roles))
        return principal

    check.roles = roles  # type: ignore[attr-defined]
    return check


class GuardedRoute(APIRoute):
    """A route that checks the key and role before reading the body.

    Without it, FastAPI parses the body first, so a caller without a valid key would learn
    about validation errors (422) before being refused (401/403).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        roles = next(
            (
                d.call.roles  # type: ignore[union-attr]
                for d in self.dependant.dependencies
                if hasattr(d.call, "roles")
            ),
            None,
        )
        if roles is None:
            return handler

        async def guarded(request: Request) -> Response:
            state: ServiceState = request.app.state.service
            principal = authenticate(state.store, _presented_key(request))
            if principal is None:
                return JSONResponse(
                    status_code=401,
                    content={"detail": UNAUTHORIZED.detail},
                    headers=UNAUTHORIZED.headers,
                )
            if principal.role not in roles:
                return JSONResponse(
                    status_code=403, content={"detail": _forbidden(principal.role, roles)}
                )
            request.state.principal = principal
            return await handler(request)

        return guarded


def check_batch_limit(field: str, count: int, limit: int, setting: str) -> None:
    """413 when a request carries more items than a configured limit; the message names both."""
    if count > limit:
        raise HTTPException(
            413, detail=f"{field}: {count} {field} exceed the limit of {limit} ({setting})"
        )
