"""Every HTML page and plot of slarisk comes from here.

One jinja2 environment with autoescape on (templates shipped as package data in
``slarisk/reports/templates``), one way to make a figure (:func:`figure`, matplotlib's Agg
backend, a PNG embedded as base64) and one table renderer (:func:`table`). Anything that comes
from a user's files (policy, team, customer names) is escaped by the template engine; the only
markup passed through is what :func:`table` and :func:`img` build, with their text escaped.
"""

from slarisk.reports.render import (
    figure,
    format_cell,
    img,
    png_base64,
    render,
    table,
)

__all__ = ["figure", "format_cell", "img", "png_base64", "render", "table"]
