"""The catalog of versions and chart sources (``assets/``), and the reading of every asset.

The DNS providers' data (``assets/providers.yaml``) is typed and read by :mod:`wizard.providers.spec`.

The catalog is typed (:class:`Catalog` and the TypedDicts under it) and validated when it is
loaded, the overlay (``EDGE_WIZARD_CATALOG``) included: an unknown key, a missing one or a value of
the wrong type stops the run at once with the file and the key path named (a typo in an overlay is
exit 2, not a manifest with a missing value).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import difflib
import functools
import os
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

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


class ApiVersions(TypedDict):
    kustomization: str
    git_repository: str
    helm_repository: str
    helm_release: str


class ChartEntry(TypedDict):
    repository: str
    chart: str
    version: str


class Catalog(TypedDict):
    api_versions: ApiVersions
    flux_min_version: str
    charts: dict[str, ChartEntry]
    acme: dict[str, str]  # issuer name -> ACME directory URL
    acme_ca_bundle: NotRequired[dict[str, str]]  # issuer name -> PEM the ACME server's TLS chains to
    external_dns_hostname_annotation: str
    warnings: dict[str, str]


def _check(value: Any, tp: Any, where: str, source: str) -> None:
    """Raise UserError naming ``source`` and the key path ``where`` when ``value`` is not a ``tp``."""

    def bad(what: str) -> UserError:
        return UserError(
            f"{source}: {where or 'the top level'} {what}. Fix the file (assets/catalog.yaml documents every key), "
            "or unset EDGE_WIZARD_CATALOG to use the built-in catalog."
        )

    origin = typing.get_origin(tp)
    if typing.is_typeddict(tp):
        if not isinstance(value, dict):
            raise bad(f"must be a mapping, not {type(value).__name__}")
        hints = typing.get_type_hints(tp, include_extras=True)
        optional = {k for k, h in hints.items() if typing.get_origin(h) is NotRequired}
        hints = {k: (typing.get_args(h)[0] if k in optional else h) for k, h in hints.items()}
        for key in value:
            if key not in hints:
                near = difflib.get_close_matches(str(key), list(hints), n=1)
                raise bad(f"has an unknown key {key!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        for key, sub in hints.items():
            if key not in value:
                if key not in optional:
                    raise bad(f"is missing the key {key!r}")
                continue
            _check(value[key], sub, f"{where}.{key}" if where else key, source)
        return
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        if not isinstance(value, dict):
            raise bad(f"must be a mapping, not {type(value).__name__}")
        for k, v in value.items():
            _check(k, key_t, f"{where} key {k!r}", source)
            _check(v, val_t, f"{where}.{k}", source)
        return
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                _check(value, option, where, source)
                return
            except UserError:
                continue
        raise bad(f"has the wrong type ({type(value).__name__})")
    if tp is str and not isinstance(value, str):
        raise bad(f"must be a string, not {value!r}")


@functools.lru_cache(maxsize=4)
def _catalog(overlay: str | None) -> Catalog:
    data = yamlio.load_fast(asset_text("catalog.yaml"))[0]
    _check(data, Catalog, "", "assets/catalog.yaml")
    if overlay:
        try:
            extra = yamlio.load_plain(Path(overlay).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UserError(
                f"EDGE_WIZARD_CATALOG points at {overlay}, which cannot be read ({exc.strerror}). "
                "Unset the variable or point it at a YAML file that overrides assets/catalog.yaml."
            ) from None
        except ValueError as exc:
            raise UserError(f"EDGE_WIZARD_CATALOG {overlay}: {exc}") from None
        if extra:
            if not isinstance(extra[0], dict):
                raise UserError(f"EDGE_WIZARD_CATALOG {overlay} must be a YAML mapping overriding assets/catalog.yaml.")
            _deep_update(data, extra[0])
            _check(data, Catalog, "", f"EDGE_WIZARD_CATALOG {overlay} (over assets/catalog.yaml)")
    return cast(Catalog, data)


def catalog() -> Catalog:
    """The validated catalog (a fresh copy: callers may change it)."""
    return copy.deepcopy(_catalog(os.environ.get("EDGE_WIZARD_CATALOG") or None))
