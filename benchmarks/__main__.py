"""Run every benchmarks/bench_*.py module's `run(quick)` and print the ratios.

Usage: python -m benchmarks [--quick] [name ...]
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    for name in names:
        if wanted and not any(w in name for w in wanted):
            continue
        print(f"\n=== {name}")
        module = importlib.import_module(f"benchmarks.{name}")
        module.run(quick=quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
