"""Where new components go: the repository's own convention, learnt from where siblings live.

Two conventions are recognised (``plan`` names the one in use):

- **flux folder** (the guide's ``manifests/cluster/flux-system`` + ``manifests/infrastructure/<name>``,
  the official example's ``clusters/<name>`` + ``infrastructure/``): a Flux Kustomization per component
  in the folder where the cluster declares its Kustomizations, its files in ``<components>/<name>``;
- **app folders** (onedr0p/cluster-template and the home-ops repositories derived from it):
  ``<apps>/<namespace>/<name>/ks.yaml`` declares the Flux Kustomization, applying
  ``<apps>/<namespace>/<name>/app``; the namespace folder's ``kustomization.yaml`` lists ``./<name>/ks.yaml``
  and sets the namespace.

``paths:`` in the answers still overrides the flux-folder convention.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.fluxrepo import ClusterModel
    from wizard.index import FluxKustomization

FLUX_FOLDER = "flux folder"
APP_FOLDERS = "app folders"


@dataclass(frozen=True)
class Placement:
    kind: str  # FLUX_FOLDER | APP_FOLDERS
    flux_dir: str  # flux folder: where the wizard declares its Flux Kustomizations
    components_dir: str  # flux folder: where component folders go
    apps_root: str = ""  # app folders: <apps>
    ks_name: str = "ks.yaml"  # app folders: the file declaring an app's Flux Kustomization
    app_dir: str = "app"  # app folders: the folder an app's Kustomization applies, inside the app's folder
    sibling: FluxKustomization | None = None  # app folders: a Kustomization whose shape new ones follow

    @property
    def app_folders(self) -> bool:
        return self.kind == APP_FOLDERS

    def component(self, name: str, namespace: str | None = None) -> str:
        """The folder of a new component's objects."""
        if self.app_folders:
            return f"{self.apps_root}/{namespace or name}/{name}/{self.app_dir}"
        return f"{self.components_dir}/{name}"

    def flux_file(self, stem: str, component: str) -> str:
        """The file declaring the Flux Kustomization of the component in ``component`` (its folder)."""
        if self.app_folders and component.endswith(f"/{self.app_dir}"):
            return f"{component.removesuffix('/' + self.app_dir)}/{self.ks_name}"
        return f"{self.flux_dir}/{stem}.yaml" if self.flux_dir else f"{stem}.yaml"

    def describe(self) -> str:
        if self.app_folders:
            return (
                f"app folders: each app in {self.apps_root}/<namespace>/<app>/ with its Flux Kustomization in "
                f"{self.ks_name} applying ./{self.app_dir}, listed by its namespace folder's kustomization.yaml"
            )
        return (
            f"a Flux folder: one Flux Kustomization per component in {self.flux_dir or '.'}, its files in "
            f"{self.components_dir}/<component>"
        )


def learn(model: ClusterModel, flux_dir: str, components_dir: str, *, overridden: bool) -> Placement:
    """The convention of this cluster: app folders when most of its Kustomizations apply a folder inside
    the folder of the file declaring them (``<apps>/<ns>/<app>/ks.yaml`` -> ``./app``), else a flux folder."""
    plain = Placement(FLUX_FOLDER, flux_dir, components_dir)
    if overridden:
        return plain
    inside: list[tuple[str, str, str, FluxKustomization]] = []
    outside = 0
    for a in model.appliers[1:]:
        if a.folder is None:
            continue
        home = str(PurePosixPath(a.ks.file).parent)
        if a.folder.startswith(home + "/") and home.count("/") >= 2:
            app = PurePosixPath(home)
            inside.append((str(app.parent.parent), PurePosixPath(a.ks.file).name, a.folder[len(home) + 1 :], a.ks))
        else:
            outside += 1
    if len(inside) < 2 or len(inside) <= outside:
        return plain
    root, _ = Counter(i[0] for i in inside).most_common(1)[0]
    name, _ = Counter(i[1] for i in inside).most_common(1)[0]
    app_dir, _ = Counter(i[2] for i in inside).most_common(1)[0]
    sibling = next(i[3] for i in inside if (i[0], i[1], i[2]) == (root, name, app_dir))
    return Placement(APP_FOLDERS, flux_dir, components_dir, root, name, app_dir, sibling)


__all__ = ["APP_FOLDERS", "FLUX_FOLDER", "Placement", "learn"]
