"""The steps, in the order a full run applies them. Adding a step touches no front end."""

from __future__ import annotations

from wizard.errors import UserError
from wizard.steps.base import Context, Step
from wizard.steps.cert_manager import CertManagerStep
from wizard.steps.cluster_issuers import ClusterIssuersStep
from wizard.steps.external_dns import ExternalDnsStep
from wizard.steps.firewall import FirewallStep
from wizard.steps.ingress import IngressStep
from wizard.steps.prerequisites import PrerequisitesStep
from wizard.steps.smoke_test import SmokeTestStep

ALL: tuple[type[Step], ...] = (
    PrerequisitesStep,
    IngressStep,
    FirewallStep,
    ExternalDnsStep,
    CertManagerStep,
    ClusterIssuersStep,
    SmokeTestStep,
)
NAMES: tuple[str, ...] = tuple(s.name for s in ALL)


def select(names: list[str] | tuple[str, ...] | None) -> list[Step]:
    """Steps by name, in canonical order; no names means all."""
    if not names:
        return [s() for s in ALL]
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise UserError(f"Unknown step {', '.join(unknown)}. Steps: {', '.join(NAMES)}.")
    return [s() for s in ALL if s.name in names]


__all__ = ["ALL", "NAMES", "Context", "Step", "select"]
