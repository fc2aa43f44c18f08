"""Duration distributions of the scenario format (exponential, lognormal, gamma, empirical,
fixed; each with its ``unit``), their plausible ranges, means and vectorised sampling.

Shared by :mod:`slarisk.capacity.scenario` (classes) and :mod:`slarisk.capacity.lifecycle`
(the outside-the-queue lifecycle of a class); the compiled simulator works in seconds.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

Unit = Literal["seconds", "minutes", "hours", "days"]
UNIT_SECONDS: dict[str, float] = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]

#: any duration parameter (mean, sd, value) of a distribution, in seconds: 365 days.
MAX_DURATION_SECONDS = 365 * 86400.0
#: values of an empirical distribution.
MAX_EMPIRICAL_VALUES = 100_000
#: shape of a gamma duration (larger: practically fixed).
MAX_GAMMA_SHAPE = 1_000_000


class SpecModel(BaseModel):
    """Base of the scenario spec models: unknown keys refused, frozen, finite numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_Strict = SpecModel


def _check_duration(d: Any) -> None:
    """Every duration parameter of `d` within MAX_DURATION_SECONDS (in its unit)."""
    f = UNIT_SECONDS[d.unit]
    for key in ("mean", "sd", "value", "values"):
        v = getattr(d, key, None)
        if v is None:
            continue
        top = max(v) if isinstance(v, list) else v
        if top * f > MAX_DURATION_SECONDS:
            raise ValueError(
                f"{key} {top:g} {d.unit} is above the limit of"
                f" {MAX_DURATION_SECONDS / UNIT_SECONDS[d.unit]:g} {d.unit} (365 days)"
            )


# --- distributions (durations) ------------------------------------------------------------
class Exponential(_Strict):
    """Exponential duration with the given mean (in `unit`)."""

    dist: Literal["exponential"]
    mean: PosFloat
    unit: Unit = "minutes"

    @model_validator(mode="after")
    def _limit(self) -> Exponential:
        _check_duration(self)
        return self


class Lognormal(_Strict):
    """Lognormal duration given by its mean and standard deviation (in `unit`)."""

    dist: Literal["lognormal"]
    mean: PosFloat
    sd: PosFloat
    unit: Unit = "minutes"

    @model_validator(mode="after")
    def _limit(self) -> Lognormal:
        _check_duration(self)
        return self


class Gamma(_Strict):
    """Gamma duration given by its shape and mean (in `unit`)."""

    dist: Literal["gamma"]
    shape: float = Field(gt=0, le=MAX_GAMMA_SHAPE)
    mean: PosFloat
    unit: Unit = "minutes"

    @model_validator(mode="after")
    def _limit(self) -> Gamma:
        _check_duration(self)
        return self


class Empirical(_Strict):
    """Durations resampled uniformly from observed values (in `unit`)."""

    dist: Literal["empirical"]
    values: list[NonNegFloat] = Field(min_length=1, max_length=MAX_EMPIRICAL_VALUES)
    unit: Unit = "minutes"

    @model_validator(mode="after")
    def _limit(self) -> Empirical:
        _check_duration(self)
        return self


class Fixed(_Strict):
    """A constant duration (in `unit`)."""

    dist: Literal["fixed"]
    value: NonNegFloat
    unit: Unit = "minutes"

    @model_validator(mode="after")
    def _limit(self) -> Fixed:
        _check_duration(self)
        return self


Duration = Annotated[
    Exponential | Lognormal | Gamma | Empirical | Fixed, Field(discriminator="dist")
]


def duration_mean_seconds(d: Duration) -> float:
    """Mean of a duration distribution, in seconds."""
    f = UNIT_SECONDS[d.unit]
    if isinstance(d, Empirical):
        return float(np.mean(d.values)) * f
    if isinstance(d, Fixed):
        return d.value * f
    return d.mean * f


def sample_duration(d: Duration, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw `n` durations in seconds (vectorised)."""
    f = UNIT_SECONDS[d.unit]
    if isinstance(d, Exponential):
        out = rng.exponential(d.mean, n)
    elif isinstance(d, Lognormal):
        sigma2 = math.log1p((d.sd / d.mean) ** 2)
        out = rng.lognormal(math.log(d.mean) - sigma2 / 2, math.sqrt(sigma2), n)
    elif isinstance(d, Gamma):
        out = rng.gamma(d.shape, d.mean / d.shape, n)
    elif isinstance(d, Empirical):
        out = rng.choice(np.asarray(d.values, dtype=float), n)
    else:
        out = np.full(n, d.value)
    return np.asarray(out, dtype=float) * f
