"""THE protocol of a DNS provider, and what its methods return.

A provider is one class, ``class Acme(Provider): name = "acme"``, in its own module
``wizard/providers/<module>.py``, plus its entry ``acme:`` in ``assets/providers.yaml`` (its data:
:class:`~wizard.providers.spec.ProviderSpec`). :mod:`wizard.providers.registry` finds the class by
walking the package's modules and pairs it with the entry of the same name; nothing else names it.

What :class:`DnsProvider` covers, and where each part lives:

- the credentials' shape (``spec.credentials``: fields, Secret keys, length and characters), checked
  by :meth:`~DnsProvider.credentials_problem` before anything is sent anywhere;
- the live check (:meth:`~DnsProvider.check`): the credentials are valid and the zone is theirs;
  ``UserError`` when the provider says no, :class:`CheckUnavailable` when no answer could be had;
- the record for the proof (:meth:`~DnsProvider.read_records`): A/AAAA and external-dns's owner TXT;
- the Secret (``spec.secret``), the external-dns chart values (``spec.chart_values()``), the help
  text (``spec.credentials[...].help``) and whether it is in external-dns's tree or a webhook
  (``spec.external_dns``): data, so steps read them from :mod:`wizard.providers.spec` without
  importing any network code.

No module here imports httpx at import time; provider modules do (the registry imports them only
when a provider's network code is needed).
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from wizard.providers.spec import ProviderSpec

__all__ = [
    "CONTINUE_NOTE",
    "SKIP_HINT",
    "CheckUnavailable",
    "Credentials",
    "DnsProvider",
    "Provider",
    "Records",
    "RecordsUnavailable",
    "TokenCheck",
]

# field name (a key of spec.credentials) -> the value the user gave
Credentials = Mapping[str, str]

SKIP_HINT = "Pass --skip-token-check to continue without the check (the wizard then cannot tell you about a wrong token or zone)."
CONTINUE_NOTE = (
    "The wizard continues without the check: a wrong token or zone will only show up later, as external-dns errors "
    "in the cluster."
)
OWNER = re.compile(r"external-dns/owner=([^,\"\s]+)")


@dataclass(frozen=True)
class TokenCheck:
    """What the live check found."""

    ok: bool  # credentials valid and zone found
    zone: str | None  # the zone found
    message: str  # one human sentence (or short paragraph)
    warning: bool = False  # True when the check could not be made
    nameservers: tuple[str, ...] = ()  # the provider's nameservers for the zone, if the API returns them

    def continuing(self) -> str:
        """The warning's text for a front end that goes on without the check (no --skip-token-check advice)."""
        return self.message.replace(SKIP_HINT, CONTINUE_NOTE)


class CheckUnavailable(Exception):
    """The check could not be made (network, timeout, TLS, 5xx, 429...): a clean message, no secret.

    ``wizard.providers.check_token`` turns it into a warning :class:`TokenCheck`.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Records:
    """What the provider holds for a host (read-only)."""

    provider: str  # the provider's label (Hetzner Cloud, Cloudflare)
    zone: str
    addresses: tuple[str, ...]  # the A/AAAA values for the host
    ttl: int | None
    txt: tuple[tuple[str, str], ...]  # (relative name, value) of the TXT records that can be the host's registry

    @property
    def owners(self) -> tuple[str, ...]:
        """The external-dns owner ids in the host's registry TXT records."""
        found = [
            m.group(1) for _name, value in self.txt if "heritage=external-dns" in value for m in OWNER.finditer(value)
        ]
        return tuple(dict.fromkeys(found))


class RecordsUnavailable(Exception):
    """The records could not be read: one sentence, never a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DnsProvider(Protocol):
    """One DNS provider: its data (``spec``) and its network code."""

    name: ClassVar[str]  # its key in assets/providers.yaml
    spec: ProviderSpec

    def credentials_problem(self, credentials: Credentials) -> str | None:
        """Why these cannot be this provider's credentials (one sentence without them), or None."""
        ...

    def check(
        self, domain: str, credentials: Credentials, candidates: Sequence[str], *, explicit_zone: bool, timeout: float
    ) -> TokenCheck:
        """Are the credentials valid, and which of ``candidates`` (longest first) is their zone for ``domain``?

        Raises ``UserError`` when the provider says no (wrong, revoked, no permission, no such
        zone: what was seen, why it matters, what to do) and :class:`CheckUnavailable` when the
        check could not be made. No secret in any text.
        """
        ...

    def read_records(self, zone: str, host: str, credentials: Credentials, *, timeout: float) -> Records:
        """The A/AAAA records of ``host`` in ``zone`` and the TXT records that can be its external-dns
        registry; :class:`RecordsUnavailable` when they cannot be read."""
        ...


class Provider(abc.ABC):
    """The base of every provider class: the data part from its spec, the network part abstract.

    A subclass defined in a module of this package with a ``name`` is found by the registry.
    """

    name: ClassVar[str]

    def __init__(self, spec: ProviderSpec) -> None:
        self.spec = spec

    def credentials_problem(self, credentials: Credentials) -> str | None:
        from wizard.providers.tokens import credential_problem

        for field, shape in self.spec.credentials.items():
            problem = credential_problem(credentials.get(field), shape, self.spec.label)
            if problem:
                return problem
        return None

    @abc.abstractmethod
    def check(
        self, domain: str, credentials: Credentials, candidates: Sequence[str], *, explicit_zone: bool, timeout: float
    ) -> TokenCheck: ...

    @abc.abstractmethod
    def read_records(self, zone: str, host: str, credentials: Credentials, *, timeout: float) -> Records: ...
