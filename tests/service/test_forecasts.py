"""Forecast jobs over HTTP: submit, poll, results equal to the library's; roles, limits and
validation (422 names the field)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from slarisk.forecast import (
    BacktestConfig,
    GbmParams,
    build_series,
    fit,
    parse_event,
    predict,
    special_days,
)
from tests.forecast.synthetic import poisson_table
from tests.service.conftest import Service, ServiceFactory

CHANNELS = ("phone", "email")


def _volumes(weeks: int = 7, scale: float = 10.0) -> list[dict[str, Any]]:
    """Hourly synthetic volumes of two channels (weekdays 08-18, Saturday mornings)."""
    rows = []
    for k, channel in enumerate(CHANNELS):
        table, _ = poisson_table(weeks=weeks, interval_minutes=60, seed=k, scale=scale)
        table = table[table["volume"] > 0]
        rows += [
            {"interval_start": t.isoformat() + "Z", "channel": channel, "volume": float(v)}
            for t, v in zip(table["interval_start"], table["volume"], strict=True)
        ]
    return rows


def _tickets(weeks: int = 7) -> list[dict[str, Any]]:
    """One row per arrival of a small synthetic queue, with handle times."""
    table, _ = poisson_table(weeks=weeks, interval_minutes=60, seed=3, scale=3.0)
    rng = np.random.default_rng(0)
    rows = []
    for t, v in zip(table["interval_start"], table["volume"], strict=True):
        for j in range(int(v)):
            at = t + pd.Timedelta(minutes=int(rng.integers(0, 60)))
            rows.append(
                {
                    "ticket_id": f"T{len(rows)}-{j}",
                    "created_at": at.isoformat() + "Z",
                    "channel": "phone",
                    "handle_seconds": float(rng.gamma(4.0, 75.0)),
                }
            )
    return rows


BODY: dict[str, Any] = {
    "volumes": _volumes(),
    "by": ["channel"],
    "interval_minutes": 60,
    "horizon_days": 7,
    "models": ["ets"],
    "seed": 3,
}


def _submit(service: Service, body: Any, role: str = "planner") -> Any:
    return service.client.post("/v1/forecasts", json=body, headers=service.headers(role))


def _wait(service: Service, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = service.client.get(f"/v1/forecasts/{job_id}", headers=service.headers("sales"))
        assert job.status_code == 200, job.text
        if job.json()["status"] in ("succeeded", "failed"):
            return dict(job.json())
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def test_forecast_job_runs_and_matches_the_library(service: Service) -> None:
    r = _submit(service, BODY)
    assert r.status_code == 202, r.text
    assert r.json()["href"] == f"/v1/forecasts/{r.json()['id']}"
    job = _wait(service, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"] == 1.0
    res = job["result"]
    assert res["queues"] == ["email", "phone"] and res["timezone"] == "UTC"
    rows = pd.DataFrame(res["rows"])
    assert set(rows["queue"]) == {"email", "phone"}
    assert sorted(rows["horizon_day"].unique()) == list(range(1, 8))
    assert (rows["lo95"] <= rows["lo80"] + 1e-9).all() and (rows["hi80"] <= rows["hi95"]).all()
    assert ((rows["lo80"] <= rows["volume"]) & (rows["volume"] <= rows["hi80"])).all()
    acc = res["accuracy"]
    assert acc["chosen_model"] == "ets"
    assert [m["model"] for m in acc["models"]] == ["naive", "avg4", "ets", "selected"]
    naive = next(m for m in acc["models"] if m["model"] == "naive")
    assert naive["vs_naive"] == pytest.approx(1.0)
    assert 0 <= acc["coverage80"] <= acc["coverage95"] <= 1 and acc["origins"] >= 1

    # the same library calls give the same figures
    table = pd.DataFrame(BODY["volumes"])
    table["interval_start"] = pd.to_datetime(table["interval_start"], utc=True)
    table = table.rename(columns={"channel": "queue"})
    days = special_days(years=range(2026, 2028))
    series = build_series(table, interval_minutes=60, tz="UTC", closed_days=days.off_days)
    cfg = BacktestConfig(horizon_days=7, models=("naive", "avg4", "ets"), gbm=GbmParams(seed=3))
    fitted, result = fit(series, days, config=cfg)
    expected, _ = predict(series, days, fitted, horizon_days=7, config=cfg, seed=3)
    assert len(rows) == len(expected)
    np.testing.assert_allclose(rows["volume"], expected["volume"])
    np.testing.assert_allclose(rows["hi95"], expected["hi95"])
    wape = result.metrics.set_index("model")["wape"]
    assert {m["model"]: m["wape"] for m in acc["models"]} == pytest.approx(wape.to_dict())


def _next_days(n: int) -> list[str]:
    """The first ``n`` forecast days of BODY (the days after its history), ISO."""
    last = max(pd.Timestamp(v["interval_start"]) for v in BODY["volumes"])
    return [str((last.normalize() + pd.Timedelta(days=k + 1)).date()) for k in range(n)]


def test_events_and_sample_paths_match_the_library(service: Service) -> None:
    """A declared campaign (given multiplier, phone only) and a learned new customer reach the
    models as the CLI's --event does; sample paths are the library's, aligned with the rows."""
    d = _next_days(3)
    events = [
        {"name": "campaign", "start": d[1], "end": d[2], "multiplier": 1.5, "queues": ["phone"]},
        {"name": "new_customer", "start": d[0], "end": None},
    ]
    body = {**BODY, "events": events, "sample_paths": 4}
    r = _submit(service, body)
    assert r.status_code == 202, r.text
    job = _wait(service, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    res = job["result"]
    rows = pd.DataFrame(res["rows"])
    paths = np.array(res["paths"])
    assert paths.shape == (4, len(rows)) and (paths >= 0).all()
    assert np.array_equal(paths, np.round(paths))  # counts

    table = pd.DataFrame(BODY["volumes"])
    table["interval_start"] = pd.to_datetime(table["interval_start"], utc=True)
    table = table.rename(columns={"channel": "queue"})
    declared = [
        parse_event(f"campaign:{d[1]}:{d[2]}:1.5@phone"),
        parse_event(f"new_customer:{d[0]}::"),
    ]
    cfg = BacktestConfig(horizon_days=7, models=("naive", "avg4", "ets"), gbm=GbmParams(seed=3))

    def library(evs: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        days = special_days(years=range(2026, 2028), events=evs)
        series = build_series(table, interval_minutes=60, tz="UTC", closed_days=days.off_days)
        fitted, _ = fit(series, days, config=cfg)
        return predict(series, days, fitted, horizon_days=7, config=cfg, paths=4, seed=3)

    expected, sims = library(declared)
    np.testing.assert_allclose(rows["volume"], expected["volume"])
    assert sims is not None
    for k in range(4):
        np.testing.assert_array_equal(paths[k], sims.loc[sims["path"] == k, "volume"])
    plain, _ = library([])
    day = pd.to_datetime(rows["interval_start"]).dt.strftime("%Y-%m-%d")
    on = (rows["queue"] == "phone") & day.isin(d[1:3]) & (plain["volume"] > 0)
    assert on.sum() > 0
    np.testing.assert_allclose(rows.loc[on, "volume"], 1.5 * plain.loc[on, "volume"])
    off = (rows["queue"] == "email") | ~day.isin(d[1:3])
    np.testing.assert_allclose(rows.loc[off, "volume"], plain.loc[off, "volume"])


def test_tickets_with_a_policy_calendar(service: Service) -> None:
    """Ticket rows, handle times, hours and zone from the server policy's `business` calendar
    (Mon-Fri 09:00-17:00 Europe/London): only open intervals are forecast, with handle times."""
    body = {
        "tickets": _tickets(),
        "interval_minutes": 60,
        "horizon_days": 3,
        "models": ["ets"],
        "calendar": "business",
    }
    r = _submit(service, body, role="admin")
    assert r.status_code == 202, r.text
    job = _wait(service, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    res = job["result"]
    assert res["queues"] == ["all"] and res["timezone"] == "Europe/London"
    starts = pd.to_datetime([row["interval_start"] for row in res["rows"]], utc=True)
    local = starts.tz_convert("Europe/London")
    assert ((local.hour >= 9) & (local.hour < 17) & (local.day_of_week < 5)).all()
    aht = [row["aht_seconds"] for row in res["rows"]]
    assert all(a is not None and 100 < a < 700 for a in aht)


def test_scorer_is_refused_and_no_key_is_401_before_the_body(service: Service) -> None:
    r = _submit(service, BODY, role="scorer")
    assert r.status_code == 403 and "scorer" in r.json()["detail"]
    r = service.client.post(
        "/v1/forecasts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 401
    r = service.client.get("/v1/forecasts/abc", headers=service.headers("scheduler"))
    assert r.status_code == 403


def _body(**changes: Any) -> dict[str, Any]:
    body = {**BODY, **changes}
    return {k: v for k, v in body.items() if v is not None}


def _row(**changes: Any) -> list[dict[str, Any]]:
    return [{**BODY["volumes"][0], **changes}, *BODY["volumes"][1:]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(tickets=_tickets(1)[:3]), "tickets"),  # both histories
        (_body(volumes=None), "tickets"),  # neither
        (_body(volumes=[]), "volumes"),
        (_body(interval_minutes=45), "interval_minutes"),
        (_body(horizon_days=57), "horizon_days"),
        (_body(horizon_days=0), "horizon_days"),
        (_body(horizon_days=7.0), "horizon_days"),
        (_body(volumes=_row(interval_start="1850-01-01T00:00:00Z")), "volumes[0].interval_start"),
        (_body(volumes=_row(interval_start="2300-01-01T00:00:00Z")), "volumes[0].interval_start"),
        (_body(volumes=_row(interval_start="2026-01-05T08:00:00")), "volumes[0].interval_start"),
        (_body(volumes=_row(volume=-1)), "volumes[0].volume"),
        (_body(volumes=_row(volume="NaN")), "volumes[0].volume"),
        (_body(volumes=_row(channel=None)), "volumes[0].channel"),
        (_body(by=["colour"]), "by[0]"),
        (_body(by=["channel", "channel"]), "by"),
        (_body(models=["prophet"]), "models[0]"),
        (_body(holiday_country="XX"), "holiday_country"),
        (_body(holiday_country="/etc/passwd"), "holiday_country"),
        (_body(calendar="nope"), "calendar"),
        (_body(timezone="Mars/Olympus"), "timezone"),
        (_body(timezone="../../etc/passwd"), "timezone"),
        (_body(policy_path="/etc/slarisk/policy.yaml"), "policy_path"),
        (_body(volumes=_volumes(weeks=5)), "volumes"),  # too short to backtest
        (_body(volumes=[{**v, "volume": 0.0} for v in BODY["volumes"]]), "volumes"),
        (_body(seed=-1), "seed"),
        (_body(sample_paths=101), "sample_paths"),
        (_body(sample_paths=True), "sample_paths"),
        (
            _body(events=[{"name": "x", "start": "2026-03-05", "end": "2026-03-04"}]),
            "events[0].end",
        ),
        (_body(events=[{"name": "x", "start": "2026-03-05"}]), "events[0].end"),  # null or a day
        (_body(events=[{"name": "x y", "start": "2026-03-05", "end": None}]), "events[0].name"),
        (
            _body(events=[{"name": "x", "start": "2026-03-05", "end": None, "multiplier": 0}]),
            "events[0].multiplier",
        ),
        (
            _body(events=[{"name": "x", "start": "2026-03-05", "end": None, "queues": ["fax"]}]),
            "events[0].queues",
        ),
    ],
)
def test_invalid_forecasts_name_the_field(service: Service, body: Any, field: str) -> None:
    r = _submit(service, body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field), r.json()


def test_limits_are_settings(make_service: ServiceFactory) -> None:
    service = make_service(
        max_forecast_rows=len(BODY["volumes"]) - 1,
        max_forecast_queues=1,
        max_forecast_history_days=45,
    )
    r = _submit(service, BODY)
    assert r.status_code == 413, r.text
    assert r.json()["detail"].startswith("volumes") and "(max_forecast_rows)" in r.json()["detail"]
    few = _volumes(weeks=7)[: len(BODY["volumes"]) - 1]
    r = _submit(service, _body(volumes=few))
    assert r.status_code == 422 and "(max_forecast_history_days)" in r.json()["detail"]
    service = make_service(max_forecast_queues=1)
    r = _submit(service, BODY)
    assert r.status_code == 422 and r.json()["detail"].startswith("by: 2 queues exceed")
    # 2 queues x 7 days x 24 intervals = 336 values per path
    service = make_service(max_forecast_path_values=336 * 2)
    assert _submit(service, _body(sample_paths=2)).status_code == 202
    r = _submit(service, _body(sample_paths=3))
    assert r.status_code == 422 and r.json()["detail"].startswith("sample_paths")
    assert "(max_forecast_path_values)" in r.json()["detail"]


def test_unknown_or_other_kind_of_job_is_404(service: Service) -> None:
    r = service.client.get("/v1/forecasts/abc", headers=service.headers("planner"))
    assert r.status_code == 404 and "abc" in r.json()["detail"]
    job = service.app.state.service.jobs.submit("simulation", {"scenario": {}}, "k")
    r = service.client.get(f"/v1/forecasts/{job.id}", headers=service.headers("planner"))
    assert r.status_code == 404


def test_submission_is_audited(service: Service) -> None:
    from slarisk.service import audit

    r = _submit(service, BODY, role="sales")
    rec = audit.recent(service.store, 1)[0]
    assert rec.endpoint == "forecasts.submit" and rec.key_id == service.key_ids["sales"]
    assert rec.outputs["job_id"] == r.json()["id"]
    assert rec.n_items == len(BODY["volumes"])


def test_a_history_the_model_cannot_fit_fails_the_job_with_the_reason(service: Service) -> None:
    """Two arrivals 7 weeks apart pass the edge checks; LightGBM has no arrival to learn from
    at the first origin, so the job fails naming the models, not as an internal error."""
    sparse = [
        {"interval_start": "2026-01-05T10:00:00Z", "volume": 5.0},
        {"interval_start": "2026-02-20T10:00:00Z", "volume": 3.0},
    ]
    r = _submit(service, {"volumes": sparse, "models": ["lgbm"]})
    assert r.status_code == 202, r.text
    job = _wait(service, r.json()["id"])
    assert job["status"] == "failed" and job["result"] is None
    assert job["error"].startswith("models: a model could not be fitted on this history")
