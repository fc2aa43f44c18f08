"""SLA policy YAML: the example policies load, targets resolve, bad files give one clear error."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from slarisk.errors import InputError
from slarisk.sla.policy import METRICS, Policy, load_policy, policy_from_dict

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "policies" / "default.yaml"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT.read_text())


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DEFAULT)


@pytest.mark.parametrize("path", sorted((ROOT / "policies").glob("*.yaml")), ids=lambda p: p.name)
def test_example_policies_load_and_resolve_everything(path: Path) -> None:
    pol = load_policy(path)
    assert pol.source == str(path)
    for tier in pol.tiers:
        for prio in pol.priorities:
            for metric in METRICS:
                t = pol.target_for(tier, prio, metric)
                assert t.seconds == t.hours * 3600 > 0
                assert t.calendar in pol.calendars


def test_exact_tier_beats_wildcard(policy: Policy) -> None:
    assert policy.target_for("silver", "P2", "first_response").hours == 2
    assert policy.target_for("bronze", "P2", "first_response").hours == 4  # wildcard
    assert policy.target_for("gold", "P1", "first_response").hours == 0.25
    assert policy.target_for("silver", "P1", "first_response").calendar == "24x7"


def test_default_tier_and_unknown_values(policy: Policy) -> None:
    assert policy.target_for("unknown", "P3", "resolution").tier == "bronze"
    with pytest.raises(InputError, match="priority"):
        policy.target_for("gold", "P9", "resolution")
    with pytest.raises(InputError, match="tier"):
        policy.target_for("platinum", "P1", "resolution")
    with pytest.raises(InputError, match="metric"):
        policy.target_for("gold", "P1", "handle_time")


def test_defaults_and_derived_values(policy: Policy) -> None:
    assert policy.alert_levels == [80, 90, 100]
    assert policy.exceptions[0].start.tzinfo is not None  # naive -> policy timezone
    assert policy.exceptions[0].start.utcoffset().total_seconds() == 0  # GMT in March
    assert "pending" in policy.pause_statuses


def test_credit_schedule(policy: Policy) -> None:
    credits = policy.credits
    assert credits is not None
    pct = credits.credit_pct([-0.1, 0.0, 0.01, 0.05, 0.06, 0.2, np.nan])
    assert pct.tolist() == [0, 0, 5, 5, 10, 20, 0]
    assert credits.fee_for("acme") == 25000 and credits.fee_for("initech") == 10000
    capped = credits.model_copy(update={"cap_pct": 8.0})
    assert capped.credit_pct(0.5) == 8.0


def _error(tmp_path: Path, data: Any, name: str = "x.yaml") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as exc:
        load_policy(path)
    assert "Traceback" not in str(exc.value)
    assert "\n" not in str(exc.value)
    return str(exc.value)


def _mutated(raw: dict[str, Any], fn: Any) -> dict[str, Any]:
    data = copy.deepcopy(raw)
    fn(data)
    return data


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.yaml: policy file not found"):
        load_policy(tmp_path / "nope.yaml")


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    msg = _error(tmp_path, "name: x\ntargets: [unclosed\n")
    assert "x.yaml" in msg and "invalid YAML" in msg and "line" in msg


def test_not_a_mapping(tmp_path: Path) -> None:
    assert "mapping" in _error(tmp_path, "- just\n- a list\n")


@pytest.mark.parametrize(
    ("mutate", "field", "text"),
    [
        (lambda d: d["targets"][3].__setitem__("hours", 0), "targets[3].hours", "must be > 0"),
        (lambda d: d["targets"][3].__setitem__("goal", 1.5), "targets[3].goal", "(0, 1]"),
        (lambda d: d["targets"][2].__setitem__("calendar", "x"), "targets[2].calendar", "not a"),
        (lambda d: d["targets"][0].__setitem__("priority", "P7"), "targets[0].priority", "P7"),
        (lambda d: d["targets"][0].__setitem__("tier", "plat"), "targets[0].tier", "plat"),
        (lambda d: d["targets"][0].__setitem__("colour", "red"), "targets[0].colour", "unknown"),
        (lambda d: d["targets"][0].__setitem__("metric", "handle"), "targets[0].metric", ""),
        (lambda d: d.__setitem__("targets", d["targets"][:-1]), "targets", "no target for"),
        (lambda d: d["targets"].append(d["targets"][0]), "targets[17]", "duplicates"),
        (lambda d: d.__setitem__("timezone", "Mars/Olympus"), "timezone", "IANA"),
        (lambda d: d.pop("name"), "name", "missing"),
        (lambda d: d.__setitem__("tiers", ["a", "a"]), "tiers", "duplicate"),
        (lambda d: d.__setitem__("default_tier", "zinc"), "default_tier", "zinc"),
        (lambda d: d.__setitem__("warning_thresholds", [0.9, 0.8]), "warning_thresholds", ""),
        (
            lambda d: d["calendars"]["business"]["hours"].__setitem__("mon", [["17:00", "09:00"]]),
            "calendars.business.hours",
            "before end",
        ),
        (
            lambda d: d["calendars"]["business"]["hours"].__setitem__("mon", [["9am", "17:00"]]),
            "calendars.business.hours",
            "HH:MM",
        ),
        (
            lambda d: d["calendars"]["business"]["hours"].__setitem__(
                "tue", [["09:00", "13:00"], ["12:00", "17:00"]]
            ),
            "calendars.business.hours",
            "overlaps",
        ),
        (
            lambda d: d["calendars"]["business"]["hours"].__setitem__("funday", []),
            "calendars.business.hours.funday",
            "",
        ),
        (
            lambda d: d["calendars"]["business"].__setitem__("holidays", {"country": "XX"}),
            "calendars.business.holidays",
            "XX",
        ),
        (
            lambda d: d["calendars"]["24x7"].__setitem__("hours", {"mon": [["09:00", "10:00"]]}),
            "calendars.24x7",
            "always_open",
        ),
        (lambda d: d["calendars"].__setitem__("empty", {}), "calendars.empty", "opening"),
        (
            lambda d: d["credits"]["bands"].append({"shortfall_above": 0.01, "credit_pct": 1}),
            "credits.bands",
            "increase",
        ),
        (lambda d: d["credits"].__setitem__("cap_pct", 120), "credits.cap_pct", ""),
        (
            lambda d: d["exceptions"][1].__setitem__("end", "2026-11-01T00:00:00+00:00"),
            "exceptions[1].end",
            "after start",
        ),
        (
            lambda d: d["exceptions"][1].__setitem__("id", d["exceptions"][0]["id"]),
            "exceptions[1].id",
            "duplicate",
        ),
        (
            lambda d: d["exceptions"][0]["scope"].__setitem__("tier", ["steel"]),
            "exceptions[0].scope.tier",
            "steel",
        ),
        (
            lambda d: d["exceptions"][0]["scope"].__setitem__("weather", ["rain"]),
            "exceptions[0].scope.weather",
            "unknown field",
        ),
        (lambda d: d["exceptions"][0].pop("approver"), "exceptions[0].approver", "missing"),
    ],
)
def test_bad_policy_names_file_and_field(
    tmp_path: Path, raw: dict[str, Any], mutate: Any, field: str, text: str
) -> None:
    msg = _error(tmp_path, _mutated(raw, mutate))
    assert msg.startswith(f"{tmp_path / 'x.yaml'}: {field}"), msg
    assert text in msg


def test_unquoted_time_explains_quoting(tmp_path: Path) -> None:
    text = DEFAULT.read_text().replace('["09:00", "17:00"]', "[09:00, 17:00]", 1)
    msg = _error(tmp_path, text)
    assert "calendars.business.hours" in msg and "quote" in msg


def test_policy_from_dict_in_memory(raw: dict[str, Any]) -> None:
    pol = policy_from_dict(raw, source="request body")
    assert pol.source == "request body"
    with pytest.raises(InputError, match=r"^request body: priorities"):
        policy_from_dict({**raw, "priorities": []}, source="request body")
