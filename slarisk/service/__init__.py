"""The HTTP service: the FastAPI app, its settings, the SQLite store and the API keys.

Public names are re-exported here lazily (PEP 562): importing ``slarisk.service.security``
for ``slarisk keys ...`` must not import the app, which loads the scoring and simulation
libraries (several seconds).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slarisk.service.app import create_app
    from slarisk.service.champion import LoadedModel
    from slarisk.service.openapi import dump_openapi
    from slarisk.service.security import (
        KeyInfo,
        Principal,
        Role,
        authenticate,
        create_key,
        list_keys,
        revoke_key,
    )
    from slarisk.service.settings import Settings
    from slarisk.service.store import Store

#: public name -> the module defining it.
_SOURCES = {
    "create_app": "app",
    "LoadedModel": "champion",
    "dump_openapi": "openapi",
    "KeyInfo": "security",
    "Principal": "security",
    "Role": "security",
    "authenticate": "security",
    "create_key": "security",
    "list_keys": "security",
    "revoke_key": "security",
    "Settings": "settings",
    "Store": "store",
}

__all__ = [
    "KeyInfo",
    "LoadedModel",
    "Principal",
    "Role",
    "Settings",
    "Store",
    "authenticate",
    "create_app",
    "create_key",
    "dump_openapi",
    "list_keys",
    "revoke_key",
]


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_SOURCES[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
