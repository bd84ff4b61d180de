"""Step lists for the tests, derived from wizard.steps (ALL, NAMES): never written out by hand, so a
new step or a new order reaches every test that means "all steps" or "the steps without secrets"."""

from __future__ import annotations

from wizard.steps import ALL, NAMES
from wizard.steps.external_dns import ExternalDnsStep
from wizard.steps.prerequisites import PrerequisitesStep

# every step, in the order a full run applies them
ALL_STEPS: list[str] = list(NAMES)
# the steps that need neither sops nor a DNS token: all but the sops setup and external-dns's Secret
PLAIN_STEPS: list[str] = [s.name for s in ALL if s not in (PrerequisitesStep, ExternalDnsStep)]
