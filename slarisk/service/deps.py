"""`Annotated` dependencies of the routers: service state, settings, store, the caller's key."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, get_type_hints

import fastapi.routing
from fastapi import Depends, HTTPException, Request, Response, Security, params, status
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

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


def _route_roles(dependant: Dependant) -> frozenset[Role] | None:
    """The roles of the route's ``require(...)`` dependency, None when it has none."""
    return next(
        (d.call.roles for d in dependant.dependencies if hasattr(d.call, "roles")),  # type: ignore[union-attr]
        None,
    )


class GuardedRoute(APIRoute):
    """A route that checks the key and role before reading the body.

    Without it, FastAPI parses the body first, so a caller without a valid key would learn
    about validation errors (422) before being refused (401/403).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        route = _effective_route(self)
        roles = _route_roles(route.dependant)
        if roles is None:
            return handler
        direct = (
            None  # an embedded body ({"name": {...}}) is FastAPI's to unwrap
            if getattr(route, "_embed_body_fields", False)
            else self.direct_handler(route.dependant, route.dependency_overrides_provider)
        )

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
            if direct is not None:
                response = await direct(request, state, principal)
                if response is not None:
                    return response
            return await handler(request)

        return guarded

    def direct_handler(self, dependant: Dependant, overrides: Any) -> DirectHandler | None:
        """A faster handler for some requests (None: FastAPI's handler serves them all)."""
        return None


def _effective_route(route: APIRoute) -> Any:
    """What FastAPI builds this handler for: since FastAPI 0.16x an included route is not
    copied, and the handler is built once per inclusion with that inclusion's dependant
    (router-level dependencies added) and ``dependency_overrides`` provider."""
    context_var = getattr(fastapi.routing, "_effective_route_context_var", None)
    context = context_var.get() if context_var is not None else None
    if context is not None and getattr(context, "original_route", None) is route:
        return context
    return route


#: ``(request, state, principal) -> response``, or None to let FastAPI's handler answer.
DirectHandler = Callable[[Request, ServiceState, Principal], Awaitable[Response | None]]


def _is_json(content_type: str | None) -> bool:
    """``application/json`` (any parameters): a subset of what FastAPI reads as JSON."""
    return (
        content_type is not None
        and content_type.partition(";")[0].strip().lower() == "application/json"
    )


class JsonBodyRoute(GuardedRoute):
    """A guarded route whose JSON body is validated by pydantic-core's JSON parser
    (``Model.model_validate_json``: one pass, no ``json.loads`` then ``validate_python``) and
    whose endpoint is called directly with its few known parameters (body, ``Request``,
    :data:`StateDep`, the ``require(...)`` principal), without FastAPI's dependency solving.

    Only a valid ``application/json`` body takes this path. An empty body, another content
    type, or a body the model refuses goes through FastAPI's own handler unchanged, so every
    error (422 field names and messages, 400) is exactly what FastAPI answers, and so does every
    request while ``app.dependency_overrides`` is set. The endpoint must return a ``Response``;
    a route whose endpoint takes anything else uses FastAPI's handler.
    """

    def direct_handler(self, dependant: Dependant, overrides: Any) -> DirectHandler | None:
        call = dependant.call
        plan = _direct_plan(dependant)
        if call is None or plan is None:
            return None
        body_name, model, request_name, state_name, principal_name = plan

        async def direct(
            request: Request, state: ServiceState, principal: Principal
        ) -> Response | None:
            if getattr(overrides, "dependency_overrides", None):
                return None  # overridden dependencies: FastAPI resolves them
            if not _is_json(request.headers.get("content-type")):
                return None
            raw = await request.body()
            if not raw:
                return None
            try:
                body = model.model_validate_json(raw)
            except ValidationError:
                return None  # FastAPI's handler parses it again and answers the 422
            kwargs: dict[str, Any] = {body_name: body}
            if request_name:
                kwargs[request_name] = request
            if state_name:
                kwargs[state_name] = state
            if principal_name:
                kwargs[principal_name] = principal
            response: Response = await call(**kwargs)
            return response

        return direct


def _direct_plan(
    dependant: Dependant,
) -> tuple[str, type[BaseModel], str | None, str | None, str | None] | None:
    """``(body param, body model, Request param, state param, principal param)`` of an
    endpoint :class:`JsonBodyRoute` can call directly, else None."""
    call = dependant.call
    if (
        call is None
        or not inspect.iscoroutinefunction(call)
        or len(dependant.body_params) != 1
        or dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.background_tasks_param_name
        or dependant.response_param_name
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.security_scopes_param_name
    ):
        return None
    hints = get_type_hints(call)
    returns = hints.get("return")
    if not (isinstance(returns, type) and issubclass(returns, Response)):
        return None
    field = dependant.body_params[0]
    model = field.field_info.annotation
    if isinstance(field.field_info, params.Form) or not (
        isinstance(model, type) and issubclass(model, BaseModel)
    ):
        return None
    state_name = principal_name = None
    for dep in dependant.dependencies:
        if dep.call is get_state and dep.name:
            state_name = dep.name
        elif hasattr(dep.call, "roles") and dep.name:
            principal_name = dep.name
        else:
            return None
    return field.name, model, dependant.request_param_name, state_name, principal_name


def check_batch_limit(field: str, count: int, limit: int, setting: str) -> None:
    """413 when a request carries more items than a configured limit; the message names both."""
    if count > limit:
        raise HTTPException(
            413, detail=f"{field}: {count} {field} exceed the limit of {limit} ({setting})"
        )
