"""Every HTML report page loads in a real headless browser without console errors.

Needs Debian's chromium package at /usr/bin/chromium (`.ci/run` installs it); skips with the
reason where it is absent. A page with a deliberate error checks that errors are caught.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from slarisk.cli import app
from tests.capacity.call_log_samples import synthetic_log
from tests.reports.browser import CHROMIUM, page_problems

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"{CHROMIUM} is absent (apt-get install chromium); the browser check is skipped",
)


def _invoke(*args: str) -> None:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output


def _sla_page(tmp: Path) -> Path:
    tickets = pd.DataFrame(
        {
            "ticket_id": ["a", "b", "c", "d"],
            "created_at": ["2026-03-02T10:00Z", "2026-03-05T10:00Z", "2026-04-01T09:30Z",
                           "2026-04-02T09:00Z"],
            "first_response_at": ["2026-03-02T10:10Z", "2026-03-05T11:00Z", "", ""],
            "resolved_at": ["2026-03-02T12:00Z", "2026-03-05T20:00Z", "2026-04-03T10:00Z", ""],
            "priority": ["P1", "P2", "P3", "P1"],
            "tier": ["gold", "silver", "bronze", "gold"],
            "region": ["EMEA", "US", "EMEA", "US"],
            "customer": ["acme", "globex", "acme", "acme"],
            "source_made_sla": ["true", "false", "true", "false"],
        }
    )  # fmt: skip
    tickets.to_csv(tmp / "t.csv", index=False)
    out = tmp / "sla.html"
    _invoke("sla", "report", "--policy", str(ROOT / "policies" / "default.yaml"), "--tickets",
            str(tmp / "t.csv"), "--now", "2026-04-06T12:00Z", "--out", str(out))  # fmt: skip
    return out


def _simulation_page(tmp: Path) -> Path:
    out = tmp / "sim"
    _invoke("simulate", str(ROOT / "simulations" / "tiny.yaml"), "--replications", "1",
            "--out", str(out))  # fmt: skip
    return out / "report.html"


def _fit_validation_page(tmp: Path) -> Path:
    synthetic_log(tmp / "calls_1999_january.txt.gz", days=3)
    _invoke("capacity", "validate-fit", "--calls-dir", str(tmp), "--train", "1999-01",
            "--test", "1999-01", "--replications", "1", "--methods", "span",
            "--out", str(tmp / "fv"))  # fmt: skip
    return tmp / "fv" / "report.html"


@pytest.mark.parametrize("build", [_sla_page, _simulation_page, _fit_validation_page])
def test_report_page_has_no_console_errors(tmp_path: Path, build) -> None:  # type: ignore[no-untyped-def]
    page = build(tmp_path)
    assert page.is_file()
    assert page_problems(page) == []


def test_the_check_catches_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        '<!doctype html><html><body><img alt="broken plot" src="data:image/png;base64,AAAA">'
        '<script>console.error("boom"); undefinedFunction();</script></body></html>',
        encoding="utf-8",
    )
    problems = page_problems(page)
    assert "console.error: boom" in problems
    assert any(p.startswith("exception: ReferenceError") for p in problems)
    assert "image did not load: broken plot" in problems
