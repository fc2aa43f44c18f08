"""Reading YAML spec files (policies, scenarios, mappings, pipelines): one place, one message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from slarisk.errors import InputError


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse the YAML file at ``path``; ``what`` names the kind of file in error messages.

    Raises InputError naming the file: "<what> file not found", "cannot read <what> file: ...",
    or "invalid YAML at line L, column C: <problem>".
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} file not found", path=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot read {what} file: {reason}", path=source) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"invalid YAML{where}: {problem}", path=source) from None
