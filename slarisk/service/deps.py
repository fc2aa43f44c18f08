"""`Annotated` dependencies of the routers: service state, settings, store, the caller's key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers

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

# Declared for the OpenAPI document (the two security schemes); the key itself is read by
# presented_key, which accepts exactly what these two accept.
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key `slk_<key_id>_<secret>`."
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")

UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="missing or invalid API key (send it as X-API-Key or Authorization: Bearer)",
    headers={"WWW-Authenticate": "Bearer"},
)

#: ``request.state`` attribute where :class:`~slarisk.service.access.AccessMiddleware` leaves
#: the principal it checked.
PRINCIPAL_STATE = "principal"


def presented_key(headers: Headers) -> str | None:
    """The API key of a request: ``X-API-Key``, else an ``Authorization: Bearer`` token."""
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_principal(
    request: Request,
    state: StateDep,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """The caller behind the presented key; 401 when there is none or it is not valid."""
    checked: Principal | None = getattr(request.state, PRINCIPAL_STATE, None)
    if checked is not None:  # already authenticated by AccessMiddleware
        return checked
    principal = authenticate(state.store, presented_key(request.headers))
    if principal is None:
        raise UNAUTHORIZED
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def forbidden_message(role: Role, roles: frozenset[Role]) -> str:
    """The 403 message: the caller's role and the roles the route admits."""
    allowed = ", ".join(sorted(r.value for r in roles))
    return f"role {role.value!r} may not call this route (allowed: {allowed})"


def require(roles: frozenset[Role]) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only keys whose role is in ``roles`` (403 otherwise).

    The dependency carries ``roles`` as an attribute, so :func:`required_roles` can read a
    route's roles from its dependant (what the access middleware checks before the body)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=forbidden_message(principal.role, roles)
            )
        return principal

    check.roles = roles  # type: ignore[attr-defined]
    return check


def required_roles(dependant: Dependant) -> frozenset[Role] | None:
    """The roles of the first ``require(...)`` dependency of a route (searched depth first),
    None when the route has none (a public route)."""
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "roles", None)
        if isinstance(roles, frozenset):
            return roles
        nested = required_roles(dep)
        if nested is not None:
            return nested
    return None


def check_batch_limit(field: str, count: int, limit: int, setting: str) -> None:
    """413 when a request carries more items than a configured limit; the message names both."""
    if count > limit:
        raise HTTPException(
            413, detail=f"{field}: {count} {field} exceed the limit of {limit} ({setting})"
        )
