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
from slarisk.service.deps import StateDep, check_batch_limit, require
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS, UNAVAILABLE
from slarisk.service.schemas import ScoreRequest, ScoreResponse
from slarisk.service.scoring import check_against_policy, score_request
from slarisk.service.security import SCORE, Principal

try:  # orjson: several times faster than json for the score lists (same JSON text)
    import orjson

    def _dumps(content: Any) -> bytes:
        return orjson.dumps(content)

except ImportError:  # pragma: no cover - orjson is a dependency; keep working without it

    def _dumps(content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), allow_nan=False).encode()


router = APIRouter(prefix="/v1/risk", tags=["risk"])
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
    bands = Counter(map(_BAND, items))
    digest = audit.record(
        state.store,
        key_id=caller.key_id,
        endpoint="risk.score",
        model_version=model.version,
        body=await request.body(),
        n_items=len(items),
        outputs={
            "tickets": len(body.tickets),
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
        "n_tickets": len(body.tickets),
        "items": items,
    }
    return Response(_dumps(content), media_type="application/json")
