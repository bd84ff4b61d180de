"""Which Flux release serves which API version: one table for the steps, preflight and doctor.

The repository pins its Flux in ``gotk-components.yaml`` (``# Flux Version: v2.0.0-rc.5``). A step
that writes an object checks here that this Flux serves the apiVersion it writes; when it does
not, the step is blocked with the upgrade path (:func:`too_old`); preflight and doctor name the same
steps (``wizard.preflight.flux_verdict``, from each step's ``flux_apis``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Flux release (major, minor) that removed an API version (versions.md: 2.7 removed */v1beta1 and
# helm v2beta1; 2.8 source/kustomize v1beta2 and helm v2beta2; 2.9 image/notification v1beta2).
REMOVED_IN: dict[str, tuple[int, int]] = {
    "source.toolkit.fluxcd.io/v1beta1": (2, 7),
    "kustomize.toolkit.fluxcd.io/v1beta1": (2, 7),
    "helm.toolkit.fluxcd.io/v2beta1": (2, 7),
    "notification.toolkit.fluxcd.io/v1beta1": (2, 7),
    "image.toolkit.fluxcd.io/v1beta1": (2, 7),
    "source.toolkit.fluxcd.io/v1beta2": (2, 8),
    "kustomize.toolkit.fluxcd.io/v1beta2": (2, 8),
    "helm.toolkit.fluxcd.io/v2beta2": (2, 8),
    "notification.toolkit.fluxcd.io/v1beta2": (2, 9),
    "image.toolkit.fluxcd.io/v1beta2": (2, 9),
}
# (apiVersion, kind) -> the Flux release that first served it.
ADDED_IN: dict[tuple[str, str], tuple[int, int]] = {
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): (2, 0),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): (2, 0),
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"): (2, 3),
    ("source.toolkit.fluxcd.io/v1", "HelmChart"): (2, 3),
    ("source.toolkit.fluxcd.io/v1", "Bucket"): (2, 3),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"): (2, 3),
    ("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease"): (2, 2),
    ("source.toolkit.fluxcd.io/v1", "OCIRepository"): (2, 6),
}
CURRENT = {
    "source.toolkit.fluxcd.io": "v1",
    "kustomize.toolkit.fluxcd.io": "v1",
    "helm.toolkit.fluxcd.io": "v2",
    "notification.toolkit.fluxcd.io": "v1 (or v1beta3 for Alert/Provider)",
    "image.toolkit.fluxcd.io": "v1",
}
FLUX_GROUP_SUFFIX = ".toolkit.fluxcd.io"


def parse_version(text: str | None) -> tuple[int, int] | None:
    """(major, minor) of ``v2.0.0-rc.5`` / ``2.6.4`` (None when there is none)."""
    m = re.match(r"v?(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def fmt(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def serves(version: str | None, api: str, kind: str) -> bool | None:
    """Does Flux ``version`` serve ``kind`` in ``api``? None when the version is unknown."""
    v = parse_version(version)
    if v is None:
        return None
    added = ADDED_IN.get((api, kind))
    removed = REMOVED_IN.get(api)
    return not ((added is not None and v < added) or (removed is not None and v >= removed))


def upgrade_path(flux_dir: str) -> str:
    """The exact commands that bring a repository's Flux to one edge-wizard writes for."""
    return (
        f"Upgrade Flux first: `flux install --export > {flux_dir}/gotk-components.yaml` with a current flux CLI "
        "(or `flux bootstrap` again, with your --cluster-domain), commit and push it, let Flux apply it, run "
        "`flux migrate` for the objects stored in the cluster, then run edge-wizard again."
    )


def too_old(version: str | None, flux_dir: str, needs: Iterable[tuple[str, str]], what: str) -> str | None:
    """Why the repository's Flux (``version``) cannot take ``needs`` ((apiVersion, kind) pairs) written
    by ``what``; None when it can (or when the version is unknown: the cluster's APIs are checked)."""
    missing = [(api, kind) for api, kind in needs if serves(version, api, kind) is False]
    if not missing:
        return None
    listed = ", ".join(f"{kind} {api}" for api, kind in missing)
    first = max(ADDED_IN.get(m, (2, 0)) for m in missing)
    return (
        f"The repository pins Flux v{version} ({flux_dir}/gotk-components.yaml), which does not serve {listed}; "
        f"{what} writes them (they need Flux {fmt(first)} or later, and the beta versions Flux {version} serves "
        f"instead were removed in Flux 2.7/2.8), so Flux could not apply it. Nothing was written. "
        + upgrade_path(flux_dir)
    )


__all__ = [
    "ADDED_IN",
    "CURRENT",
    "REMOVED_IN",
    "fmt",
    "parse_version",
    "serves",
    "too_old",
    "upgrade_path",
]
