"""The DNS providers' data: ``assets/providers.yaml`` as typed structs (msgspec), read once per text.

Data only, no network code (an import-linter contract keeps it so): the steps read a provider's
Secret and external-dns chart values here, the questions its title and help, the answers its name.
The code of a provider (its live check and how it reads a record) is its class in
``wizard/providers/<module>.py`` (:mod:`wizard.providers.base`, :mod:`wizard.providers.registry`).

Every entry is converted to :class:`ProviderSpec` when the file is read: an unknown, missing or
mistyped key, a pattern that is no regular expression, chart values that do not read the Secret's
keys stop the run (``UserError``, exit 2) with the entry and the key named.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
import re
import typing
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

import msgspec

from wizard import catalog, yamlio
from wizard.errors import UserError

__all__ = [
    "GENERIC_MAX",
    "TOKEN",
    "Credential",
    "Legacy",
    "ProviderSpec",
    "SecretSpec",
    "default_name",
    "get",
    "names",
    "specs",
]

TOKEN = "token"  # the one credential the front ends ask for today (Hetzner, Cloudflare)
GENERIC_MAX = 512  # no provider's credential is longer; anything beyond is a paste gone wrong

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
Text = Annotated[str, msgspec.Meta(min_length=1)]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=253)]
# a Kubernetes object name (DNS-1123 subdomain)
ObjectName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]
Length = Annotated[int, msgspec.Meta(ge=1, le=GENERIC_MAX)]


class Credential(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One thing the user gives the provider (an API token; later an access key id and its secret,
    a TSIG secret): the key of the Secret that holds it and what a value can look like, checked
    before it is sent anywhere (:mod:`wizard.providers.tokens`)."""

    key: EnvName  # the key in the provider's Secret (and the variable external-dns reads it from)
    label: Text  # what it is called in messages: "API token"
    help: Text  # shown where it is asked for
    min_length: Length = 1
    max_length: Length = GENERIC_MAX
    pattern: str | None = None  # a full-match regular expression
    characters: str | None = None  # the pattern in words, for the message
    typical: str | None = None  # what a real one usually looks like, for the message

    def __post_init__(self) -> None:
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is greater than max_length {self.max_length}")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a regular expression ({exc})") from None


class SecretSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The Secret in external-dns's namespace that holds the credentials (one key each)."""

    name: ObjectName


class Legacy(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An older setup of this provider that the external-dns step migrates (the guide's in-tree
    provider of external-dns 0.10): named in the plan's notes, never guessed at."""

    provider: Text  # the external-dns provider name it used
    note: Text  # why it changes, for the plan's note
    secret_keys: list[Text] = msgspec.field(default_factory=list)  # the keys its Secret held
    token_note: str = ""  # why a token must be given again (its token is of no use now)


class ProviderSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One entry of providers.yaml."""

    title: Text  # in the list of providers to choose from
    label: Text  # in messages: "Hetzner Cloud"
    external_dns: Literal["in-tree", "webhook"]  # in external-dns's own tree, or a webhook sidecar
    credentials: dict[Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*$")], Credential]
    secret: SecretSpec
    values: dict[str, Any]  # merged into the external-dns HelmRelease's values
    legacy: Legacy | None = None

    def __post_init__(self) -> None:
        if not self.credentials:
            raise ValueError("credentials is empty: external-dns needs at least one to write records")
        provider = self.values.get("provider")
        name = provider.get("name") if isinstance(provider, dict) else None
        if not isinstance(name, str) or not name:
            raise ValueError("values.provider.name must name external-dns's provider (a webhook: webhook)")
        if (name == "webhook") != (self.external_dns == "webhook"):
            raise ValueError(
                f"external_dns is {self.external_dns} but values.provider.name is {name!r} "
                "(a webhook provider's name is webhook, an in-tree one's is its own)"
            )
        refs = {
            ref.get("key") for ref in _secret_refs(self.values) if ref.get("name") == self.secret.name
        }  # the keys of our Secret that the chart values read
        keys = {c.key for c in self.credentials.values()}
        if keys - refs:
            raise ValueError(
                f"values never read the Secret {self.secret.name}'s key {', '.join(sorted(keys - refs))} "
                "(a secretKeyRef with that name and key): external-dns would run without the credential"
            )
        if refs - keys:
            raise ValueError(
                f"values read the Secret {self.secret.name}'s key {', '.join(sorted(map(str, refs - keys)))}, "
                "which no credential fills"
            )

    @property
    def token(self) -> Credential:
        """The one credential the front ends ask for today (``token``)."""
        cred = self.credentials.get(TOKEN)
        if cred is None:
            raise UserError(
                f"The DNS provider {self.label} needs {', '.join(self.credentials)}; edge-wizard asks for one "
                f"{TOKEN} only so far. Choose another provider."
            )
        return cred

    @property
    def chart_provider(self) -> str:
        """external-dns's ``provider.name`` for this provider (``webhook`` for a webhook)."""
        return str(self.values["provider"]["name"])

    def chart_values(self) -> dict[str, Any]:
        """A fresh copy of the external-dns chart values (callers merge it into a HelmRelease)."""
        return copy.deepcopy(self.values)


def _secret_refs(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        ref = value.get("secretKeyRef")
        if isinstance(ref, dict):
            yield ref
        for sub in value.values():
            yield from _secret_refs(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from _secret_refs(sub)


# -- reading the file ------------------------------------------------------------------------------------------
def _source() -> str:
    if os.environ.get("EDGE_WIZARD_ASSETS"):
        return str(catalog.assets_dir() / "providers.yaml")
    return "assets/providers.yaml"


def _bad(source: str, where: str, what: str) -> UserError:
    other = (
        "or unset EDGE_WIZARD_ASSETS to use the built-in file"
        if os.environ.get("EDGE_WIZARD_ASSETS")
        else "or reinstall edge-wizard if you did not change it"
    )
    return UserError(
        f"{source}: {where} {what}. edge-wizard reads its DNS providers from this file and cannot set up "
        f"external-dns from a broken entry. Fix the entry (the comments at the top of the file describe every "
        f"key), {other}."
    )


def _struct_at(tp: type[msgspec.Struct], path: list[str]) -> type[msgspec.Struct]:
    """The struct type at ``path`` under ``tp`` (for naming the keys it accepts)."""
    for key in path:
        sub = typing.get_type_hints(tp).get(key)
        if not (isinstance(sub, type) and issubclass(sub, msgspec.Struct)):
            break
        tp = sub
    return tp


def _convert(raw: Any, tp: type[msgspec.Struct], where: list[str], source: str) -> Any:
    """``raw`` as a ``tp``, or UserError naming the entry and the key (msgspec's path made readable)."""
    try:
        return msgspec.convert(raw, tp)
    except msgspec.ValidationError as exc:
        what, _, at = str(exc).partition(" - at `$")
        inner = [k for k in at.rstrip("`").replace("[...]", "").split(".") if k]
        path = where + inner
        place = f"the entry {path[0]!r}" + (f", key {'.'.join(path[1:])}" if len(path) > 1 else "")
        if m := re.fullmatch(r"Object contains unknown field `(.+)`", what):
            accepted = _struct_at(tp, inner).__struct_fields__
            near = difflib.get_close_matches(m.group(1), accepted, n=1)
            what = f"has an unknown key {m.group(1)!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
        elif m := re.fullmatch(r"Object missing required field `(.+)`", what):
            what = f"is missing the key {m.group(1)!r}"
        else:
            what = f"is wrong: {what[:1].lower()}{what[1:]}"
        raise _bad(source, place, what) from None


def _entry(name: Any, raw: Any, source: str) -> ProviderSpec:
    if not isinstance(name, str) or not _NAME.match(name):
        raise _bad(
            source,
            f"the entry {name!r}",
            "has a name that cannot be a provider's (lower-case letters, digits and '-', starting with a letter)",
        )
    creds = raw.get("credentials") if isinstance(raw, dict) else None
    if isinstance(creds, dict):  # each credential on its own first, so an error names it
        for field, cred in creds.items():
            _convert(cred, Credential, [name, "credentials", str(field)], source)
    spec: ProviderSpec = _convert(raw, ProviderSpec, [name], source)
    return spec


@functools.lru_cache(maxsize=4)
def _load(text: str, source: str) -> Mapping[str, ProviderSpec]:
    try:
        docs = yamlio.load_fast(text)
    except Exception as exc:  # ruamel's YAMLError: the file is not YAML at all
        raise _bad(source, "the file", f"is not valid YAML ({type(exc).__name__})") from None
    table = docs[0] if docs else None
    if not isinstance(table, dict) or not table:
        raise _bad(source, "the file", "must be a mapping of provider names to their entries, with at least one")
    return {name: _entry(name, raw, source) for name, raw in table.items()}


def specs() -> Mapping[str, ProviderSpec]:
    """Every provider's entry, in file order (do not change them: they are shared)."""
    return _load(catalog.asset_text("providers.yaml"), _source())


def names() -> tuple[str, ...]:
    return tuple(specs())


def default_name() -> str:
    """The provider offered first (the file's first entry)."""
    return next(iter(specs()))


def get(name: str) -> ProviderSpec:
    """The provider's entry (UserError naming the accepted names when unknown)."""
    table = specs()
    found = table.get(name)
    if found is None:
        raise UserError(
            f"Unknown DNS provider {name!r}: edge-wizard can set up external-dns for {', '.join(table)}. "
            "Set dns_provider to one of them."
        )
    return found
