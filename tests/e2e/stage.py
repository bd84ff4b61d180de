"""The bootstrapped guide repository for e2e tests: a guide-shaped repo served over smart HTTP,
Flux's GitRepository + root Kustomization pointed at it (as `flux bootstrap` leaves them), and a
catalog overlay that points the charts at the local chart repository."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from support.repos import ANSWERS, git, make_guide_repo

CILIUM_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "ciliumclusterwidenetworkpolicies.cilium.io"},
    "spec": {
        "group": "cilium.io",
        "scope": "Cluster",
        "names": {
            "kind": "CiliumClusterwideNetworkPolicy",
            "plural": "ciliumclusterwidenetworkpolicies",
            "singular": "ciliumclusterwidenetworkpolicy",
            "listKind": "CiliumClusterwideNetworkPolicyList",
            "shortNames": ["ccnp"],
        },
        "versions": [
            {
                "name": "v2",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}


@dataclass
class Stage:
    cp: object
    repo: Path
    answers: Path
    catalog: Path


def poll(fn, what: str, timeout: float = 120, interval: float = 0.5, describe=None):
    """Call ``fn`` until it returns something truthy; fail naming ``what`` after ``timeout`` s
    (with ``describe()``'s text, when given, as what was last seen)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    seen = describe() if describe is not None else repr(last)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {seen})")


def namespace(name: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def clear_conflicts(cp) -> None:
    """Uninstall releases other modules made into the namespaces the wizard's stage uses, and wait
    until the single kwok node's host ports 80/443 are free for the wizard's ingress pod."""
    cp.kubectl(
        "delete",
        "helmrelease",
        "-n",
        "flux-system",
        "ingress-nginx",
        "ingress-nginx-denied",
        "podinfo",
        "--ignore-not-found",
        "--wait=true",
        "--timeout=120s",
        timeout=150,
    )

    def host_port_pods() -> list[str]:
        return [
            f"{p['metadata']['namespace']}/{p['metadata']['name']}"
            for p in cp.get_json("pods", "-A")["items"]
            if any(
                port.get("hostPort") in (80, 443)
                for c in p["spec"].get("containers", [])
                for port in c.get("ports") or []
            )
        ]

    poll(lambda: not host_port_pods(), "no pod left holding host ports 80/443", timeout=240)


def bootstrap(
    cp,
    chart_repo,
    git_server,
    base: Path,
    name: str,
    *,
    sops_yaml: str | None = None,
    catalog: str | None = None,
    answers: str | None = None,
) -> Stage:
    """``catalog``: the EDGE_WIZARD_CATALOG overlay (default: only the charts from ``chart_repo``;
    EdgeStack.services.catalog_overlay() adds the ACME servers). ``answers``: the answers file's text
    (default: the sandbox's, on ingress-nginx)."""
    git_server.create_bare(name)
    url = git_server.repo_url(name)
    repo = make_guide_repo(base / "repo", style="2024", url=url, commit=False)
    flux = repo / "manifests/cluster/flux-system"
    # no credentials on this git server, and no Cilium HelmRelease to health-check on this plane
    sync = (flux / "gotk-sync.yaml").read_text()
    sync = sync.replace("  secretRef:\n    name: flux-system\n", "").replace("interval: 10m0s", "interval: 1m0s")
    (flux / "gotk-sync.yaml").write_text(sync)
    cil = (flux / "cilium.yaml").read_text()
    (flux / "cilium.yaml").write_text(re.sub(r"  healthChecks:\n(    .*\n|      .*\n)+", "", cil))
    assert "healthChecks" not in (flux / "cilium.yaml").read_text()
    if sops_yaml is not None:
        (repo / ".sops.yaml").write_text(sops_yaml)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    git(repo, "remote", "add", "origin", url)
    git(repo, "push", "-q", "origin", "main")

    answers_file = base / "answers.yaml"
    # the stack serves ingress-nginx through its declared stand-in (tests/e2e/README.md): stages stay
    # on it unless told (a new repository would get Traefik, which the full run uses)
    answers_file.write_text(answers or ANSWERS + "ingress_controller: ingress-nginx\n")
    catalog_file = base / "catalog.yaml"
    catalog_file.write_text(
        catalog
        or "charts:\n"
        + "".join(
            f"  {chart}:\n    repository: {chart_repo.url}\n"
            for chart in ("ingress-nginx", "traefik", "cert-manager", "external-dns", "podinfo")
        )
    )

    cp.kubectl_apply(CILIUM_CRD)
    cp.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/ciliumclusterwidenetworkpolicies.cilium.io")
    # take over flux-system/flux-system (another module may have pointed it at its own repository)
    cp.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=flux-bootstrap",
        "-f",
        str(flux / "gotk-sync.yaml"),
    )
    cp.kubectl(
        "patch",
        "-n",
        "flux-system",
        "gitrepository/flux-system",
        "--type=json",
        "-p",
        '[{"op": "remove", "path": "/spec/secretRef"}]',
        check=False,
    )
    cp.kubectl(
        "annotate",
        "--overwrite",
        "-n",
        "flux-system",
        "gitrepository/flux-system",
        f"reconcile.fluxcd.io/requestedAt=setup-{time.time()}",
    )
    r = cp.kubectl(
        "wait",
        "--for=condition=Ready",
        "--timeout=180s",
        "-n",
        "flux-system",
        "kustomization/flux-system",
        check=False,
        timeout=200,
    )
    assert r.returncode == 0, cp.get_json("-n", "flux-system", "kustomization/flux-system").get("status")
    # Ready may still be the previous repository's: wait until the root Kustomization has applied
    # this one's first commit (its gotk-sync.yaml now owns flux-system/flux-system), so the pushes
    # that follow are not raced by the previous repository's own gotk-sync.yaml
    initial = git(repo, "rev-parse", "HEAD")

    def applied() -> bool:
        k = cp.get_json("-n", "flux-system", "kustomization/flux-system")
        return initial in ((k.get("status") or {}).get("lastAppliedRevision") or "")

    def describe() -> str:
        g = cp.get_json("-n", "flux-system", "gitrepository/flux-system")
        k = cp.get_json("-n", "flux-system", "kustomization/flux-system")
        return f"url={g['spec'].get('url')} artifact={(g.get('status') or {}).get('artifact', {}).get('revision')} applied={(k.get('status') or {}).get('lastAppliedRevision')}"

    poll(
        applied, f"the root Kustomization applying {name}'s first commit {initial[:10]}", timeout=240, describe=describe
    )
    return Stage(cp=cp, repo=repo, answers=answers_file, catalog=catalog_file)
