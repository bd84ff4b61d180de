"""THE provider registry: ``assets/providers.yaml`` (via wizard.catalog), read once, in file order.

Answers, questions and the token checks all ask this module which providers exist, what they are
called and what their tokens look like; no other list of providers exists in the code.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from wizard import catalog
from wizard.errors import UserError

__all__ = ["check_module", "label", "names", "spec", "token_rule"]


def names() -> tuple[str, ...]:
    return tuple(catalog.providers())


def spec(name: str) -> dict[str, Any]:
    """The provider's entry (UserError listing the accepted names when unknown)."""
    return catalog.provider(name)


def label(name: str) -> str:
    entry = catalog.providers().get(name) or {}
    return str(entry.get("label") or entry.get("title") or name)


def token_rule(name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    entry = catalog.providers().get(name)
    rule = entry.get("token") if isinstance(entry, dict) else None
    return rule if isinstance(rule, dict) else None


def check_module(name: str) -> ModuleType:
    """The wizard.providers module that checks this provider's token and zone."""
    entry = spec(name)
    module = str(entry.get("check") or name)
    if not module.isidentifier():
        raise UserError(
            f"assets/providers.yaml: provider {name!r} names the check module {module!r}, which is invalid."
        )
    return importlib.import_module(f"wizard.providers.{module}")
