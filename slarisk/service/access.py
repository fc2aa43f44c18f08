"""Access control before the body: an ASGI middleware that checks the caller's key and role
for the routes that ``require(...)`` one.

FastAPI reads and validates a request's body before it solves the route's dependencies, so a
dependency alone would tell a caller without a valid key about validation errors (422) before
refusing it. The middleware answers 401 (no key, an invalid or revoked key) or 403 (a role the
route does not admit) first, and leaves the principal in ``request.state`` for the route's own
``require(...)`` dependency, which then only re-checks the role.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from slarisk.service.deps import (
    PRINCIPAL_STATE,
    UNAUTHORIZED,
    ServiceState,
    forbidden_message,
    presented_key,
    required_roles,
)
from slarisk.service.security import Role, authenticate

#: A route and the roles it admits (None: public).
RouteRoles = tuple[APIRoute, frozenset[Role] | None]


def route_roles(routers: Iterable[APIRouter]) -> list[RouteRoles]:
    """Every API route of ``routers`` (in order) with the roles its ``require(...)`` admits.

    The routers must be included in the app without a prefix (their routes' paths are then
    the paths the app serves)."""
    return [
        (route, required_roles(route.dependant))
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


class AccessMiddleware:
    """Refuses a request to a guarded route with 401/403 before the route reads its body.

    ``routes`` are matched in order with Starlette's ``route.matches(scope)``, as the router
    does; the first full match decides. Other requests (public routes, unknown paths, a
    method the route does not take) pass through unchanged.
    """

    def __init__(self, app: ASGIApp, routes: Sequence[RouteRoles]) -> None:
        self.app = app
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route, roles in self.routes:
                match, child_scope = route.matches(scope)
                if match is not Match.FULL:
                    continue
                refusal = self._refusal(scope, roles) if roles is not None else None
                if refusal is not None:
                    scope.update(child_scope)  # as the router does: metrics name the route
                    await refusal(scope, receive, send)
                    return
                break
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(scope: Scope, roles: frozenset[Role]) -> JSONResponse | None:
        """The 401/403 answer, or None when the key is valid and its role admitted (the
        principal is then left in the request's state)."""
        state: ServiceState = scope["app"].state.service
        principal = authenticate(state.store, presented_key(Headers(scope=scope)))
        if principal is None:
            return JSONResponse(
                status_code=UNAUTHORIZED.status_code,
                content={"detail": UNAUTHORIZED.detail},
                headers=UNAUTHORIZED.headers,
            )
        if principal.role not in roles:
            return JSONResponse(
                status_code=403, content={"detail": forbidden_message(principal.role, roles)}
            )
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        return None
