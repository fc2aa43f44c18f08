"""Every YAML spec reports an unknown key as `unknown field 'x' (did you mean 'y'?)`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from slarisk.capacity.scenario import scenario_from_dict
from slarisk.data.mapping import load_mapping
from slarisk.errors import InputError
from slarisk.sla.policy import policy_from_dict

ROOT = Path(__file__).resolve().parents[1]


def _yaml(rel: str) -> Any:
    return yaml.safe_load((ROOT / rel).read_text(encoding="utf-8"))


def test_scenario_typo_names_the_field_it_meant() -> None:
    data = _yaml("simulations/baseline.yaml")
    data["classes"][0]["sahre"] = data["classes"][0].pop("share")
    with pytest.raises(InputError) as info:
        scenario_from_dict(data, path="s.yaml")
    msg = str(info.value)
    assert "unknown field 'sahre' (did you mean 'share'?)" in msg
    assert msg.startswith("s.yaml: classes[0:p1_gold_phone].sahre: unknown")
    assert "Field required" not in msg and "more problem" not in msg


def test_policy_typo_top_level_and_nested() -> None:
    data = _yaml("policies/default.yaml")
    bad = copy.deepcopy(data)
    bad["calendars"]["business"]["holidyas"] = bad["calendars"]["business"].pop("holidays")
    with pytest.raises(
        InputError,
        match=r"p\.yaml: calendars\.business\.holidyas: unknown field "
        r"'holidyas' \(did you mean 'holidays'\?\)$",
    ):
        policy_from_dict(bad, "p.yaml")
    bad = copy.deepcopy(data)
    bad["zzz"] = 1
    with pytest.raises(InputError, match=r"unknown field 'zzz' \(allowed: calendars, credits"):
        policy_from_dict(bad, "p.yaml")


def test_mapping_typo(tmp_path: Path) -> None:
    data = _yaml("mappings/zendesk.yaml")
    data["extra_colums"] = data.pop("extra_columns")
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(
        InputError,
        match=r"unknown field 'extra_colums' \(did you mean "
        r"'extra_columns'\?\)",
    ):
        load_mapping(path)


def test_implausible_numbers_in_specs_name_the_limit() -> None:
    data = _yaml("policies/default.yaml")
    data["targets"][0]["hours"] = 1e300
    with pytest.raises(InputError, match=r"targets\[0\]\.hours: over the plausible limit 87,660"):
        policy_from_dict(data, "p.yaml")
    scen = _yaml("simulations/baseline.yaml")
    scen.pop("horizon_hours", None)
    scen["horizon_days"] = 1e6
    with pytest.raises(InputError, match=r"horizon_days: .*less than or equal to 3652\.5"):
        scenario_from_dict(scen, path="s.yaml")
