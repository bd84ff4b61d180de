"""doctor's checks of the ingress controller in use (wizard.controllers): the class each Ingress and
ClusterIssuer names, and the nginx annotations Traefik's kubernetesIngressNGINX provider ignores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wizard import controllers
from wizard.doctor import Finding, check
from wizard.doctor.repo_checks import RepoContext, _releases, _values


def _served_classes(ctx: RepoContext) -> tuple[set[str], list[str]]:
    """The IngressClass names the repository's controllers serve, and which controllers those are."""
    served: set[str] = set()
    names: list[str] = []
    for c in controllers.CONTROLLERS:
        for d in _releases(ctx, c.chart):
            names.append(f"{c.title} (HelmRelease {d.name!r} in {d.path})")
            v = _values(d)
            if c is controllers.TRAEFIK:
                served.add(str((v.get("ingressClass") or {}).get("name") or "traefik"))
                if ((v.get("providers") or {}).get("kubernetesIngressNGINX") or {}).get("enabled") is True:
                    served.add(controllers.INGRESS_NGINX.ingress_class)
            else:
                cls = ((v.get("controller") or {}).get("ingressClassResource") or {}).get("name")
                served.add(str(cls or c.ingress_class))
    return served, names


def _class_of(d: Any) -> str | None:
    ann = d.metadata.get("annotations") or {}
    cls = d.spec.get("ingressClassName") or (ann.get("kubernetes.io/ingress.class") if isinstance(ann, dict) else None)
    return str(cls) if cls else None


@check("ingress-class-unserved", scope="repo")
def ingress_class_unserved(ctx: RepoContext) -> Iterable[Finding]:
    """An Ingress or an HTTP-01 solver names an IngressClass no controller in the repository serves."""
    served, names = _served_classes(ctx)
    if not served:
        return
    wanted: list[tuple[Any, str, str]] = []
    for d in ctx.of_kind("Ingress"):
        cls = _class_of(d)
        if cls and cls not in served:
            wanted.append((d, f"Ingress {d.name!r}", cls))
    for d in ctx.of_kind("ClusterIssuer", "Issuer"):
        for s in ((d.spec.get("acme") or {}).get("solvers") or []) if isinstance(d.spec.get("acme"), dict) else []:
            ing = ((s or {}).get("http01") or {}).get("ingress") if isinstance(s, dict) else None
            cls = (ing or {}).get("ingressClassName") or (ing or {}).get("class") if isinstance(ing, dict) else None
            if cls and cls not in served:
                wanted.append((d, f"{d.kind} {d.name!r} (HTTP-01 solver)", str(cls)))
    for d, what, cls in wanted:
        yield Finding(
            "ingress-class-unserved",
            "error",
            path=d.path,
            seen=f"{what} in {d.path} names the IngressClass {cls!r}, but the ingress controller in the repository "
            f"({'; '.join(names)}) serves {', '.join(sorted(served))}.",
            why="No controller picks it up: the Ingress gets no address, external-dns publishes no record, and "
            "HTTP-01 challenges are never answered, so no certificate is issued.",
            fix=f"Use ingressClassName {sorted(served)[0]!r}; for the wizard's own files run "
            "`edge-wizard run cluster-issuers smoke-test`, which follows the controller in use.",
            step="cluster-issuers" if "solver" in what else None,
        )


@check("nginx-annotations-unsupported", scope="repo")
def nginx_annotations_unsupported(ctx: RepoContext) -> Iterable[Finding]:
    """nginx-class Ingresses with nginx annotations Traefik's kubernetesIngressNGINX provider ignores."""
    bad = controllers.unsupported_in_repo(ctx.layout)
    if not bad:
        return
    on_traefik = bool(_releases(ctx, controllers.TRAEFIK.chart))
    for path, name, anns in bad:
        yield Finding(
            "nginx-annotations-unsupported",
            "warning" if on_traefik else "info",
            path=path,
            seen=f"Ingress {name} in {path} uses {', '.join(anns)}, which Traefik's kubernetesIngressNGINX provider "
            "does not support.",
            why=(
                "Traefik serves this Ingress without them: the behaviour they configured is gone."
                if on_traefik
                else "Switching to Traefik (ingress_controller: traefik) keeps this Ingress serving, but without "
                "the behaviour these annotations configure."
            ),
            fix="Replace each with a Traefik Middleware (traefik.ingress.kubernetes.io/router.middlewares) or a "
            "supported nginx annotation, then check the Ingress answers as before.",
        )
