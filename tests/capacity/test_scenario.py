"""Scenario spec: shipped scenarios load; bad files give one message naming file and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from slarisk.capacity.scenario import (
    load_scenario,
    sample_count,
    sample_duration,
    scenario_from_dict,
)
from slarisk.capacity.sim import compile_scenario
from slarisk.cli import app
from slarisk.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
#: the scenario files of simulations/ (it also holds the schedule's shift and agent files)
SHIPPED = sorted(
    p for p in (ROOT / "simulations").glob("*.yaml") if "classes" in yaml.safe_load(p.read_text())
)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_load_and_compile(path: Path) -> None:
    sc = load_scenario(path)
    model = compile_scenario(sc)
    assert len(model.staff_changes) > 0
    if sc.arrivals.replay is None:
        assert model.class_rates.sum() > 0


def test_the_three_example_scenarios_exist() -> None:
    assert {"baseline", "holiday_peak", "new_customer"} <= {p.stem for p in SHIPPED}


def base() -> dict:
    return yaml.safe_load((ROOT / "simulations" / "tiny.yaml").read_text())


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (
            lambda d: d["classes"][0]["handle"].update(mean=-3),
            "classes[0:p1_gold_phone].handle.mean",
            "greater than 0",
        ),
        (
            lambda d: d["classes"][1].update(colour="red"),
            "classes[1:p3_silver_email].colour",
            "unknown field 'colour'",
        ),
        (lambda d: d.pop("horizon_hours"), "(top level)", "horizon_hours or horizon_days"),
        (
            lambda d: d["staffing"]["teams"][0].update(serves=["nope"]),
            "(top level)",
            "unknown class",
        ),
        (lambda d: d["arrivals"].update(hourly_rates=[1, 2]), "arrivals", "exactly one of"),
        (
            lambda d: d["classes"][0].update(touches={"dist": "fixed", "value": 2}),
            "classes[0:p1_gold_phone]",
            "touches > 1 need mode: async",
        ),
        (
            lambda d: d["classes"][1].update(customer_wait=None),
            "classes[1:p3_silver_email]",
            "customer_wait is required",
        ),
        (
            lambda d: d["staffing"]["shifts"][0].update(start="25:00"),
            "staffing.shifts[0].start",
            "HH:MM",
        ),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone", "unknown timezone"),
        (
            lambda d: d["classes"][0]["handle"].update(dist="weibull"),
            "classes[0:p1_gold_phone].handle",
            "weibull",
        ),
    ],
)
def test_errors_name_file_and_field(tmp_path: Path, edit, field: str, words: str) -> None:
    data = base()
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError) as info:
        load_scenario(path)
    exc = info.value
    assert exc.path == str(path)
    assert exc.field == field
    assert words in str(exc)
    assert str(exc).startswith(f"{path}: {field}: ")


def test_policy_mismatch_names_the_class(tmp_path: Path) -> None:
    data = base()
    data["classes"][0]["tier"] = "platinum"
    data["policy"] = str(ROOT / "policies" / "default.yaml")
    with pytest.raises(InputError, match=r"p1_gold_phone.*platinum"):
        compile_scenario(scenario_from_dict(data, path="x.yaml"))


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match=r"broken.yaml: invalid YAML at line"):
        load_scenario(bad)
    with pytest.raises(InputError, match="scenario file not found"):
        load_scenario(tmp_path / "absent.yaml")


def test_distributions_have_the_stated_means() -> None:
    rng = np.random.default_rng(0)
    cases = [
        ({"dist": "exponential", "mean": 2.0, "unit": "minutes"}, 120.0),
        ({"dist": "lognormal", "mean": 3.0, "sd": 2.0, "unit": "hours"}, 3 * 3600.0),
        ({"dist": "gamma", "shape": 2.5, "mean": 30.0, "unit": "seconds"}, 30.0),
        ({"dist": "empirical", "values": [1, 2, 6], "unit": "minutes"}, 180.0),
        ({"dist": "fixed", "value": 1.5, "unit": "days"}, 1.5 * 86400),
    ]
    for spec, mean in cases:
        sc = scenario_from_dict({**base(), "classes": [{**base()["classes"][0], "handle": spec}]})
        x = sample_duration(sc.classes[0].handle, rng, 200_000)
        assert x.mean() == pytest.approx(mean, rel=0.02)
    geo = scenario_from_dict(base()).classes[1].touches
    k = sample_count(geo, rng, 200_000)
    assert k.min() == 1
    assert k.mean() == pytest.approx(2.0, rel=0.02)


def test_cli_bad_scenario_exits_2_with_one_line(tmp_path: Path) -> None:
    data = base()
    data["classes"][0]["handle"]["mean"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["simulate", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    text = result.output.strip()
    assert "Traceback" not in text
    assert "bad.yaml" in text and "classes[0:p1_gold_phone].handle.mean" in text


def test_naive_spike_and_customer_times_are_utc_like_start() -> None:
    data = yaml.safe_load((ROOT / "simulations" / "tiny.yaml").read_text())
    arrivals = data.setdefault("arrivals", {})
    arrivals.setdefault("spikes", []).append(
        {"start": "2026-03-02T08:00:00", "end": "2026-03-02T12:00:00", "multiplier": 2.0}
    )
    arrivals.setdefault("added_customers", []).append(
        {"name": "newco", "tickets_per_week": 50, "start": "2026-03-02T00:00:00"}
    )
    sc = scenario_from_dict(data, path="naive.yaml", base_dir=str(ROOT / "simulations"))
    spike = sc.arrivals.spikes[-1]
    assert spike.start.utcoffset() is not None and spike.start.hour == 8
    compile_scenario(sc)  # used to fail with a TypeError on tz_convert of a naive time
