"""Guide-shaped repositories in the states people really have them in (issue 19's fixtures).

Each builder starts from :func:`make_guide_repo` (2024 style: indented sequences, sops-age) and adds
the Part IV stage as the guide and the kronform repository left it, with their exact historical
values:

* :func:`make_part_iv_repo`: all four Part IV Flux Kustomizations in ONE ``flux-system/ingress.yaml``
  (guide-reference.md §3.1), HelmRepository ``source.toolkit.fluxcd.io/v1beta2`` and HelmRelease
  ``helm.toolkit.fluxcd.io/v2beta1``, cert-manager ``installCRDs: true``, external-dns with the in-tree
  ``provider: hetzner`` and ``env HETZNER_TOKEN`` from the sops-encrypted Secret ``hetzner-token``
  (key ``HETZNER_TOKEN``), HTTP-01 ClusterIssuers with ``class: nginx``. ``flux`` picks the
  ``# Flux Version:`` header (``2.0.0-rc.5`` is the guide's own bootstrap), ``issuers="dns01"`` the
  kronform 2025-07 DNS-01 webhook issuers (with their webhook chart and sops Secret),
  ``other_apps`` an Ingress of another app served by the same controller.
* :func:`make_mature_repo`: a repository years on (kronform HEAD-like): GA APIs, DNS-01 issuers, and
  Kustomizations sourced from an OCIRepository (``path: ./``) and from another GitRepository.
* :func:`make_pgp_key`: a real gpg key (no passphrase) in its own GNUPGHOME, for the PGP rules.

Secrets are encrypted with the real sops for the repository's own ``.sops.yaml``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from support.repos import git, make_guide_repo

FLUX = "manifests/cluster/flux-system"
INFRA = "manifests/infrastructure"
ED = f"{INFRA}/external-dns"
OLD_TOKEN = "legacyDnsHetznerToken0123456789"  # the dns.hetzner.com token of 2023 (a fake)
WEBHOOK_TOKEN = "legacyWebhookToken0123456789"


def _w(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def _flux_ks(
    name: str,
    *,
    target: str | None = None,
    decryption: str | None = None,
    health: str | None = None,
    path: str | None = None,
    source: tuple[str, str] = ("GitRepository", "flux-system"),
) -> str:
    out = f"""---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: flux-system
spec:
  interval: 10m0s
  path: {path or f"./{INFRA}/{name}"}
  prune: true
  sourceRef:
    kind: {source[0]}
    name: {source[1]}
"""
    if target:
        out += f"  targetNamespace: {target}\n"
    if decryption:
        out += f"  decryption:\n    provider: sops\n    secretRef:\n      name: {decryption}\n"
    if health:
        out += (
            "  healthChecks:\n"
            f"    - apiVersion: {health}\n      kind: HelmRelease\n      name: cert-manager\n      namespace: cert-manager\n"
        )
    return out


def _kustomization(*files: str) -> str:
    return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n" + "".join(
        f"  - {f}\n" for f in files
    )


def _list_in_flux(root: Path, *files: str) -> None:
    p = root / FLUX / "kustomization.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "".join(f"  - {f}\n" for f in files), encoding="utf-8")


def _pin_flux(root: Path, version: str) -> None:
    p = root / FLUX / "gotk-components.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("v2.9.4", f"v{version}"), encoding="utf-8")
    if version.startswith(("2.0", "2.1", "2.2")):  # that Flux served HelmRelease v2beta1 only (the guide's 2023)
        for f in (root / FLUX).glob("*.yaml"):
            text = f.read_text(encoding="utf-8")
            f.write_text(
                text.replace("helm.toolkit.fluxcd.io/v2\n", "helm.toolkit.fluxcd.io/v2beta1\n"), encoding="utf-8"
            )


def encrypt_in_place(root: Path, rel: str, sops: str, env: dict[str, str] | None = None) -> None:
    """``sops --encrypt --in-place`` with the repository's .sops.yaml, from the repository root."""
    subprocess.run(
        [sops, "--encrypt", "--in-place", rel],
        cwd=root,
        check=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
    )


HELM_REPO_V1BETA2 = """---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: HelmRepository
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 5m0s
  url: {url}
"""


def part_iv_ingress(api_repo: str, api_release: str) -> str:
    return (
        "# manifests/infrastructure/ingress-nginx/ingress-nginx.yaml\n"
        + HELM_REPO_V1BETA2.format(
            name="ingress-nginx", ns="ingress-nginx", url="https://kubernetes.github.io/ingress-nginx"
        ).replace("source.toolkit.fluxcd.io/v1beta2", api_repo)
        + f"""---
apiVersion: {api_release}
kind: HelmRelease
metadata:
  name: ingress-nginx
  namespace: ingress-nginx
spec:
  interval: 5m
  chart:
    spec:
      chart: ingress-nginx
      version: ">=v4.7.0 <4.8.0"
      sourceRef:
        kind: HelmRepository
        name: ingress-nginx
        namespace: ingress-nginx
      interval: 1m
  values:
    controller:
      hostNetwork: true
      hostPort:
        enabled: true
      kind: DaemonSet
      # Otherwise helm will time out waiting for a load balancer.
      service:
        enabled: false
      ingressClassResource:
        default: true
"""
    )


PART_IV_EXTERNAL_DNS = (
    "# manifests/infrastructure/external-dns/external-dns.yaml\n"
    + HELM_REPO_V1BETA2.format(
        name="external-dns", ns="external-dns", url="https://kubernetes-sigs.github.io/external-dns/"
    )
    + """---
apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata:
  name: external-dns
  namespace: external-dns
spec:
  interval: 5m
  chart:
    spec:
      chart: external-dns
      version: ">=v1.6.0 <1.7.0"
      sourceRef:
        kind: HelmRepository
        name: external-dns
        namespace: external-dns
      interval: 1m
  values:
    provider: hetzner
    # The zone at Hetzner, not the subdomain.
    domainFilters:
      - example.com
    env:
      - name: HETZNER_TOKEN
        valueFrom:
          secretKeyRef:
            name: hetzner-token
            key: HETZNER_TOKEN
"""
)

PART_IV_CERT_MANAGER = (
    "# manifests/infrastructure/cert-manager/cert-manager.yaml\n"
    + HELM_REPO_V1BETA2.format(name="jetstack", ns="cert-manager", url="https://charts.jetstack.io")
    + """---
apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  interval: 5m
  chart:
    spec:
      chart: cert-manager
      version: ">=v1.12.0 <1.13.0"
      sourceRef:
        kind: HelmRepository
        name: jetstack
        namespace: cert-manager
      interval: 1m
  values:
    # The CRDs come with the chart.
    installCRDs: true
    # Talk to public resolvers for the DNS-01 self-check.
    podDnsPolicy: None
    podDnsConfig:
      nameservers:
        - 1.1.1.1
        - 8.8.8.8
"""
)


def _issuer(name: str, server: str, solver: str) -> str:
    return f"""---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: {name}
spec:
  acme:
    server: {server}
    email: contact@example.org
    privateKeySecretRef:
      name: {name}
    solvers:
{solver}"""


HTTP01_SOLVER = """      - http01:
          ingress:
            class: nginx
"""
DNS01_SOLVER = """      # Just switch to dns01 validation, instead of fighting ingress-nginx.
      - dns01:
          webhook:
            groupName: dns.hetzner
            solverName: hetzner
            config:
              secretName: hetzner-secret
              apiUrl: https://dns.hetzner.com/api/v1
"""
STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"

HETZNER_WEBHOOK = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: cert-manager-webhook-hetzner
  namespace: cert-manager
spec:
  interval: 12h
  url: https://vadimkim.github.io/cert-manager-webhook-hetzner
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cert-manager-webhook-hetzner
  namespace: cert-manager
spec:
  interval: 30m
  chart:
    spec:
      chart: cert-manager-webhook-hetzner
      version: "<1.4.1"
      sourceRef:
        kind: HelmRepository
        name: cert-manager-webhook-hetzner
  values:
    groupName: dns.hetzner
"""

OTHER_APP_INGRESS = """---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: blog
  namespace: blog
spec:
  ingressClassName: nginx
  rules:
    - host: blog.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: blog
                port:
                  number: 80
"""


def make_part_iv_repo(
    root: Path,
    *,
    sops: str,
    age_recipient: str | None = None,
    flux: str = "2.6.4",
    issuers: str = "http01",
    other_apps: bool = False,
    pgp: str | None = None,
    gnupghome: Path | None = None,
    commit: bool = True,
) -> Path:
    """The guide's Part IV stage, as the guide wrote it (see the module docstring)."""
    make_guide_repo(root, style="2024", age_recipient=age_recipient or _NO_AGE, commit=False)
    env: dict[str, str] = {}
    if pgp is not None:
        _w(
            root,
            ".sops.yaml",
            "creation_rules:\n"
            "  - path_regex: manifests/.*.yaml\n"
            "    encrypted_regex: ^(data|stringData)$\n"
            f"    pgp: >-\n      {pgp}\n",
        )
        env["GNUPGHOME"] = str(gnupghome)
        secret_name = "sops-gpg"
        p = root / FLUX / "pull-secrets.yaml"
        p.write_text(p.read_text(encoding="utf-8").replace("sops-age", "sops-gpg"), encoding="utf-8")
    else:
        secret_name = "sops-age"
    _pin_flux(root, flux)
    dns01 = issuers == "dns01"
    _w(
        root,
        f"{FLUX}/ingress.yaml",
        "# manifests/cluster/flux-system/ingress.yaml\n"
        + _flux_ks("ingress-nginx", target="ingress-nginx")
        + _flux_ks("external-dns", target="external-dns", decryption=secret_name)
        + _flux_ks("cert-manager", target="cert-manager")
        + _flux_ks(
            "cluster-issuers",
            decryption=secret_name if dns01 else None,
            health="helm.toolkit.fluxcd.io/v2beta1",
        ),
    )
    _list_in_flux(root, "ingress.yaml")
    ing = f"{INFRA}/ingress-nginx"
    _w(root, f"{ing}/kustomization.yaml", _kustomization("namespace.yaml", "ingress-nginx.yaml"))
    _w(
        root,
        f"{ing}/namespace.yaml",
        "# manifests/infrastructure/ingress-nginx/namespace.yaml\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n"
        "  name: ingress-nginx\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n"
        "    pod-security.kubernetes.io/enforce-version: latest\n",
    )
    _w(
        root,
        f"{ing}/ingress-nginx.yaml",
        part_iv_ingress("source.toolkit.fluxcd.io/v1beta2", "helm.toolkit.fluxcd.io/v2beta1"),
    )
    ed = f"{INFRA}/external-dns"
    _w(root, f"{ed}/kustomization.yaml", _kustomization("namespace.yaml", "hetzner-token.yaml", "external-dns.yaml"))
    _w(root, f"{ed}/namespace.yaml", "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: external-dns\n")
    import base64

    b64 = base64.b64encode(OLD_TOKEN.encode()).decode()
    _w(
        root,
        f"{ed}/hetzner-token.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hetzner-token\n  namespace: external-dns\n"
        f"type: Opaque\ndata:\n  HETZNER_TOKEN: {b64}\n",
    )
    _w(root, f"{ed}/external-dns.yaml", PART_IV_EXTERNAL_DNS)
    cm = f"{INFRA}/cert-manager"
    _w(root, f"{cm}/kustomization.yaml", _kustomization("namespace.yaml", "cert-manager.yaml"))
    _w(root, f"{cm}/namespace.yaml", "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: cert-manager\n")
    _w(root, f"{cm}/cert-manager.yaml", PART_IV_CERT_MANAGER)
    ci = f"{INFRA}/cluster-issuers"
    solver = DNS01_SOLVER if dns01 else HTTP01_SOLVER
    _w(
        root,
        f"{ci}/cluster-issuers.yaml",
        "# manifests/infrastructure/cluster-issuers/cluster-issuers.yaml\n"
        + _issuer("letsencrypt-staging", STAGING, solver)
        + _issuer("letsencrypt-production", PRODUCTION, solver),
    )
    if dns01:
        _w(
            root,
            f"{ci}/kustomization.yaml",
            _kustomization("hetzner-webhook.yaml", "secret.yaml", "cluster-issuers.yaml"),
        )
        _w(root, f"{ci}/hetzner-webhook.yaml", HETZNER_WEBHOOK)
        _w(
            root,
            f"{ci}/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hetzner-secret\n  namespace: cert-manager\n"
            f"type: Opaque\nstringData:\n  api-key: {WEBHOOK_TOKEN}\n",
        )
        encrypt_in_place(root, f"{ci}/secret.yaml", sops, env)
    else:
        _w(root, f"{ci}/kustomization.yaml", _kustomization("cluster-issuers.yaml"))
    if other_apps:
        _w(root, "manifests/apps/blog/kustomization.yaml", _kustomization("ingress.yaml"))
        _w(root, "manifests/apps/blog/ingress.yaml", OTHER_APP_INGRESS)
        _w(root, f"{FLUX}/apps.yaml", _flux_ks("blog", path="./manifests/apps/blog"))
        _list_in_flux(root, "apps.yaml")
    encrypt_in_place(root, f"{ed}/hetzner-token.yaml", sops, env)
    if commit:
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "Part IV")
    return root


_NO_AGE = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"

OTHER_SOURCES = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 10m
  url: oci://ghcr.io/stefanprodan/manifests/podinfo
  ref:
    semver: ">=6.14.0"
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: podinfo-oci
  namespace: flux-system
spec:
  interval: 10m
  path: ./
  prune: true
  targetNamespace: podinfo-oci
  sourceRef:
    kind: OCIRepository
    name: podinfo
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: kubizone
  namespace: flux-system
spec:
  interval: 1h
  url: https://github.com/MathiasPius/kubizone
  ref:
    tag: v0.4.0
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: kubizone-crds
  namespace: flux-system
spec:
  interval: 1h
  path: ./crds
  prune: true
  sourceRef:
    kind: GitRepository
    name: kubizone
"""


def make_mature_repo(root: Path, *, sops: str, age_recipient: str, commit: bool = True) -> Path:
    """Years on: the Part IV stage moved to GA APIs and DNS-01 by hand, plus Kustomizations that apply
    other sources (an OCIRepository with ``path: ./``, another GitRepository's ``./crds``)."""
    make_part_iv_repo(root, sops=sops, age_recipient=age_recipient, issuers="dns01", commit=False)
    for rel in (f"{INFRA}/ingress-nginx/ingress-nginx.yaml", f"{INFRA}/cert-manager/cert-manager.yaml"):
        p = root / rel
        text = p.read_text(encoding="utf-8")
        text = text.replace("source.toolkit.fluxcd.io/v1beta2", "source.toolkit.fluxcd.io/v1")
        text = text.replace("helm.toolkit.fluxcd.io/v2beta1", "helm.toolkit.fluxcd.io/v2")
        text = text.replace(
            "    # The CRDs come with the chart.\n    installCRDs: true\n", "    crds:\n      enabled: true\n"
        )
        p.write_text(text, encoding="utf-8")
    p = root / FLUX / "ingress.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("helm.toolkit.fluxcd.io/v2beta1", "helm.toolkit.fluxcd.io/v2"))
    # external-dns was dropped for a webhook setup the wizard would write anyway: keep only the others
    text = (root / FLUX / "ingress.yaml").read_text(encoding="utf-8")
    start = text.index(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: external-dns"
    )
    end = text.index("---", start + 3)
    (root / FLUX / "ingress.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    import shutil

    shutil.rmtree(root / INFRA / "external-dns")
    _w(root, f"{FLUX}/sources.yaml", OTHER_SOURCES)
    _list_in_flux(root, "sources.yaml")
    if commit:
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "years later")
    return root


@dataclass(frozen=True)
class PgpKey:
    home: Path  # the GNUPGHOME holding the secret key
    fingerprint: str
    public: str  # the armored public key (what the guide exports to .flux.pub.asc)


def make_pgp_key(folder: Path, name: str = "flux.example.com") -> PgpKey:
    """A real ed25519 key without passphrase (the guide's Part III key), in ``folder`` as GNUPGHOME."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(folder)}
    run = lambda *a: subprocess.run(["gpg", "--batch", *a], env=env, check=True, capture_output=True, text=True)  # noqa: E731
    run("--passphrase", "", "--quick-generate-key", name, "ed25519", "cert,sign", "never")
    out = run("--list-keys", "--with-colons", name).stdout
    fpr = next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))
    run("--passphrase", "", "--quick-add-key", fpr, "cv25519", "encr", "never")
    public = run("--armor", "--export", fpr).stdout
    return PgpKey(folder, fpr, public)
