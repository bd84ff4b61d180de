"""What Flux applies for one cluster of a repository: the repository model every scan reads.

A cluster is found from its roots, the way Flux itself starts:

- ``flux bootstrap``: a ``gotk-sync.yaml`` (its GitRepository and the root Kustomization's path); a
  placeholder file (the official example's "generated automatically by flux bootstrap") stands for
  what bootstrap writes: GitRepository and Kustomization ``flux-system`` applying the folder above it;
- the Flux Operator: a ``FluxInstance`` (or a HelmRelease of the ``flux-instance`` chart) whose
  ``spec.sync`` names the source and the entry path; the operator names both objects after the
  instance's namespace (``flux-system``), like bootstrap.

From the root Kustomization the model follows every Flux Kustomization the applied files declare,
through their sources: the repository's GitRepository (what it syncs: ``spec.ignore``, Flux's
default exclusions and ``.sourceignore`` files), other GitRepositories of the same URL, and
ExternalArtifacts of an ArtifactGenerator (Flux 2.7) copying folders of the repository. A folder
with no ``kustomization.yaml`` is applied as Flux generates one (every manifest below; a subfolder
with its own kustomization.yaml as one unit). Files no Flux Kustomization of the cluster applies (an
``.archive/`` folder, another cluster's folder, a path the source ignores) are not the cluster's.
"""

from __future__ import annotations

from wizard.fluxrepo.entries import BOOTSTRAP_SYNC, Entry, _bootstrap_entry, find_entries
from wizard.fluxrepo.model import Applier, ClusterModel, Obj, build
from wizard.fluxrepo.sources import DEFAULT_IGNORE, FLUX_NS, Ignore, Source

__all__ = [
    "BOOTSTRAP_SYNC",
    "DEFAULT_IGNORE",
    "FLUX_NS",
    "Applier",
    "ClusterModel",
    "Entry",
    "Ignore",
    "Obj",
    "Source",
    "_bootstrap_entry",
    "build",
    "find_entries",
]
