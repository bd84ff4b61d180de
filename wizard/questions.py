"""Each question is declared once here and rendered by both interactive front ends
(the Textual UI and the questionary plain mode), so they cannot drift.

UI-free: validators are the engine's own (wizard.answers); front ends import their UI library
in their own modules and only read these declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wizard import answers as A
from wizard import controllers
from wizard.errors import WizardError

Validator = Callable[[str, dict[str, Any]], "str | None"]


@dataclass(frozen=True)
class Question:
    key: str  # the answers key (or "token", which is never stored)
    label: str
    help: str
    kind: str = "text"  # text | select | password | confirm
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for select
    validate: Validator | None = None
    default: Callable[[dict[str, Any]], Any] | None = None
    needed_by: tuple[str, ...] = ()  # steps that need it; asked only when one of them runs
    optional: bool = False  # may stay empty (the plan says what that means)

    def check(self, value: Any, so_far: dict[str, Any]) -> str | None:
        """An error sentence, or None when ``value`` is acceptable."""
        if self.kind == "confirm" or (self.kind == "select" and value in {c[0] for c in self.choices}):
            return None
        if self.validate is None:
            return None
        return self.validate(str(value if value is not None else ""), so_far)

    def default_for(self, so_far: dict[str, Any]) -> Any:
        if self.key in so_far and so_far[self.key] not in (None, ""):
            return so_far[self.key]
        return self.default(so_far) if self.default else None


def _zone_check(value: str, so_far: dict[str, Any]) -> str | None:
    err = A.validate_domain(value, "zone")
    if err:
        return err
    domain = so_far.get("domain") or ""
    return A.zone_problem(domain, value) if domain else None


def _zone_default(domain: str | None) -> str | None:
    if not domain or A.validate_domain(domain):
        return None
    try:
        return A.derive_zone(domain)
    except WizardError:  # a public suffix such as co.uk: the domain question reports it
        return None


def _domain_check(value: str, so_far: dict[str, Any]) -> str | None:
    err = A.validate_domain(value)
    if err:
        return err
    try:
        A.derive_zone(value)
    except WizardError as exc:
        return str(exc)
    return None


def _host_check(value: str, so_far: dict[str, Any]) -> str | None:
    err = A.validate_domain(value, "smoke_test_host")
    if err:
        return err
    zone = so_far.get("zone") or ""
    return A.host_problem(value, zone) if zone else None


def _token_check(value: str, so_far: dict[str, Any]) -> str | None:
    from wizard.providers.tokens import token_problem  # the one token validator

    return token_problem(value, so_far.get("dns_provider"))


def _provider_choices() -> tuple[tuple[str, str], ...]:
    from wizard.providers import spec

    return tuple((name, p.title) for name, p in spec.specs().items())


def _default_provider() -> str:
    from wizard.providers import spec

    return spec.default_name()


def _token_help(so_far: dict[str, Any]) -> str:
    prov = so_far.get("dns_provider")
    if prov:
        try:
            from wizard.providers import spec

            return " ".join(spec.get(prov).token.help.split())
        except Exception:
            pass
    return "The DNS provider's API token. It is encrypted with sops and never stored in plain text."


def _controller_choices() -> tuple[tuple[str, str], ...]:
    return tuple((c.name, f"{c.title}: {c.help}") for c in controllers.CONTROLLERS)


def _address_check(value: str, so_far: dict[str, Any]) -> str | None:
    return None if not value.strip() else A.validate_address(value.strip())


QUESTIONS: tuple[Question, ...] = (
    Question(
        "domain",
        "Domain",
        "The cluster's DNS name; apps live under it (e.g. k8s.example.com).",
        validate=_domain_check,
        needed_by=("external-dns", "smoke-test"),
    ),
    Question(
        "zone",
        "DNS zone",
        "The zone at your DNS provider that holds the domain (external-dns filters on it).",
        validate=_zone_check,
        default=lambda s: _zone_default(s.get("domain")),
        needed_by=("external-dns", "smoke-test"),
    ),
    Question(
        "email",
        "ACME e-mail",
        "The ACME account's contact (Let's Encrypt stopped sending expiry e-mails in June 2025).",
        validate=lambda v, _: A.validate_email(v),
        needed_by=("cluster-issuers",),
    ),
    Question(
        "dns_provider",
        "DNS provider",
        "Who hosts the zone; external-dns manages its records there.",
        kind="select",
        choices=_provider_choices(),
        validate=lambda v, _: A.validate_choice(v, "dns_provider", A.providers()),
        default=lambda s: _default_provider(),
        needed_by=("external-dns",),
    ),
    Question("token", "DNS provider token", "", kind="password", validate=_token_check, needed_by=("external-dns",)),
    Question(
        "smoke_test_host",
        "Smoke-test host",
        "Where podinfo answers over HTTPS.",
        validate=_host_check,
        default=lambda s: f"podinfo.apps.{s['domain']}" if s.get("domain") else None,
        needed_by=("smoke-test",),
    ),
    Question(
        "ingress_controller",
        "Ingress controller",
        "Listens on every node's ports 80/443. A repository with ingress-nginx keeps it unless you switch here.",
        kind="select",
        choices=_controller_choices(),
        validate=lambda v, _: A.validate_choice(v, "ingress_controller", controllers.NAMES),
        default=lambda s: controllers.DEFAULT.name,  # the engine's prefill names the repository's own
        needed_by=("ingress", "firewall", "cluster-issuers", "smoke-test"),
    ),
    Question(
        "ingress_address",
        "Ingress address",
        "The node's public IP (or a DNS name resolving to every node): each Ingress reports it and external-dns "
        "publishes it. Leave empty to set it later.",
        validate=_address_check,
        needed_by=("ingress",),
        optional=True,
    ),
)


def token_help(so_far: dict[str, Any]) -> str:
    return _token_help(so_far)


def for_steps(steps: list[str] | tuple[str, ...]) -> list[Question]:
    """The questions the selected steps need, in asking order."""
    return [q for q in QUESTIONS if not q.needed_by or set(q.needed_by) & set(steps)]


def to_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """Prompt answers as an answers layer for the engine (the token is left out, always)."""
    return {k: v for k, v in values.items() if k != "token" and v not in (None, "")}
