"""The steps' names, in the order a full run applies them: a leaf module (it imports nothing), so the
CLI's ``--help`` and the answers' validation name the steps without importing the steps themselves.
``wizard.steps.ALL`` holds the steps in this order (a test keeps the two the same)."""

NAMES: tuple[str, ...] = (
    "prerequisites",
    "ingress",
    "firewall",
    "external-dns",
    "cert-manager",
    "cluster-issuers",
    "smoke-test",
)

__all__ = ["NAMES"]
