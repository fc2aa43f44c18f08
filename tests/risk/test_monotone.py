"""Monotone constraints of the breach model: name/pattern resolution, the constraint really
honoured by the fitted Pipeline (and violated without it), the spec option, and the fast scoring
path still reproducing a constrained model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.risk.classifier import BreachClassifier, monotone_vector
from slarisk.risk.model import fit_risk_model, make_pipeline
from slarisk.risk.score import score_open_tickets
from slarisk.risk.spec import parse_spec
from slarisk.risk.tuning import model_params

from .conftest import FAST_PARAMS, Trained
from .score_reference import reference_scores
from .test_score import _assert_same_scores

MIN = {"name": "t", "data": {"source": "x"}, "policy": "p.yaml"}


def test_monotone_vector_resolves_names_and_patterns() -> None:
    names = ["metric", "backlog_total", "backlog_per_agent", "agents_now", "hour"]
    cons = {"backlog_*": 1, "agents_now": -1}
    assert monotone_vector(names, cons) == (0, 1, 1, -1, 0)
    # an exact name overrides a pattern of the other sign
    assert monotone_vector(names, {"backlog_*": 1, "backlog_per_agent": -1}) == (0, 1, -1, 0, 0)
    assert monotone_vector(names, None) == (0,) * 5
    with pytest.raises(ValueError, match="both signs"):
        monotone_vector(names, {"backlog_*": 1, "*_per_agent": -1})
    with pytest.raises(ValueError, match="match no feature"):
        monotone_vector(names, {"backlog_totl": 1})
    with pytest.raises(ValueError, match="-1, 0 or \\+1"):
        monotone_vector(names, {"hour": 2})


def _wiggly(seed: int = 3, n: int = 6000) -> tuple[pd.DataFrame, np.ndarray]:
    """y rises with x overall but dips in the middle (so an unconstrained model is not
    monotone in x); z and a category add signal of their own."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 10.0, n)
    z = rng.normal(size=n)
    metric = rng.choice(["first_response", "resolution"], n)
    logit = 0.5 * x - 3.0 * np.exp(-((x - 5.0) ** 2)) - 2.5 + z + (metric == "resolution")
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame({"metric": metric, "x": x, "z": z}), y


def _along_x(pipe, X: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Predicted probability (rows) for each value of x on ``grid`` (columns), other features
    of each row fixed."""
    rows = X.iloc[np.repeat(np.arange(len(X)), len(grid))].reset_index(drop=True)
    rows["x"] = np.tile(grid, len(X))
    return pipe.predict_proba(rows)[:, 1].reshape(len(X), len(grid))


_PARAMS = {"n_estimators": 80, "num_leaves": 15, "min_child_samples": 20, "learning_rate": 0.1}
_GRID = np.linspace(-2.0, 12.0, 141)  # beyond the training range on both sides


@pytest.mark.parametrize("calibration", ["blend", "none"])
@pytest.mark.parametrize("method", ["basic", "intermediate", "advanced"])
def test_constraints_are_honoured_by_the_fitted_pipeline(calibration: str, method: str) -> None:
    X, y = _wiggly()
    probe = X.sample(40, random_state=0)
    free = make_pipeline(
        {**_PARAMS, "calibration": calibration}, categorical=["metric"], numeric=["x", "z"]
    ).fit(X, y)
    assert (np.diff(_along_x(free, probe, _GRID), axis=1) < -1e-6).any()  # the dip is learnt
    for sign in (1, -1):
        pipe = make_pipeline(
            {
                **_PARAMS,
                "calibration": calibration,
                "monotone_constraints": {"x": sign},
                "monotone_constraints_method": method,
            },
            categorical=["metric"],
            numeric=["x", "z"],
        ).fit(X, y)
        step = sign * np.diff(_along_x(pipe, probe, _GRID), axis=1)
        assert (step >= -1e-12).all()
        if sign == 1:
            assert (step > 1e-6).any()  # not a flat model: x still raises the risk
        clf = pipe.named_steps["clf"]
        assert clf.booster_.params["monotone_constraints"] == [0, sign, 0]


def test_constraint_misuse_is_reported() -> None:
    X, y = _wiggly(n=500)
    no_names = make_pipeline({"monotone_constraints": {"x": 1}}, categorical=["metric"])
    with pytest.raises(ValueError, match="feature_names"):
        no_names.fit(X, y)
    on_category = make_pipeline(
        {"monotone_constraints": {"metric": 1}}, categorical=["metric"], numeric=["x", "z"]
    )
    with pytest.raises(ValueError, match="categorical"):
        on_category.fit(X, y)
    bad_method = make_pipeline(
        {"monotone_constraints": {"x": 1}, "monotone_constraints_method": "strict"},
        categorical=["metric"],
        numeric=["x", "z"],
    )
    with pytest.raises(ValueError, match="monotone_constraints_method"):
        bad_method.fit(X, y)
    assert "monotone_constraints" not in BreachClassifier().lgb_params(3)


def test_spec_option_reaches_the_model_params() -> None:
    plain = model_params(parse_spec(MIN), {})
    assert "monotone_constraints" not in plain
    spec = parse_spec(
        {
            **MIN,
            "model": {
                "monotone_constraints": {"backlog_*": 1, "agents_*": -1},
                "monotone_constraints_method": "intermediate",
            },
        }
    )
    p = model_params(spec, {})
    assert p["monotone_constraints"] == {"backlog_*": 1, "agents_*": -1}
    assert p["monotone_constraints_method"] == "intermediate"
    from slarisk.errors import InputError

    with pytest.raises(InputError, match=r"model\.monotone_constraints"):
        parse_spec({**MIN, "model": {"monotone_constraints": {"x": 2}}})


#: the workload directions measured in docs/risk_model.md (hot desk).
WORKLOAD = {
    "backlog_*": 1,
    "overdue_share": 1,
    "ahead_per_team_agent": 1,
    "elapsed_fraction": 1,
    "arrivals_*": 1,
    "agents_*": -1,
    "business_left_hours": -1,
    "wall_left_hours": -1,
    "hist_breach_rate_*": 1,
}


@pytest.mark.parametrize(
    ("calibration", "offset"), [("blend", 0.0), ("none", 0.0), ("temperature", 0.1)]
)
def test_fast_path_reproduces_a_constrained_model(
    trained: Trained, calibration: str, offset: float
) -> None:
    """The shipped pipeline's configuration (temperature on a slice before the newest rows)
    among them: scoring keeps its fast calibrator and gives the from-scratch reference's scores."""
    from slarisk.risk import score_tables

    t = trained
    model = fit_risk_model(
        t.data,  # type: ignore[arg-type]
        {
            **FAST_PARAMS,
            "calibration": calibration,
            "calibration_offset": offset,
            "monotone_constraints": WORKLOAD,
        },
        tickets=t.closed,
    )
    clf = model.pipeline.named_steps["clf"]
    if calibration == "temperature":
        sig = clf.calibrator_["sigmoid"]
        assert clf.calibrator_["isotonic"] is None and float(sig.intercept_[0]) == 0.0
        assert score_tables._fast_calibrator(clf) is not None  # not the slow fallback
    vec = dict(zip(model.feature_names, clf.booster_.params["monotone_constraints"], strict=True))
    assert vec["backlog_total"] == vec["backlog_per_agent"] == vec["elapsed_fraction"] == 1
    assert vec["agents_now"] == vec["business_left_hours"] == -1
    assert vec["age_hours"] == vec["priority"] == 0
    staffing = t.history.staffing
    general = reference_scores(model, t.open_tickets, t.now, t.history.policy, staffing)
    fast = score_open_tickets(model, t.open_tickets, t.now, t.history.policy, staffing)
    _assert_same_scores(general, fast)
    for i in range(3):  # single tickets too
        one = t.open_tickets.iloc[[i]]
        _assert_same_scores(
            reference_scores(model, one, t.now, t.history.policy, staffing),
            score_open_tickets(model, one, t.now, t.history.policy, staffing),
        )


def test_calibration_slice_can_end_before_the_newest_rows(monkeypatch) -> None:
    """``calibration_offset``: the calibrator sees the slice that ends that share of rows
    before the end, and the trees the rows before and after it; a temperature calibrator is a
    slope through the origin (raw 0 -> 0.5)."""
    from slarisk.risk.classifier import BreachClassifier

    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 3))
    y = (X[:, 0] + rng.normal(size=1000) > 0).astype(int)
    seen: dict[str, np.ndarray] = {}
    orig = BreachClassifier.decision_function

    def spy(self: BreachClassifier, rows: np.ndarray) -> np.ndarray:
        seen["rows"] = np.asarray(rows).copy()
        return orig(self, rows)

    monkeypatch.setattr(BreachClassifier, "decision_function", spy)
    clf = BreachClassifier(
        n_estimators=5, calibration="temperature", calibration_fraction=0.2,
        calibration_offset=0.1,
    ).fit(X, y)  # fmt: skip
    np.testing.assert_array_equal(seen["rows"], X[700:900])
    assert clf.calibrate(np.array([0.0]))[0] == pytest.approx(0.5)
    assert float(clf.calibrator_["sigmoid"].coef_[0, 0]) > 0
    with pytest.raises(ValueError, match="calibration_offset"):
        BreachClassifier(n_estimators=5, calibration_fraction=0.4, calibration_offset=0.6).fit(X, y)
