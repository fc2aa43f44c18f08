"""Terminal tables that fit the console width: numbers are never cut, text wraps, and when
even that is too wide the least important columns are dropped (and named).

Every column gets an explicit width computed here (rich would otherwise shrink columns in
proportion, numbers included, and the console would crop the right border): numeric columns
are at least as wide as their longest word (a number is one word), text columns share what
is left down to a floor, headers wrap between words when there is room. ``frame_table``
does the same for a pandas frame of formatted cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

#: rich's per-column overhead (padding 2 + one border) and the table's outer border.
_PER_COLUMN, _OUTER = 3, 1
#: text cells wrap down to this width (or the longest word of the header, if longer).
_TEXT_FLOOR = 8


@dataclass(frozen=True)
class Col:
    """A column: ``numeric`` cells are right-aligned and never cut (a cell of several words
    may wrap between them); ``whole`` text (dates, ids) is left-aligned and never wrapped;
    ``drop`` orders what goes first when the table is too wide (0 = always kept, higher =
    earlier)."""

    name: str
    numeric: bool = False
    drop: int = 0
    whole: bool = False

    @property
    def wraps(self) -> bool:
        """True when the cells may wrap (text that is not ``whole``)."""
        return not (self.numeric or self.whole)


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=1)


def _need(col: Col, cells: Sequence[str]) -> int:
    """Narrowest width of a column's cells: every number whole (a numeric cell of several
    words, e.g. a value and its interval, may wrap between them), text wrapped to a floor."""
    if col.numeric:
        return max((_longest_word(c) for c in cells), default=1)
    widest = max((len(c) for c in cells), default=1)
    return widest if col.whole else max(min(widest, _TEXT_FLOOR), 1)


def column_widths(
    cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int
) -> tuple[list[int], list[int], list[str]]:
    """Kept column indexes, their content widths (sum + overhead <= ``width`` unless the
    first column alone is wider) and the names of dropped columns.

    Columns are dropped (highest ``drop`` first) until the rest fits with whole header
    words (past that, headers are cut between letters, numbers never); the room left
    goes, left to right, to whole header words, text up to twice the floor, numeric cells
    on one line, text on one line and whole headers, in that order.
    """
    keep = list(range(len(cols)))
    needs = [_need(c, [r[i] for r in rows]) for i, c in enumerate(cols)]
    cells = [max((len(r[i]) for r in rows), default=0) for i in range(len(cols))]
    full = [max(len(c.name), cells[i]) for i, c in enumerate(cols)]
    words = [max(needs[i], _longest_word(c.name)) for i, c in enumerate(cols)]

    def overhead() -> int:
        return len(keep) * _PER_COLUMN + _OUTER

    dropped: list[str] = []
    for i in sorted(
        (i for i, c in enumerate(cols) if c.drop > 0), key=lambda i: (-cols[i].drop, -i)
    ):
        if sum(words[k] for k in keep) + overhead() <= width:
            break
        keep.remove(i)
        dropped.append(cols[i].name)
    widths = {i: needs[i] for i in keep}
    # whole header words do not fit: wrap text below its floor, down to its own header word
    over = sum(words[i] for i in keep) + overhead() - width
    for i in sorted((i for i in keep if cols[i].wraps), key=lambda i: -widths[i]):
        if over <= 0:
            break
        give = max(min(widths[i] - max(_longest_word(cols[i].name), 3), over), 0)
        widths[i] -= give
        words[i] = max(widths[i], _longest_word(cols[i].name))
        over -= give
    spare = width - overhead() - sum(widths.values())
    # still too wide: wrap text below its floor (numbers and whole text are never cut),
    # then leave out columns from the right (the first one stays) as a last resort
    for i in sorted((i for i in keep if cols[i].wraps), key=lambda i: -widths[i]):
        if spare >= 0:
            break
        give = max(min(widths[i] - 3, -spare), 0)
        widths[i] -= give
        spare += give
    while spare < 0 and len(keep) > 1:
        i = keep.pop()
        dropped.append(cols[i].name)
        spare += widths.pop(i) + _PER_COLUMN
    text = [i for i in keep if cols[i].wraps]
    numeric = [i for i in keep if cols[i].numeric]
    roomy_text = [min(full[i], 2 * _TEXT_FLOOR) for i in range(len(cols))]
    for goal, which in (
        (words, keep),
        (roomy_text, text),
        (cells, numeric),
        (full, text),
        (full, keep),
    ):
        for i in which:
            grow = max(min(goal[i] - widths[i], spare), 0)
            widths[i] += grow
            spare -= grow
    return keep, [widths[i] for i in keep], dropped


def fit_table(
    title: str,
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    width: int,
    styles: Sequence[str | None] | None = None,
) -> tuple[Table, list[str]]:
    """A rich Table of ``rows`` within ``width`` characters, and the names of dropped columns
    (``styles``: one rich style or None per row)."""
    keep, widths, dropped = column_widths(cols, rows, width)
    table = Table(title=title)
    for i, w in zip(keep, widths, strict=True):
        c = cols[i]
        if c.numeric:
            table.add_column(c.name, justify="right", width=w, overflow="fold")
        else:
            table.add_column(c.name, width=w, overflow="fold")
    for n, r in enumerate(rows):
        table.add_row(*(r[i] for i in keep), style=styles[n] if styles else None)
    return table, dropped


def frame_table(
    title: str,
    frame: pd.DataFrame,
    width: int,
    *,
    text: Sequence[str] = (),
    drop: dict[str, int] | None = None,
) -> tuple[Table, list[str]]:
    """``fit_table`` over a frame of formatted cells: columns in ``text`` are text, the rest
    numeric; ``drop`` gives the drop order of optional columns (see ``Col``)."""
    drop = drop or {}
    cols = [Col(str(c), str(c) not in text, drop.get(str(c), 0)) for c in frame.columns]
    rows = [[str(v) for v in r] for r in frame.itertuples(index=False, name=None)]
    return fit_table(title, cols, rows, width)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True


def markdown_blocks(text: str, width: int) -> list[str | Table]:
    """``text`` split into plain lines and its Markdown tables (``| a | b |`` lines after a
    header and a ``|---|`` line) as fitted tables, each followed by a note naming the
    columns left out if any; a column whose cells are all numbers is numeric."""
    out: list[str | Table] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if not (line.startswith("|") and nxt.startswith("|---")):
            out.append(lines[i])
            i += 1
            continue
        head = [c.strip() for c in line.strip("|").split("|")]
        body: list[list[str]] = []
        i += 2
        while i < len(lines) and lines[i].strip().startswith("|"):
            body.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
            i += 1
        body = [(r + [""] * len(head))[: len(head)] for r in body]
        cols = [
            Col(h, bool(body) and all(_is_number(r[k]) for r in body)) for k, h in enumerate(head)
        ]
        table, gone = fit_table("", cols, body, width)
        out.append(table)
        if gone:
            out.append(dropped_note(gone, "--out"))
    return out


def dropped_note(dropped: Sequence[str], where: str) -> str:
    """One line naming the columns left out at this width."""
    return f"(too narrow for: {', '.join(dropped)}; widen the terminal or see {where})"


__all__ = [
    "Col",
    "column_widths",
    "dropped_note",
    "fit_table",
    "frame_table",
    "markdown_blocks",
]
