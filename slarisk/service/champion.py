"""The served champion model, swapped atomically on reload (requests keep the one they took)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model and what the service says about it."""

    model: Any
    version: str
    source: str
    trained_at: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


class ModelHolder:
    """Holds the current model; ``reload`` builds the new one first, then swaps one reference.

    Readers call :attr:`current` once per request and use that object throughout, so a reload
    never changes the model under a request in flight and no request waits for a reload.
    """

    def __init__(self, loader: Callable[[], LoadedModel]) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self.current: LoadedModel | None = None
        self.error: str | None = None

    def load(self) -> LoadedModel:
        """Load the champion and swap it in; on failure keep the old one and raise."""
        with self._lock:
            try:
                new = self._loader()
            except Exception as exc:
                self.error = str(exc) or type(exc).__name__
                raise
            self.current, self.error = new, None
            return new
