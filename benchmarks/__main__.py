"""Run every benchmarks/bench_*.py module's `run(quick)` and print the ratios.

Usage: python -m benchmarks [--quick] [--out FILE.json] [name ...]

``--out`` also writes every benchmark's figures as JSON, with when and where they were taken
(git commit, CPUs, load average before each benchmark): timings on a shared machine move with
its load, so a figure is only read together with its load.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    out: Path | None = None
    if "--out" in argv:
        i = argv.index("--out")
        if i + 1 >= len(argv):
            print("--out needs a file name", file=sys.stderr)
            return 2
        out = Path(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    wanted = [a for a in argv if not a.startswith("--")]
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    record: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": _commit(here.parent),
        "cpus": os.cpu_count(),
        "quick": quick,
        "benchmarks": {},
    }
    for name in names:
        if wanted and not any(w in name for w in wanted):
            continue
        print(f"\n=== {name}")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        module = importlib.import_module(f"benchmarks.{name}")
        result = module.run(quick=quick)
        record["benchmarks"][name] = {"load_average_1min": load, "figures": result}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nfigures -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
