"""Terminal tables that fit the console width: numbers are never cut, text wraps, and when
even that is too wide the least important columns are dropped (and named)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table

#: rich's per-column overhead (padding 2 + one border) and the table's outer border.
_PER_COLUMN, _OUTER = 3, 1


@dataclass(frozen=True)
class Col:
    """A column: ``numeric`` cells are right-aligned and never wrapped or cut; ``drop``
    orders what goes first when the table is too wide (0 = always kept, higher = earlier)."""

    name: str
    numeric: bool = False
    drop: int = 0


def _need(col: Col, cells: Sequence[str]) -> int:
    longest_word = max((len(w) for w in col.name.split()), default=1)
    widest = max((len(c) for c in cells), default=0)
    if col.numeric:
        return max(widest, longest_word)
    return max(min(widest, 12), longest_word)  # text wraps below its full width


def fit_table(
    title: str,
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    width: int,
    styles: Sequence[str | None] | None = None,
) -> tuple[Table, list[str]]:
    """A rich Table of ``rows`` within ``width`` characters, and the names of dropped columns
    (``styles``: one rich style or None per row)."""
    keep = list(range(len(cols)))
    needs = [_need(c, [r[i] for r in rows]) for i, c in enumerate(cols)]

    def total() -> int:
        return sum(needs[i] + _PER_COLUMN for i in keep) + _OUTER

    dropped: list[str] = []
    for i in sorted(
        (i for i, c in enumerate(cols) if c.drop > 0), key=lambda i: (-cols[i].drop, -i)
    ):
        if total() <= width:
            break
        keep.remove(i)
        dropped.append(cols[i].name)
    full = [
        max(len(c.name), *(len(r[i]) for r in rows)) if rows else len(c.name)
        for i, c in enumerate(cols)
    ]
    tight = sum(full[i] + _PER_COLUMN for i in keep) + _OUTER > width
    table = Table(title=title)
    for i in keep:
        c = cols[i]
        if c.numeric:
            table.add_column(c.name, justify="right", min_width=needs[i], overflow="fold")
        else:  # when tight, text is folded at its share (rich would not break a long word)
            table.add_column(c.name, overflow="fold", max_width=needs[i] if tight else None)
    for n, r in enumerate(rows):
        table.add_row(*(r[i] for i in keep), style=styles[n] if styles else None)
    return table, dropped


def dropped_note(dropped: Sequence[str], where: str) -> str:
    """One line naming the columns left out at this width."""
    return f"(too narrow for: {', '.join(dropped)}; widen the terminal or see {where})"


__all__ = ["Col", "dropped_note", "fit_table"]
