"""Training spec validation: the shipped specs load; every error names the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slarisk.errors import InputError
from slarisk.risk.spec import TrainSpec, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = {"name": "t", "data": {"source": "demo_out/history"}, "policy": "policies/default.yaml"}


def _write(tmp_path: Path, data: object) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return p


@pytest.mark.parametrize("name", ["breach_risk.yaml", "servicenow.yaml"])
def test_shipped_specs_load(name: str) -> None:
    spec = load_spec(ROOT / "pipelines" / name)
    assert isinstance(spec, TrainSpec)
    assert spec.path == ROOT / "pipelines" / name
    assert spec.search.n_trials >= 1
    assert spec.tracking.registered_model.startswith("slarisk-breach-risk")


def test_demo_spec_points_at_synthetic_history() -> None:
    spec = load_spec(ROOT / "pipelines" / "breach_risk.yaml")
    assert spec.data.importer == "canonical"
    assert spec.data.source == ROOT / "demo_out" / "history"  # relative to pipelines/
    assert spec.policy == ROOT / "policies" / "default.yaml"
    assert spec.landmarks.fractions == (0.0, 0.25, 0.5, 0.75)
    assert spec.tracking.registered_model == "slarisk-breach-risk"


def test_minimal_spec_gets_defaults() -> None:
    spec = parse_spec(MINIMAL, "x.yaml")
    assert spec.split.test_fraction == 0.3
    assert spec.search.objective == "log_loss"
    assert set(spec.search.space) >= {"learning_rate", "num_leaves"}
    assert spec.model.num_threads == 1
    assert spec.model.calibration == "blend"
    assert spec.landmarks.censoring == "due"
    assert spec.seed == 42


def test_overrides_replace_trials_and_seed_only() -> None:
    spec = parse_spec(MINIMAL, "x.yaml")
    out = spec.with_overrides(trials=3, seed=7)
    assert (out.search.n_trials, out.seed) == (3, 7)
    assert out.search.space == spec.search.space
    assert spec.with_overrides() == spec
    moved = spec.with_overrides(data_source="elsewhere/history")
    assert moved.data.source == Path("elsewhere/history")
    assert moved.data.importer == spec.data.importer
    with pytest.raises(InputError, match=r"search\.n_trials"):
        spec.with_overrides(trials=0)


@pytest.mark.parametrize(
    ("patch", "field", "words"),
    [
        (
            {"search": {"space": {"learning_rate": {"low": 0.5, "high": 0.1}}}},
            "search.space.learning_rate",
            "below low",
        ),
        (
            {"search": {"space": {"lr": {"low": 0.0, "high": 1.0, "log": True}}}},
            "search.space.lr",
            "low > 0",
        ),
        ({"split": {"test_fraction": 1.5}}, "split.test_fraction", "less than 1"),
        ({"landmarks": {"fractions": [0.0, 1.2]}}, "landmarks", "[0, 1)"),
        ({"landmarks": {"scheme": "every"}}, "landmarks", "every_hours"),
        ({"data": {"source": "x", "importer": "excel"}}, "data.importer", "canonical"),
        ({"data": {"source": "x", "colour": "red"}}, "data.colour", "unknown field"),
        ({"sedd": 3}, "sedd", "unknown field 'sedd' (did you mean 'seed'?)"),
        ({"search": {"n_trials": 0}}, "search.n_trials", "greater than or equal to 1"),
        ({"promotion": {"metric": "accuracy"}}, "promotion.metric", "roc_auc"),
        ({"model": {"calibration": "platt"}}, "model.calibration", "blend"),
        ({"landmarks": {"censoring": "never"}}, "landmarks.censoring", "due"),
    ],
)
def test_errors_name_file_and_field(tmp_path: Path, patch: dict, field: str, words: str) -> None:
    path = _write(tmp_path, {**MINIMAL, **patch})
    with pytest.raises(InputError) as err:
        load_spec(path)
    msg = str(err.value)
    assert str(path) in msg
    assert err.value.field == field
    assert f": {field}:" in msg
    assert words in msg


def test_missing_required_field(tmp_path: Path) -> None:
    path = _write(tmp_path, {"name": "t", "policy": "p.yaml", "data": {}})
    with pytest.raises(InputError) as err:
        load_spec(path)
    assert err.value.field == "data.source"
    assert "required field is missing" in str(err.value)
    assert str(path) in str(err.value)


def test_not_a_mapping_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="must be a YAML mapping"):
        load_spec(_write(tmp_path, [1, 2]))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.yaml: invalid YAML at line"):
        load_spec(bad)
    with pytest.raises(InputError, match="training spec file not found"):
        load_spec(tmp_path / "absent.yaml")


def test_relative_paths_resolve_from_the_spec_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "specs"
    sub.mkdir()
    path = sub / "s.yaml"
    path.write_text(
        yaml.safe_dump({"name": "t", "data": {"source": "../hist"}, "policy": "p.yaml"}),
        encoding="utf-8",
    )
    monkeypatch.chdir(ROOT)  # the working directory does not matter
    spec = load_spec(path)
    assert spec.data.source == tmp_path / "hist"
    assert spec.policy == sub / "p.yaml"
    absolute = tmp_path / "elsewhere"
    path.write_text(
        yaml.safe_dump({"name": "t", "data": {"source": str(absolute)}, "policy": "p.yaml"}),
        encoding="utf-8",
    )
    assert load_spec(path).data.source == absolute
    # a --data override stays relative to the working directory
    assert load_spec(path).with_overrides(data_source="d").data.source == Path("d")
