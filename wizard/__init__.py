"""edge-wizard: set up the edge (ingress, DNS, certificates) of a Flux GitOps cluster repository."""

__version__ = "0.1.0"
