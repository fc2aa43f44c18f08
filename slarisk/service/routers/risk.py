"""`POST /v1/risk/score`: breach risk of a batch of open tickets."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from operator import itemgetter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from slarisk.service import audit
from slarisk.service.champion import LoadedModel
from slarisk.service.deps import (
    JsonBodyRoute,
    ServiceState,
    StateDep,
    check_batch_limit,
    require,
)
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS, UNAVAILABLE
from slarisk.service.schemas import ScoreRequest, ScoreResponse
from slarisk.service.scoring import (
    check_against_policy,
    read_score_body,
    score_arrays_items,
    score_request,
)
from slarisk.service.security import SCORE, Principal

try:  # orjson: several times faster than json for the score lists (same JSON text)
    import orjson

    def _dumps(content: Any) -> bytes:
        return orjson.dumps(content)

except ImportError:  # pragma: no cover - orjson is a dependency; keep working without it

    def _dumps(content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), allow_nan=False).encode()


router = APIRouter(prefix="/v1/risk", tags=["risk"], route_class=JsonBodyRoute)
_BAND, _PROBABILITY = itemgetter("risk_band"), itemgetter("breach_probability")
#: batches up to this size are scored on the event loop (cheaper than a thread hop).
INLINE_TICKETS = 300


@router.post(
    "/score",
    response_model=ScoreResponse,
    summary="Breach probability, due time, alert level, reasons and work order per ticket",
    description="Scores every running SLA clock (first response, resolution) of the open "
    "tickets at `now` with the champion model; the response names the model version. "
    "Each call is recorded in the audit trail (key id, model version, input digest).",
    responses={**AUTH_ERRORS, **BODY_ERRORS, **UNAVAILABLE},
)
async def score(
    body: ScoreRequest,
    request: Request,
    state: StateDep,
    caller: Annotated[Principal, Depends(require(SCORE))],
) -> Response:
    check_batch_limit("tickets", len(body.tickets), state.settings.max_batch_size, "max_batch_size")
    model = state.models.current  # one snapshot for the whole request (reloads swap it)
    if model is None:
        raise HTTPException(503, detail=f"no model loaded: {state.models.error or 'unknown'}")
    if state.policy is None:
        raise HTTPException(503, detail=f"no SLA policy loaded: {state.policy_error}")
    now = body.now or datetime.now(UTC)
    check_against_policy(body, state.policy, now)
    if len(body.tickets) <= INLINE_TICKETS:
        items = score_request(model.model, body, state.policy, now)
    else:
        items = await run_in_threadpool(score_request, model.model, body, state.policy, now)
    return await _served(request, state, caller, model, now, len(body.tickets), items)


async def _score_fast(
    raw: bytes, request: Request, state: ServiceState, caller: Principal
) -> Response | None:
    """The score route for a body :func:`read_score_body` reads (a valid request of at most
    :data:`INLINE_TICKETS` tickets, no status events): the same response and audit record as
    :func:`score`, without building the pydantic request. None: :func:`score` answers."""
    model, policy = state.models.current, state.policy
    if model is None or policy is None:
        return None
    now = datetime.now(UTC)
    body = read_score_body(raw, policy, now)
    if body is None or body.n_tickets > min(INLINE_TICKETS, state.settings.max_batch_size):
        return None
    now = body.now or now
    items = score_arrays_items(model.model, body.tickets, body.staffing, policy, now)
    if items is None:
        return None
    return await _served(request, state, caller, model, now, body.n_tickets, items)


score.fast_body = _score_fast  # type: ignore[attr-defined]  # read by JsonBodyRoute


async def _served(
    request: Request,
    state: ServiceState,
    caller: Principal,
    model: LoadedModel,
    now: datetime,
    n_tickets: int,
    items: list[dict[str, Any]],
) -> Response:
    """Record the scores in the audit trail and metrics; the response."""
    bands = Counter(map(_BAND, items))
    digest = audit.record(
        state.store,
        key_id=caller.key_id,
        endpoint="risk.score",
        model_version=model.version,
        body=await request.body(),
        n_items=len(items),
        outputs={
            "tickets": n_tickets,
            "clocks": len(items),
            "bands": dict(bands),
            # None (not finite) and 0.0 drop out; an empty rest gives 0.0, as before
            "max_probability": max(filter(None, map(_PROBABILITY, items)), default=0.0),
            "first": items[0]["ticket_id"] if items else None,
        },
        keep_body=state.settings.audit_store_inputs,
    )
    state.metrics.scores.labels(model.version).inc(len(items))
    content = {
        "model_version": model.version,
        "scored_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "input_digest": digest,
        "n_tickets": n_tickets,
        "items": items,
    }
    return Response(_dumps(content), media_type="application/json")
