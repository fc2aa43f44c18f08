"""Prometheus metrics of one app instance (own registry, so several apps can coexist in tests).

An ASGI middleware counts requests by route template and status and times them; it also
enforces the body size limit before anything reads the body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """The service's counters, histograms and gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "slarisk_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "slarisk_http_request_seconds",
            "HTTP request latency in seconds",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.scores = Counter(
            "slarisk_scores_served",
            "Ticket-metric risk scores served",
            ["model_version"],
            registry=r,
        )
        self.recommendations = Counter(
            "slarisk_staffing_intervals_served", "Staffing intervals recommended", registry=r
        )
        self.jobs = Counter(
            "slarisk_jobs", "Simulation jobs by final or initial status", ["status"], registry=r
        )
        self.jobs_running = Gauge("slarisk_jobs_running", "Simulation jobs running", registry=r)
        self.model_loaded = Gauge(
            "slarisk_model_loaded", "1 when a champion model is loaded", registry=r
        )
        self.model_reloads = Counter(
            "slarisk_model_reloads", "Model reloads by outcome", ["outcome"], registry=r
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and record its latency (label children cached per key)."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class ServiceMiddleware:
    """Counts and times requests and rejects bodies above ``max_body_bytes`` with 413."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}
        limit = self.max_body_bytes

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        async def too_large() -> None:
            body = json.dumps(
                {"detail": f"request body larger than the limit of {limit} bytes (max_body_bytes)"}
            ).encode()
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        try:
            declared = next(
                (v for k, v in scope.get("headers", ()) if k == b"content-length"), None
            )
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await too_large()
                return
            if scope.get("method") in ("POST", "PUT", "PATCH"):
                # Read the (bounded) body first, so a streamed body past the limit gets 413 too.
                chunks: list[bytes] = []
                received = 0
                more = True
                while more:
                    message = await receive()
                    if message["type"] != "http.request":  # client went away
                        status["code"] = 499
                        return
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > limit:
                        await too_large()
                        return
                    chunks.append(chunk)
                    more = bool(message.get("more_body", False))
                replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks)}]

                async def receive_replay() -> Message:
                    return replay.pop() if replay else await receive()

                await self.app(scope, receive_replay, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            matched = scope.get("route")  # set by the router: label by path template
            route = str(getattr(matched, "path", "unmatched"))
            self.metrics.observe_request(
                scope.get("method", ""), route, status["code"], time.perf_counter() - start
            )
