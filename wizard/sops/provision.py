"""The cluster's sops decryption Secret as the repository sets it up: its name, and whether the
repository provisions it itself (read-only, through the shared index).

* The name: the answers' ``sops_secret``, else the one the Flux Kustomizations' ``decryption.secretRef``
  names (both already in :class:`wizard.repo.Layout`), else - controller-level decryption, as in
  cluster-template, whose Kustomizations have ``decryption: {provider: sops}`` without a secretRef -
  the kustomize-controller's ``--sops-age-secret=NAME`` flag where the repository sets it (a
  FluxInstance or a Flux patch), else the layout's default.
* Provisioned: a sops-encrypted ``kind: Secret`` ``flux-system/<name>`` in the repository
  (cluster-template's ``bootstrap/sops-age.sops.yaml``). Then the Secret is the repository's: edge-wizard
  never creates it or tells you to, it says where it comes from.
* The repository's other sops-encrypted files: they need the key the existing Secret holds, so a
  Secret that exists must never be replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.repo import Layout

NAMESPACE = "flux-system"
_FLAG = re.compile(r"--sops-age-secret[= ]['\"]?([a-z0-9]([-a-z0-9.]*[a-z0-9])?)")


@dataclass(frozen=True)
class DecryptionSecret:
    name: str
    found_by: str  # how the name was found, for the messages
    provisioned_in: str | None = None  # the repository file declaring it (sops-encrypted)
    others: tuple[str, ...] = ()  # the repository's other sops-encrypted files

    def others_text(self, most: int = 3) -> str:
        """'3 sops-encrypted files (a, b, c)' - the files that need the key the existing Secret holds."""
        n = len(self.others)
        shown = ", ".join(self.others[:most]) + (", ..." if n > most else "")
        return f"{n} sops-encrypted file{'s' if n != 1 else ''} ({shown})"


def controller_flag(layout: Layout) -> tuple[str, str] | None:
    """(name, file) of the kustomize-controller's ``--sops-age-secret`` flag in the repository, if set."""
    idx = layout.index
    for rel in idx.yaml_files():
        text = idx.text(rel)
        if text and "--sops-age-secret" in text:
            m = _FLAG.search(text)
            if m:
                return m.group(1), rel
    return None


def decryption_secret(layout: Layout, answers: Answers | None = None) -> DecryptionSecret | None:
    """The cluster's decryption Secret for this repository (None: the layout could not tell; its
    ``sops_secret_problem`` says why)."""
    name = layout.sops_secret
    if answers is not None and answers.sops_secret:
        found_by = "sops_secret in the answers"
    elif any(k.decryption_secret for k in layout.kustomizations.values()):
        found_by = "the Flux Kustomizations' decryption.secretRef"
    else:
        flag = controller_flag(layout)
        if flag is not None:
            name, found_by = flag[0], f"the kustomize-controller's --sops-age-secret flag in {flag[1]}"
        else:
            found_by = "the default name (no Kustomization names a decryption secret)"
    if not name:
        return None
    provisioned, others = None, []
    for doc in layout.index.find(sops=True):
        if doc.kind == "Secret" and doc.name == name and (doc.namespace or NAMESPACE) == NAMESPACE:
            provisioned = provisioned or doc.path
        elif doc.path not in others:
            others.append(doc.path)
    return DecryptionSecret(name, found_by, provisioned, tuple(o for o in others if o != provisioned))


__all__ = ["DecryptionSecret", "controller_flag", "decryption_secret"]
