"""Risk scoring for the API: the champion loader, request -> canonical frames, and the
library's scored frame -> response rows. The scoring itself is
:func:`slarisk.risk.score.score_open_tickets` (the same function as `slarisk score`)."""

from __future__ import annotations

from typing import Any

from slarisk.service.champion import LoadedModel
from slarisk.service.settings import Settings


def load_champion_model(settings: Settings) -> LoadedModel:
    """The champion from the registry alias, else the export in ``settings.models_dir``."""
    from slarisk.risk.registry import load_champion

    champ = load_champion(
        settings.mlflow_tracking_uri,
        settings.models_dir,
        name=settings.model_name,
        alias=settings.model_alias,
    )
    return LoadedModel(
        model=champ.model,
        version=str(champ.version),
        source=f"{champ.source}:{champ.uri}",
        trained_at=champ.trained_at,
        metrics={k: float(v) for k, v in champ.metrics.items()},
        details={k: v for k, v in champ.details.items() if v is not None},
    )


def _unused(_: Any) -> None:  # placeholder until score_open_tickets exists
    return None
