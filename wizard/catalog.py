"""The catalog of versions, chart sources and DNS providers (``assets/``)."""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wizard import yamlio
from wizard.errors import UserError


def assets_dir() -> Path:
    """``assets/`` next to the package in a checkout, or ``wizard/assets`` in a wheel."""
    override = os.environ.get("EDGE_WIZARD_ASSETS")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    for candidate in (here / "assets", here.parent / "assets"):
        if (candidate / "catalog.yaml").is_file():
            return candidate
    raise RuntimeError("edge-wizard's assets/ folder is missing from this installation")


def asset_text(rel: str) -> str:
    return (assets_dir() / rel).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=64)
def _parsed_asset(text: str, source: str) -> yamlio.YamlDoc:
    doc = yamlio.parse(text, source=source)
    yamlio.attach_comments(doc)  # a key merged into a user's file brings the comment above it
    return doc


# Set by unrendered(): assets as plain data in round-trip containers, without comments.
_UNRENDERED: contextvars.ContextVar[bool] = contextvars.ContextVar("edge_wizard_unrendered", default=False)


@functools.lru_cache(maxsize=64)
def _plain_asset(text: str) -> tuple[Any, ...]:
    return tuple(yamlio.load_fast(text))


def _containers(value: Any) -> Any:
    if isinstance(value, dict):
        m = yamlio.CommentedMap()
        for k, v in value.items():
            m[k] = _containers(v)
        return m
    if isinstance(value, list):
        return yamlio.CommentedSeq(_containers(v) for v in value)
    return value


@contextlib.contextmanager
def unrendered() -> Iterator[None]:
    """Within this block, :func:`load_asset` returns the asset's data only (no comments, no
    quoting or layout): for plans whose new files are never rendered (the step table), where a
    round-trip parse of every asset would be most of the cost."""
    token = _UNRENDERED.set(True)
    try:
        yield
    finally:
        _UNRENDERED.reset(token)


def load_asset(rel: str) -> yamlio.YamlDoc:
    """A fresh round-trip copy of an asset (callers mutate it). Each asset text is parsed once per
    process; callers get a deep copy (ruamel.yaml copies comments and formatting with it)."""
    text = asset_text(rel)
    if _UNRENDERED.get():
        docs = [_containers(d) for d in _plain_asset(text)]
        return yamlio.YamlDoc(docs=docs, preamble="", explicit_start=False, indent=yamlio.INDENTED)
    return copy.deepcopy(_parsed_asset(text, f"assets/{rel}"))


def _deep_update(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value
    return base


@functools.lru_cache(maxsize=4)
def _catalog(overlay: str | None) -> dict[str, Any]:
    data = yamlio.load_fast(asset_text("catalog.yaml"))[0]
    if overlay:
        try:
            extra = yamlio.load_plain(Path(overlay).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UserError(
                f"EDGE_WIZARD_CATALOG points at {overlay}, which cannot be read ({exc.strerror}). "
                "Unset the variable or point it at a YAML file that overrides assets/catalog.yaml."
            ) from None
        if extra:
            _deep_update(data, extra[0])
    return data


def catalog() -> dict[str, Any]:
    return copy.deepcopy(_catalog(os.environ.get("EDGE_WIZARD_CATALOG") or None))


def chart(name: str) -> dict[str, str]:
    return catalog()["charts"][name]


@functools.lru_cache(maxsize=1)
def _providers() -> dict[str, Any]:
    return yamlio.load_fast(asset_text("providers.yaml"))[0]


def providers() -> dict[str, Any]:
    return copy.deepcopy(_providers())


def provider(name: str) -> dict[str, Any]:
    table = _providers()
    if name not in table:
        raise UserError(
            f"dns_provider is {name!r}, which edge-wizard does not know. Accepted: {', '.join(sorted(table))}."
        )
    return copy.deepcopy(table[name])
