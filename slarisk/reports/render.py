"""The jinja2 environment, the figure helper and the HTML table of :mod:`slarisk.reports`."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup, escape

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("slarisk.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = format_cell
    return env


def render(template: str, /, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context`` (every value autoescaped)."""
    return _environment().get_template(template).render(**context)


def png_base64(fig: Figure, *, dpi: int = 100, tight: bool = True) -> str:
    """The figure as a base64 PNG; the figure is closed. ``tight`` crops the image to what is
    drawn (a tight bounding box); False keeps the figure's size (inches x ``dpi`` pixels)."""
    import matplotlib.pyplot as plt  # lazy: matplotlib takes about 0.3 s to import

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


@contextmanager
def figure(width: float = 8.0, height: float = 4.0) -> Iterator[tuple[Figure, Axes]]:
    """A new figure and axes on the Agg backend, with the house style (light grid, tight
    layout on exit). Use :func:`png_base64` on the figure after the block."""
    import matplotlib  # lazy: matplotlib takes about 0.3 s to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.grid(alpha=0.3)
    try:
        yield fig, ax
    except BaseException:
        plt.close(fig)
        raise
    fig.tight_layout()


def img(png_b64: str, alt: str, *, css_class: str = "plot") -> Markup:
    """An ``<img>`` tag for a base64 PNG; ``alt`` is escaped."""
    return Markup('<img class="{}" alt="{}" src="data:image/png;base64,{}">').format(
        css_class, alt, png_b64
    )


def format_cell(value: Any) -> str:
    """Plain text of a table cell: floats rounded (3 decimals below 10, else thousands
    separators and 2 decimals), timestamps to the minute, missing values empty."""
    if isinstance(value, float | np.floating):
        x = float(value)
        return "" if np.isnan(x) else (f"{x:.3f}" if abs(x) < 10 else f"{x:,.2f}")
    if isinstance(value, pd.Timestamp):
        return "" if pd.isna(value) else value.strftime("%Y-%m-%d %H:%M")
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def table(df: pd.DataFrame, *, highlight: str | None = None, empty: str = "(none)") -> Markup:
    """An HTML table of ``df`` (every cell escaped); text columns left-aligned; rows whose
    boolean column ``highlight`` is False get the ``miss`` class."""
    if df.empty:
        return Markup("<p>{}</p>").format(empty)
    text_cols = {c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])}
    head = Markup("").join(
        Markup('<th class="{}">{}</th>').format("l" if c in text_cols else "", str(c))
        for c in df.columns
    )
    rows = []
    for rec in df.itertuples(index=False):
        cells = Markup("").join(
            Markup('<td class="{}">{}</td>').format("l" if c in text_cols else "", format_cell(v))
            for c, v in zip(df.columns, rec, strict=True)
        )
        miss = highlight is not None and getattr(rec, highlight) is False
        rows.append(Markup('<tr class="{}">{}</tr>').format("miss" if miss else "", cells))
    return Markup("<table><tr>{}</tr>{}</table>").format(head, Markup("").join(rows))


__all__ = ["escape", "figure", "format_cell", "img", "png_base64", "render", "table"]
