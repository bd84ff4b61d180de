"""THE provider registry: provider names -> their classes, in Python.

The classes are found, not listed: every module of this package is imported and each
:class:`~wizard.providers.base.Provider` subclass *defined in it* with a ``name`` is one provider.
So a new provider is its module and its entry in assets/providers.yaml (its data,
:mod:`wizard.providers.spec`); no third file names it, and no YAML string names a module.

Importing the modules loads httpx: only :func:`provider` and :func:`providers` do it, when a
provider's network code is about to run. Which providers exist, and their data, come from
:mod:`wizard.providers.spec` alone.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Mapping

from wizard.errors import UserError
from wizard.providers import base, spec

__all__ = ["classes", "provider", "providers"]

_PACKAGE = "wizard.providers"


@functools.lru_cache(maxsize=4)
def _classes(path: tuple[str, ...]) -> Mapping[str, type[base.Provider]]:
    found: dict[str, type[base.Provider]] = {}
    for info in sorted(pkgutil.iter_modules(list(path)), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_PACKAGE}.{info.name}")
        for cls in vars(module).values():
            if not (
                inspect.isclass(cls)
                and issubclass(cls, base.Provider)
                and cls.__module__ == module.__name__
                and not inspect.isabstract(cls)
            ):
                continue
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                raise TypeError(f"{module.__name__}.{cls.__qualname__} is a Provider without a name")
            if name in found:
                other = found[name]
                raise TypeError(
                    f"two provider classes are named {name!r}: {other.__module__}.{other.__qualname__} and "
                    f"{module.__name__}.{cls.__qualname__}"
                )
            found[name] = cls
    return found


def classes() -> Mapping[str, type[base.Provider]]:
    """Every provider class in the package's modules, by name."""
    package = importlib.import_module(_PACKAGE)
    return _classes(tuple(package.__path__))


def provider(name: str) -> base.DnsProvider:
    """The provider ``name`` (its entry in providers.yaml and its class), ready to check and read."""
    data = spec.get(name)  # UserError naming the accepted names when unknown
    cls = classes().get(name)
    if cls is None:
        raise UserError(
            f"The DNS provider {name!r} is in assets/providers.yaml but edge-wizard has no code for it (no class "
            f"with name = {name!r} in wizard/providers/), so its token and zone cannot be checked. "
            "Choose another provider, or remove the entry from the providers file."
        )
    return cls(data)


def providers() -> dict[str, base.DnsProvider]:
    """Every provider, in the file's order; UserError when an entry has no class or a class no entry."""
    orphans = sorted(set(classes()) - set(spec.names()))
    if orphans:
        raise UserError(
            f"The DNS provider classes {', '.join(orphans)} have no entry in assets/providers.yaml, so edge-wizard "
            "knows no Secret, chart values or token shape for them. Add their entries to the file."
        )
    return {name: provider(name) for name in spec.names()}
