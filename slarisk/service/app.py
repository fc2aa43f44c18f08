"""`create_app(settings)`: the FastAPI application; `lifespan` opens the store, loads the SLA
policy and the champion model, and recovers simulation jobs left by a previous process."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from slarisk import __version__ as _pkg_version
from slarisk.errors import SlariskError
from slarisk.service.access import AccessMiddleware, route_roles
from slarisk.service.champion import LoadedModel, ModelHolder
from slarisk.service.deps import ServiceState
from slarisk.service.forecasting import run_forecast_job
from slarisk.service.jobs import JobRunner
from slarisk.service.metrics import Metrics, ServiceMiddleware
from slarisk.service.routers import (
    auth,
    forecasts,
    health,
    models,
    risk,
    schedules,
    simulations,
    staffing,
)
from slarisk.service.scheduling import run_schedule_job
from slarisk.service.schemas import ScoreRequest, TicketIn
from slarisk.service.scoring import load_champion_model, score_request
from slarisk.service.settings import Settings
from slarisk.service.simulation import run_simulation_job
from slarisk.service.store import Store
from slarisk.sla.policy import Policy, load_policy

log = logging.getLogger("slarisk.service")

ModelLoader = Callable[[Settings], LoadedModel]
PolicyLoader = Callable[[Settings], Any]


def default_model_loader(settings: Settings) -> LoadedModel:
    """The champion from the MLflow registry alias, or the export in ``models_dir``."""
    return load_champion_model(settings)


def default_policy_loader(settings: Settings) -> Policy:
    """The SLA policy at ``settings.policy_path``."""
    return load_policy(settings.policy_path)


def _field_name(loc: tuple[Any, ...]) -> str:
    """``("body", "tickets", 3, "created_at")`` -> ``tickets[3].created_at``."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or (str(loc[0]) if loc else "body")


def _validation_message(err: dict[str, Any]) -> str:
    if err.get("type") == "model_attributes_type" and tuple(err.get("loc", ())) == ("body",):
        return "expected a JSON object (send it with Content-Type: application/json)"
    if err.get("type") == "json_invalid":
        reason = (err.get("ctx") or {}).get("error", "")
        return f"malformed JSON: {reason}".rstrip(": ")
    return str(err.get("msg", "invalid value"))


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        field = "body" if err.get("type") == "json_invalid" else _field_name(loc)
        errors.append({"field": field, "message": _validation_message(err), "type": err["type"]})
    head = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": head + more, "errors": errors},
    )


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        message = "malformed JSON: the body is not valid UTF-8 JSON"
        return JSONResponse(
            status_code=422,
            content={
                "detail": f"body: {message}",
                "errors": [{"field": "body", "message": message, "type": "json_invalid"}],
            },
        )
    return JSONResponse(
        status_code=exc.status_code,
        content={"detail": str(exc.detail)},
        headers=getattr(exc, "headers", None),
    )


async def _on_input_error(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": str(exc)})


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return JSONResponse(
        status_code=500, content={"detail": f"internal error ({type(exc).__name__})"}
    )


def _warm_up(state: ServiceState) -> None:
    """Score one made-up ticket, so the first request does not pay the scoring path's lazy
    set-up (compiled kernels, per-model tables: about a second); failures are only logged
    (the requests then report them)."""
    loaded, policy = state.models.current, state.policy
    if loaded is None or policy is None:
        return
    now = datetime.now(UTC)
    try:
        body = ScoreRequest(
            now=now,
            tickets=[
                TicketIn(
                    ticket_id="warm-up",
                    created_at=now - timedelta(hours=1),
                    priority=next(iter(policy.priorities)),
                    tier=next(iter(policy.tiers)),
                )
            ],
        )
        score_request(loaded.model, body, policy, now)
    except Exception as exc:
        log.warning("scoring warm-up failed: %s: %s", type(exc).__name__, exc)


#: Objects allocated between two young-generation collections while the app serves (CPython's
#: default is 700: about one collection per score request, each 0.1-0.4 ms).
GC_GEN0_THRESHOLD = 20_000


@contextmanager
def serving_gc() -> Iterator[None]:
    """Garbage-collector settings while the app serves: what exists at startup (modules, the
    model, the policy) is frozen out of the collector's scans (``gc.freeze``), so a full
    collection no longer walks it (a 0.1-0.3 s pause every thousand or so score requests
    before), and young collections run less often. Objects are still freed by reference
    counting as usual; cyclic garbage left by startup is collected after shutdown. On exit the
    thresholds are restored and everything frozen is unfrozen."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], GC_GEN0_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def create_app(
    settings: Settings | None = None,
    *,
    model_loader: ModelLoader | None = None,
    policy_loader: PolicyLoader | None = None,
) -> FastAPI:
    """Build the app. Loaders default to the registry/``models/`` champion and the YAML policy."""
    settings = settings or Settings()
    read_model = model_loader or default_model_loader
    read_policy = policy_loader or default_policy_loader
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.db_path)
        jobs = JobRunner(store, metrics, workers=settings.job_workers)
        holder = ModelHolder(lambda: read_model(settings))
        state = ServiceState(settings, store, metrics, jobs, holder)
        try:
            state.policy = read_policy(settings)
        except Exception as exc:
            state.policy_error = str(exc) or type(exc).__name__
            log.warning("SLA policy not loaded: %s", state.policy_error)
        if settings.load_model:
            try:
                holder.load()
                metrics.model_loaded.set(1)
            except Exception as exc:
                log.warning("champion model not loaded: %s", holder.error or exc)
        else:
            holder.error = "model loading disabled (SLARISK_LOAD_MODEL=false)"
        jobs.register("simulation", lambda req, prog: run_simulation_job(req, prog, state.policy))
        jobs.register("forecast", lambda req, prog: run_forecast_job(req, prog, state.policy))
        jobs.register("schedule", lambda req, prog: run_schedule_job(req, prog, state.policy))
        failed, requeued = jobs.recover()
        if failed or requeued:
            log.warning("jobs: %d interrupted marked failed, %d re-queued", failed, requeued)
        app.state.service = state
        _warm_up(state)
        try:
            with serving_gc():
                yield
        finally:
            jobs.shutdown()
            store.close()

    app = FastAPI(
        title="slarisk",
        version=_pkg_version,
        summary="Predictive SLA risk and capacity planning for support desks.",
        description=(
            "Breach-risk scoring of open tickets, support-centre simulations, demand forecasts, "
            "shift schedules and staffing requirements. Authenticate with an API key "
            "(`X-API-Key: slk_...` or `Authorization: Bearer slk_...`); each role may call only "
            "its routes. "
            "Durations are in seconds unless a field name says otherwise."
        ),
        lifespan=lifespan,
    )
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(SlariskError, _on_input_error)
    app.add_exception_handler(Exception, _on_unexpected)

    routers = [
        m.router for m in (health, auth, risk, simulations, forecasts, schedules, staffing, models)
    ]
    for router in routers:
        app.include_router(router)  # no prefix: AccessMiddleware matches the routers' paths
    # Middleware added last runs first: ServiceMiddleware (metrics, body size limit), then
    # AccessMiddleware (key and role of guarded routes, before the body is parsed).
    app.add_middleware(AccessMiddleware, routes=route_roles(routers))  # type: ignore[arg-type]
    app.add_middleware(
        ServiceMiddleware,  # type: ignore[arg-type]
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
    )
    return app
