"""Error types shown to users as one clear line (the CLI prints them without a traceback)."""

from __future__ import annotations


class SlariskError(Exception):
    """Base class of errors that carry a user-facing message."""


class InputError(SlariskError):
    """Bad input: names the file and, where known, the row and field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path, self.row, self.field, self.detail = path, row, field, message
        where = [p for p in (path, f"row {row}" if row is not None else None, field) if p]
        super().__init__(f"{': '.join(where)}: {message}" if where else message)
