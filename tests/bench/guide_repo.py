"""A guide-shaped repository of ~100 files for the discovery benchmark.

The sandbox's guide repository (wizard.demo.sandbox.make_guide_repo, 2024 style) grown the way the
guide's repository grew by its HEAD: a full Flux bundle (`gotk-components.yaml`, see bundle.py),
two dozen infrastructure components (namespace, HelmRepository, HelmRelease with values,
kustomization.yaml, some sops-encrypted Secrets), Grafana dashboards as ConfigMaps and a few apps,
each declared by a Flux Kustomization in the Flux folder and listed in its kustomization.yaml. The
edge components the wizard writes (ingress-nginx, external-dns, cert-manager, cluster-issuers,
podinfo) are absent, as in the sandbox, so `edge-wizard steps` sees the same states in both.
"""

from __future__ import annotations

import json
from pathlib import Path

from wizard.demo.sandbox import git, make_guide_repo

FLUX = "manifests/cluster/flux-system"
INFRA = "manifests/infrastructure"

# component -> (namespace, chart repository URL, chart, version, extra values lines)
COMPONENTS: dict[str, tuple[str, str, str, str, str]] = {
    "rook-ceph": (
        "rook-ceph",
        "https://charts.rook.io/release",
        "rook-ceph",
        "v1.17.4",
        "csi:\n  enableRbdDriver: true",
    ),
    "rook-ceph-cluster": (
        "rook-ceph",
        "https://charts.rook.io/release",
        "rook-ceph-cluster",
        "v1.17.4",
        "cephClusterSpec:\n  mon:\n    count: 3\n  dashboard:\n    enabled: true",
    ),
    "local-path-provisioner": (
        "local-path-storage",
        "https://charts.containeroo.ch",
        "local-path-provisioner",
        "0.0.31",
        "storageClass:\n  defaultClass: false",
    ),
    "metrics-server": (
        "kube-system",
        "https://kubernetes-sigs.github.io/metrics-server/",
        "metrics-server",
        "3.12.2",
        "args:\n  - --kubelet-insecure-tls",
    ),
    "kube-prometheus-stack": (
        "monitoring",
        "https://prometheus-community.github.io/helm-charts",
        "kube-prometheus-stack",
        "75.6.1",
        "grafana:\n  enabled: true\n  sidecar:\n    dashboards:\n      enabled: true\n      label: grafana_dashboard\n"
        "prometheus:\n  prometheusSpec:\n    retention: 30d\n    storageSpec:\n      volumeClaimTemplate:\n"
        "        spec:\n          storageClassName: ceph-block\n          resources:\n            requests:\n"
        "              storage: 50Gi",
    ),
    "loki": (
        "monitoring",
        "https://grafana.github.io/helm-charts",
        "loki",
        "6.30.1",
        "deploymentMode: SingleBinary\nloki:\n  auth_enabled: false\n  commonConfig:\n    replication_factor: 1",
    ),
    "promtail": ("monitoring", "https://grafana.github.io/helm-charts", "promtail", "6.17.0", "config:\n  clients: []"),
    "velero": (
        "velero",
        "https://vmware-tanzu.github.io/helm-charts",
        "velero",
        "10.0.4",
        "configuration:\n  backupStorageLocation:\n    - name: default\n      provider: aws\n      bucket: backups",
    ),
    "cloudnative-pg": (
        "cnpg-system",
        "https://cloudnative-pg.github.io/charts",
        "cloudnative-pg",
        "0.24.0",
        "monitoring:\n  podMonitorEnabled: true",
    ),
    "kubizone": ("kubizone", "https://charts.kubi.zone", "kubizone", "0.4.1", "records:\n  enabled: true"),
    "reloader": (
        "reloader",
        "https://stakater.github.io/stakater-charts",
        "reloader",
        "2.1.4",
        "reloader:\n  watchGlobally: true",
    ),
    "descheduler": (
        "kube-system",
        "https://kubernetes-sigs.github.io/descheduler/",
        "descheduler",
        "0.33.0",
        "schedule: '*/15 * * * *'",
    ),
    "sealed-secrets": (
        "kube-system",
        "https://bitnami-labs.github.io/sealed-secrets",
        "sealed-secrets",
        "2.17.3",
        "fullnameOverride: sealed-secrets-controller",
    ),
    "external-secrets": (
        "external-secrets",
        "https://charts.external-secrets.io",
        "external-secrets",
        "0.18.2",
        "installCRDs: true",
    ),
    "kyverno": (
        "kyverno",
        "https://kyverno.github.io/kyverno/",
        "kyverno",
        "3.4.4",
        "admissionController:\n  replicas: 1",
    ),
    "node-feature-discovery": (
        "node-feature-discovery",
        "https://kubernetes-sigs.github.io/node-feature-discovery/charts",
        "node-feature-discovery",
        "0.17.3",
        "worker:\n  tolerations: []",
    ),
}
SECRETS = ("velero", "kubizone", "external-secrets", "kube-prometheus-stack")
APPS = ("blog", "wiki", "paste", "status", "gitea")
DASHBOARDS = 12


def _w(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def _flux_ks(name: str, path: str, *, depends: tuple[str, ...] = (), decryption: bool = False) -> str:
    text = f"""---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./{path}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"""
    if depends:
        text += "  dependsOn:\n" + "".join(f"    - name: {d}\n" for d in depends)
    if decryption:
        text += "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
    return text


def _sops_secret(name: str, namespace: str) -> str:
    enc = "ENC[AES256_GCM,data:" + "q" * 40 + ",iv:" + "i" * 43 + "=,tag:" + "t" * 22 + "==,type:str]"
    return f"""apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {namespace}
type: Opaque
stringData:
  token: {enc}
sops:
  kms: []
  gcp_kms: []
  azure_kv: []
  hc_vault: []
  age:
    - recipient: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBiZW5jaG1hcmsK
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2026-11-30T12:00:00Z"
  mac: ENC[AES256_GCM,data:{"m" * 60},iv:{"i" * 43}=,tag:{"t" * 22}==,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.13.2
"""


def _dashboard(i: int) -> str:
    panels = [
        {
            "id": p,
            "type": "timeseries",
            "title": f"Panel {p} of dashboard {i}",
            "gridPos": {"h": 8, "w": 12, "x": (p % 2) * 12, "y": (p // 2) * 8},
            "datasource": {"type": "prometheus", "uid": "prometheus"},
            "targets": [
                {
                    "expr": f'sum(rate(container_cpu_usage_seconds_total{{namespace="ns-{p}"}}[5m])) by (pod)',
                    "refId": "A",
                }
            ],
            "fieldConfig": {"defaults": {"unit": "percentunit", "thresholds": {"mode": "absolute", "steps": []}}},
        }
        for p in range(24)
    ]
    body = json.dumps({"title": f"Dashboard {i}", "uid": f"dash-{i}", "panels": panels, "schemaVersion": 39}, indent=2)
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dashboard-{i}\n  namespace: monitoring\n"
        f'  labels:\n    grafana_dashboard: "1"\ndata:\n  dashboard-{i}.json: |\n{indented}'
    )


def _app(name: str) -> dict[str, str]:
    return {
        "namespace.yaml": f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n",
        "deployment.yaml": f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {name}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: {name}
          image: ghcr.io/example/{name}:1.0.0
          ports:
            - containerPort: 8080
          resources:
            requests:
              cpu: 50m
              memory: 64Mi
""",
        "service.yaml": f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {name}
spec:
  selector:
    app: {name}
  ports:
    - port: 80
      targetPort: 8080
""",
    }


def make_big_repo(root: Path, bundle: Path) -> Path:
    """The ~100-file repository, committed. ``bundle`` is a real gotk-components.yaml."""
    make_guide_repo(root, style="2024", commit=False)
    _w(root, f"{FLUX}/gotk-components.yaml", bundle.read_text(encoding="utf-8"))
    _w(
        root,
        ".sops.yaml",
        "creation_rules:\n  - path_regex: manifests/.*\\.yaml\n    encrypted_regex: ^(data|stringData)$\n"
        "    age: >-\n      age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\n",
    )
    flux_files: list[str] = []
    infra = ""
    for comp, (ns, url, chart, version, values) in COMPONENTS.items():
        folder = f"{INFRA}/{comp}"
        files = ["namespace.yaml", "repository.yaml", "release.yaml"]
        _w(
            root,
            f"{folder}/namespace.yaml",
            f"# {folder}/namespace.yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n",
        )
        _w(
            root,
            f"{folder}/repository.yaml",
            f"""# {folder}/repository.yaml
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: {comp}
  namespace: {ns}
spec:
  interval: 24h
  url: {url}
""",
        )
        vals = "".join(f"    {line}\n" for line in values.splitlines())
        _w(
            root,
            f"{folder}/release.yaml",
            f"""# {folder}/release.yaml
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {comp}
  namespace: {ns}
spec:
  interval: 30m
  chart:
    spec:
      chart: {chart}
      version: "{version}"
      sourceRef:
        kind: HelmRepository
        name: {comp}
        namespace: {ns}
  install:
    remediation:
      retries: 3
  upgrade:
    remediation:
      retries: 3
  values:
{vals}""",
        )
        if comp in SECRETS:
            _w(root, f"{folder}/secret.yaml", _sops_secret(f"{comp}-credentials", ns))
            files.append("secret.yaml")
        if comp == "kube-prometheus-stack":
            for i in range(DASHBOARDS):
                _w(root, f"{folder}/dashboards/dashboard-{i}.yaml", _dashboard(i))
            _w(
                root,
                f"{folder}/dashboards/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
                + "".join(f"  - dashboard-{i}.yaml\n" for i in range(DASHBOARDS)),
            )
            files.append("dashboards")
        _w(
            root,
            f"{folder}/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
            + "".join(f"  - {f}\n" for f in files),
        )
        infra += _flux_ks(comp, folder, decryption=comp in SECRETS)
    _w(root, f"{FLUX}/infrastructure.yaml", infra)
    flux_files.append("infrastructure.yaml")
    apps = ""
    for app in APPS:
        folder = f"manifests/apps/{app}"
        for name, text in _app(app).items():
            _w(root, f"{folder}/{name}", text)
        _w(
            root,
            f"{folder}/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
            "  - namespace.yaml\n  - deployment.yaml\n  - service.yaml\n",
        )
        apps += _flux_ks(f"app-{app}", folder, depends=("kube-prometheus-stack",))
    _w(root, f"{FLUX}/apps.yaml", apps)
    flux_files.append("apps.yaml")
    kfile = root / f"{FLUX}/kustomization.yaml"
    kfile.write_text(kfile.read_text(encoding="utf-8") + "".join(f"  - {f}\n" for f in flux_files), encoding="utf-8")
    _w(root, "docs/runbook.md", "# runbook\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def count_files(root: Path) -> tuple[int, int, int]:
    """(files, YAML files, bytes of YAML) outside .git."""
    files = [p for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts]
    yaml = [p for p in files if p.suffix in (".yaml", ".yml")]
    return len(files), len(yaml), sum(p.stat().st_size for p in yaml)
