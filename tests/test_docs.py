"""The user documentation cannot rot: these tests tie docs/ to the code.

- docs/cli.md has a heading for every command of the `slarisk` app (and none for a command
  that no longer exists), mentions every option of each command in its section, and shows
  each command in an example; every repository file its examples name exists.
- The YAML blocks marked ``yaml example-policy`` (docs/policy.md) and ``yaml example-scenario``
  (docs/scenarios.md) are complete examples: they are loaded with the library's own
  validators, and the scenario is compiled against its policy and simulated once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from pydantic import BaseModel

from slarisk.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CLI_MD = DOCS / "cli.md"
POLICY_MD = DOCS / "policy.md"
SCENARIOS_MD = DOCS / "scenarios.md"

#: info strings of fenced blocks that are complete, loadable examples.
POLICY_MARK = "yaml example-policy"
SCENARIO_MARK = "yaml example-scenario"
#: repository folders whose files the CLI examples may name (they must exist).
REPO_DIRS = ("policies", "simulations", "mappings", "pipelines", "tests/data/fixtures")

_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.S | re.M)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$", re.M)


def _command_tree() -> dict[str, Any]:
    """Every command path of the app ("slarisk data import" ...) -> its click command."""
    out: dict[str, Any] = {}

    def walk(cmd: Any, path: str) -> None:
        out[path] = cmd
        for name, sub in sorted((getattr(cmd, "commands", None) or {}).items()):
            if not getattr(sub, "hidden", False):
                walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "slarisk")
    del out["slarisk"]
    return out


COMMANDS = _command_tree()
LEAVES = {p: c for p, c in COMMANDS.items() if getattr(c, "commands", None) is None}


def _heading_text(raw: str) -> str:
    return raw.replace("`", "").strip()


def _sections(text: str) -> dict[str, str]:
    """Heading text -> the text up to the next heading of any level (fenced blocks included;
    a "# comment" inside a code block is not a heading)."""
    fenced = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    marks = [m for m in _HEADING.finditer(text) if not any(a <= m.start() < b for a, b in fenced)]
    out: dict[str, str] = {}
    for m, nxt in zip(marks, [*marks[1:], None], strict=True):
        end = nxt.start() if nxt is not None else len(text)
        out[_heading_text(m.group(2))] = text[m.end() : end]
    return out


def _blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block."""
    return [(m.group(1).strip(), m.group(2)) for m in _FENCE.finditer(text)]


CLI_TEXT = CLI_MD.read_text(encoding="utf-8")
CLI_SECTIONS = _sections(CLI_TEXT)


def test_the_app_has_commands() -> None:
    # guards the walk itself: a broken walk must not make the tests below vacuous
    assert {"slarisk data import", "slarisk sla report", "slarisk simulate"} <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_has_a_heading_in_cli_md(path: str) -> None:
    assert path in CLI_SECTIONS, f"docs/cli.md lacks a heading '## {path}'"


def test_no_heading_for_a_command_that_does_not_exist() -> None:
    stale = [h for h in CLI_SECTIONS if h.startswith("slarisk ") and h not in COMMANDS]
    assert not stale, f"docs/cli.md documents commands that do not exist: {stale}"


@pytest.mark.parametrize("path", sorted(LEAVES))
def test_every_option_is_mentioned_in_its_section(path: str) -> None:
    section = CLI_SECTIONS.get(path, "")
    missing = [
        opt
        for param in LEAVES[path].params
        if getattr(param, "param_type_name", "") == "option"
        for opt in param.opts
        if opt.startswith("--")
        and opt != "--help"
        and not re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", section)
    ]
    assert not missing, f"docs/cli.md section '{path}' does not mention {missing}"


@pytest.mark.parametrize("path", sorted(LEAVES))
def test_every_command_has_an_example_and_exit_codes(path: str) -> None:
    section = CLI_SECTIONS.get(path, "")
    examples = [re.sub(r"\\\n\s*", " ", body) for info, body in _blocks(section)]
    assert any(re.search(rf"(^|\s){re.escape(path)}(\s|$)", ex, re.M) for ex in examples), (
        f"docs/cli.md section '{path}' has no example running `{path}`"
    )
    assert "Exit code" in section, f"docs/cli.md section '{path}' does not give its exit codes"


def test_repository_files_named_in_cli_examples_exist() -> None:
    dirs = "|".join(re.escape(d) for d in REPO_DIRS)
    # a path starting at a word boundary (not "../policies/...", which is relative to a
    # scenario file): policies/default.yaml, tests/data/fixtures/zendesk_tickets.csv, ...
    pattern = re.compile(rf"(?<![\w./-])((?:{dirs})/[\w.-][\w./-]*)")
    named = sorted({m.group(1).rstrip(".") for m in pattern.finditer(CLI_TEXT)})
    assert len(named) >= 8, f"too few repository files found in docs/cli.md: {named}"
    missing = [p for p in named if not (ROOT / p).exists()]
    assert not missing, f"docs/cli.md names files that do not exist: {missing}"


def _marked(path: Path, mark: str) -> list[dict[str, Any]]:
    blocks = [body for info, body in _blocks(path.read_text(encoding="utf-8")) if info == mark]
    assert blocks, f"{path.name} has no ```{mark} block"
    return [yaml.safe_load(body) for body in blocks]


def test_policy_examples_are_valid_policies() -> None:
    from slarisk.sla.policy import METRICS, policy_from_dict

    for i, data in enumerate(_marked(POLICY_MD, POLICY_MARK)):
        policy = policy_from_dict(data, source=f"docs/policy.md example {i + 1}")
        for tier in policy.tiers:
            for prio in policy.priorities:
                for metric in METRICS:
                    assert policy.target_for(tier, prio, metric).seconds > 0


def test_scenario_examples_load_compile_and_run() -> None:
    from slarisk.capacity.scenario import scenario_from_dict
    from slarisk.capacity.sim import compile_scenario, simulate

    for i, data in enumerate(_marked(SCENARIOS_MD, SCENARIO_MARK)):
        # relative paths in the example resolve as if it were saved in docs/ or simulations/
        scenario = scenario_from_dict(
            data, path=f"docs/scenarios.md example {i + 1}", base_dir=str(DOCS)
        )
        if scenario.policy is not None:
            assert (DOCS / scenario.policy).exists()
        result = simulate(compile_scenario(scenario), replications=1, seed=0)
        assert int(result.summary["arrived"].sum()) > 0
        assert set(result.attainment["class"]) >= set(scenario.class_names())


def test_every_yaml_snippet_in_the_format_docs_parses() -> None:
    from slarisk.capacity.scenario import Staffing

    for path in (POLICY_MD, SCENARIOS_MD):
        for info, body in _blocks(path.read_text(encoding="utf-8")):
            if info.split(" ")[0] != "yaml":
                continue
            for doc in yaml.safe_load_all(body):
                assert isinstance(doc, dict), f"{path.name}: a yaml block is not a mapping"
                if path == SCENARIOS_MD and info == "yaml" and "staffing" in doc:
                    Staffing.model_validate(doc["staffing"])  # staffing snippets are valid


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces -> hyphens."""
    return re.sub(r"[^\w\- ]", "", _heading_text(heading).lower()).replace(" ", "-")


#: every Markdown page a reader follows links in.
LINKED_DOCS = sorted([ROOT / "README.md", ROOT / "benchmarks" / "HISTORY.md", *DOCS.glob("*.md")])


@pytest.mark.parametrize("doc", LINKED_DOCS, ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    bad = []
    for m in re.finditer(r"\]\(([^)\s#]*)(?:#([^)\s]+))?\)", text):
        target, anchor = m.group(1), m.group(2)
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path = (doc.parent / target) if target else doc
        if not path.exists():
            bad.append(m.group(0))
        elif anchor and path.suffix == ".md":
            body = path.read_text(encoding="utf-8")
            fenced = [(f.start(), f.end()) for f in _FENCE.finditer(body)]
            slugs = {
                _slug(h.group(2))
                for h in _HEADING.finditer(body)
                if not any(a <= h.start() < b for a, b in fenced)
            }
            if anchor not in slugs:
                bad.append(m.group(0))
    assert not bad, f"{doc.name}: broken links {bad}"


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """`root` and every pydantic model reachable through its field annotations."""
    from typing import get_args

    seen: list[type[BaseModel]] = []

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                return
            seen.append(tp)
            for info in tp.model_fields.values():
                visit(info.annotation)
        for arg in get_args(tp):
            visit(arg)

    visit(root)
    return seen


@pytest.mark.parametrize(
    ("doc", "root"),
    [
        (POLICY_MD, "slarisk.sla.policy:Policy"),
        (SCENARIOS_MD, "slarisk.capacity.scenario:Scenario"),
    ],
    ids=["policy", "scenario"],
)
def test_every_format_key_is_documented(doc: Path, root: str) -> None:
    import importlib

    module, name = root.split(":")
    models = _models(getattr(importlib.import_module(module), name))
    assert len(models) >= 5
    text = doc.read_text(encoding="utf-8")
    missing = [
        f"{m.__name__}.{field}"
        for m in models
        for field, info in m.model_fields.items()
        if not info.exclude and f"`{field}`" not in text
    ]
    assert not missing, f"{doc.name} does not document the key(s) {missing}"


def test_sla_report_section_lists_every_segment_and_format() -> None:
    from slarisk.cli.sla import FORMATS
    from slarisk.sla.report import SEGMENTS

    section = CLI_SECTIONS.get("slarisk sla report", "")
    missing = [v for v in (*SEGMENTS, *FORMATS) if not re.search(rf"\b{v}\b", section)]
    assert not missing, f"docs/cli.md 'slarisk sla report' does not mention {missing}"
