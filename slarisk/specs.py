"""Reading YAML spec files (policies, scenarios, mappings, pipelines): one place, one message.

``read_yaml`` parses a file; ``unknown_field_error`` turns pydantic's "extra field" error of
any strict spec model into ``unknown field 'sahre' (did you mean 'share'?)``; ``spec_error``
turns any validation error of a spec into one InputError naming the file and field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

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


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (through list/dict/Union/Annotated...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        out.extend(_models_in(arg))
    return out


def _field_names(model: type[BaseModel]) -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        names.append(info.alias or name)
    return names


def _candidates(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names allowed at ``loc`` (a location inside ``model``); [] when unknown.

    Walks the models along ``loc``: a part that is a field moves to the models of its
    annotation; a list index, dict key or union tag keeps the current models.
    """
    current = [model]
    for part in loc:
        nxt: list[type[BaseModel]] = []
        for m in current:
            fields = {(info.alias or name): info for name, info in m.model_fields.items()}
            if isinstance(part, str) and part in fields:
                nxt.extend(_models_in(fields[part].annotation))
        if nxt:
            current = nxt
        elif isinstance(part, str) and any(part in _field_names(m) for m in current):
            return []  # a field that holds no model (e.g. a dict of plain values)
    return sorted({n for m in current for n in _field_names(m)})


def unknown_field_error(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    path: str,
    format_loc: Callable[[tuple[int | str, ...]], str] | None = None,
) -> InputError | None:
    """InputError for the first unknown key of ``exc`` with a "did you mean" hint, else None.

    Unknown keys come before other errors: a typo ``sahre:`` also makes ``share`` missing, and
    the typo is the problem to report. The message is ``unknown field 'sahre' (did you mean
    'share'?)`` (or lists the allowed fields when none is close); the field is the unknown
    key's location, formatted by ``format_loc`` (default: dotted).
    """
    errors = [e for e in exc.errors() if e["type"] == "extra_forbidden"]
    if not errors:
        return None
    err = errors[0]
    loc = tuple(err["loc"])
    key, parent = str(loc[-1]), loc[:-1]
    names = _candidates(model, parent)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        hint = f" (did you mean {close[0]!r}?)"
    elif names:
        hint = f" (allowed: {', '.join(names)})"
    else:
        hint = ""
    # the field the typo was meant to be is missing too: the same problem, not one more
    same = [
        e for e in exc.errors() if e["type"] == "missing" and tuple(e["loc"]) == (*parent, *close)
    ]
    more = len(exc.errors()) - 1 - len(same)
    tail = f" (and {more} more problem(s))" if more else ""
    fmt = format_loc or (lambda p: ".".join(str(x) for x in p))
    return InputError(f"unknown field {key!r}{hint}{tail}", path=path, field=fmt(loc) or None)


def spec_error(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    path: str,
    format_loc: Callable[[tuple[int | str, ...]], str] | None = None,
) -> InputError:
    """One InputError for a spec's validation errors: an unknown key first (with its "did you
    mean" hint), else the first error's message and field, and how many more there are."""
    unknown = unknown_field_error(exc, model, path=path, format_loc=format_loc)
    if unknown is not None:
        return unknown
    err = exc.errors()[0]
    fmt = format_loc or (lambda p: ".".join(str(x) for x in p))
    msg = str(err["msg"]).removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    return InputError(msg + more, path=path, field=fmt(tuple(err["loc"])) or None)
