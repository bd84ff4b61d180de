"""The preflight checklist, gathered from the engine's own modules (no Textual here).

Each check says what was found, or what is missing and a one-line fix.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.errors import WizardError

OK, WARN, MISS = "ok", "warn", "miss"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | miss
    detail: str
    fix: str = ""


def flux_available() -> bool:
    """Whether the live watch module (wizard.flux with FluxWatcher) is part of this build."""
    try:
        if importlib.util.find_spec("wizard.flux") is None:
            return False
        module = importlib.import_module("wizard.flux")
    except Exception:
        return False
    return hasattr(module, "FluxWatcher")


def first_sentence(text: str) -> str:
    text = " ".join(text.split())
    cut = text.find(". ")
    return text if cut < 0 else text[: cut + 1]


def repo_checks(engine: Any, prefill: dict[str, Any], context: str | None = None) -> list[Check]:
    """Blocking: layout, sops rule and binaries, git remote and branch, kubeconfig."""
    out: list[Check] = []
    try:
        layout, _answers = engine.load()
    except WizardError as exc:
        out.append(
            Check(
                "Repository layout",
                MISS,
                first_sentence(exc.message),
                "Run edge-wizard in your Flux repository's clone, or pass --repo PATH.",
            )
        )
        return out
    flux = f"Flux folder {layout.flux_dir}, components in {layout.components_dir}"
    if layout.flux_version:
        flux += f", Flux v{layout.flux_version}"
    out.append(Check("Repository layout", OK, flux))
    out.append(_sops_rule(layout, prefill))
    out.append(_sops_binary())
    age = shutil.which("age-keygen") or shutil.which("age")
    out.append(
        Check("age", OK, "age tools found")
        if age
        else Check(
            "age",
            WARN,
            "age / age-keygen not on PATH (only needed to make or inspect keys)",
            "Install age from your package manager (apt install age).",
        )
    )
    out.extend(_git(layout))
    if layout.firewall_problem:
        out.append(
            Check(
                "Host firewall policy",
                WARN,
                first_sentence(layout.firewall_problem),
                "Set paths.firewall_policy in the answers file, or skip the firewall step.",
            )
        )
    else:
        out.append(Check("Host firewall policy", OK, f"{layout.firewall_policy}"))
    out.append(_kubeconfig(context))
    return out


def _sops_rule(layout: Any, prefill: dict[str, Any]) -> Check:
    try:
        from wizard import catalog, sops
    except ImportError:  # pragma: no cover
        return Check(".sops.yaml rule", WARN, "sops support is not part of this build")
    try:
        prov = catalog.provider(prefill.get("dns_provider") or "hetzner")
        name = prov["secret"]["name"]
    except Exception:
        name = "dns-token"
    rel = f"{layout.components_dir}/external-dns/{name}.yaml"
    try:
        resolved = sops.resolve(layout.root, rel)
    except WizardError as exc:
        return Check(
            ".sops.yaml rule",
            MISS,
            first_sentence(exc.message),
            "Add a creation rule for manifests/ with your age recipient to .sops.yaml.",
        )
    return Check(".sops.yaml rule", OK, f"{resolved.rule.describe()} covers {rel}")


def _sops_binary() -> Check:
    try:
        from wizard import sops

        path = sops.find_sops()
        version = sops.SopsSecretWriter(path).version()
    except ImportError:  # pragma: no cover
        return Check("sops", WARN, "sops support is not part of this build")
    except WizardError as exc:
        return Check(
            "sops",
            MISS,
            first_sentence(exc.message),
            "Install sops >= 3.10 from https://github.com/getsops/sops/releases.",
        )
    return Check("sops", OK, "sops " + ".".join(map(str, version)))


def _git(layout: Any) -> list[Check]:
    from wizard.gitops import GitOps

    try:
        target = GitOps(layout.root, flux_branch=layout.git_branch, flux_url=layout.git_url).target()
    except WizardError as exc:
        return [
            Check(
                "Git remote and branch",
                MISS,
                first_sentence(exc.message),
                "Clone your Flux repository with git clone URL and run edge-wizard there.",
            )
        ]
    detail = f"pushes to {target.remote} ({target.remote_url or 'no URL'}), Flux tracks {target.branch}"
    if target.warnings:
        return [Check("Git remote and branch", WARN, detail, first_sentence(target.warnings[0]))]
    return [Check("Git remote and branch", OK, detail)]


def _kubeconfig(wanted: str | None = None) -> Check:
    paths = [Path(p) for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    paths = paths or [Path.home() / ".kube" / "config"]
    found = [p for p in paths if p.is_file()]
    if not found:
        return Check(
            "Cluster context",
            WARN,
            "no kubeconfig found; the change will be pushed but not followed",
            "Point KUBECONFIG at your cluster's kubeconfig (talosctl kubeconfig).",
        )
    context = None
    try:
        from wizard import yamlio

        docs = yamlio.load_plain(found[0].read_text(encoding="utf-8"))
        context = (docs[0] or {}).get("current-context") if docs else None
    except Exception:
        pass
    if wanted:
        return Check("Cluster context", OK, f"context {wanted} (--context)")
    if not context:
        return Check(
            "Cluster context",
            WARN,
            "the kubeconfig has no current context",
            "Pick one with kubectl config use-context NAME, or pass --context NAME.",
        )
    return Check("Cluster context", OK, f"context {context}")
