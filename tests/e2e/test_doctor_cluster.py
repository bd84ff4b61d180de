"""edge-wizard doctor, cluster checks, against the local control plane (tests/e2e/cluster.py).

Reproduced with the real controllers: PodSecurity rejection (kube-controller-manager's
FailedCreate), a Flux Kustomization applying a sops-encrypted Secret without decryption, a
Kustomization applying a ClusterIssuer before its CRD exists, and external-dns whose Secret is
missing. States that are slow or awkward to provoke (cert-manager's ACME failures, a stalled Helm
install, an unavailable Flux controller Deployment) are objects applied to the real API server,
validated by the real CRDs (rendered from the real cert-manager chart), with the status the
controller would leave (status subresource patch); no cert-manager controller runs while this
module does (test_controlplane uninstalls its release; test_full_run provokes the real failures).

Run inside the loopback-only netns:
    EDGE_WIZARD_TOOLS_BIN=$(bash tests/tools/build.sh --print-bin) \
      bash tests/tools/in-netns.sh .venv/bin/python -m pytest tests/e2e/test_doctor_cluster.py -q -m e2e
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from wizard import doctor
from wizard.doctor import Finding

from .stage import namespace as ns
from .stage import poll

pytestmark = pytest.mark.e2e

NS = "doctor-e2e"
REPO_ROOT = Path(__file__).resolve().parents[2]
CM_CHART = "cert-manager-v1.21.1"
NOW = "2026-08-28T10:00:00Z"


def run_doctor(cp) -> list[Finding]:
    fs = doctor.diagnose(None, kubeconfig=str(cp.kubeconfig))
    assert not [f for f in fs if f.id in ("cluster-skipped", "doctor-check-crashed")], fs
    return fs


def about(fs: list[Finding], obj: str) -> list[Finding]:
    return [f for f in fs if f.object == obj]


def patch_status(cp, resource: str, namespace: str | None, status: dict) -> None:
    args = ["patch", resource, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status})]
    cp.kubectl(*(["-n", namespace] if namespace else []), *args)


def condition(type_: str, status: str, reason: str, message: str) -> dict:
    return {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": NOW}


@pytest.fixture(scope="module")
def base(control_plane):
    control_plane.kubectl_apply(ns(NS))
    return control_plane


# --------------------------------------------------------------------------- git + sops fixture
def _git(*args: str, cwd: Path) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="e2e",
        GIT_AUTHOR_EMAIL="e2e@example.invalid",
        GIT_COMMITTER_NAME="e2e",
        GIT_COMMITTER_EMAIL="e2e@example.invalid",
    )
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _sops_encrypt(bin_dir: Path, recipient: str, plain: str) -> str:
    r = subprocess.run(
        [
            str(bin_dir / "sops"),
            "encrypt",
            "--age",
            recipient,
            "--encrypted-regex",
            "^(data|stringData)$",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "--filename-override",
            "secret.yaml",
        ],
        input=plain,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def flux_repo(base, git_server, tmp_path_factory):
    """A git repository served to Flux with ./nodecrypt (an encrypted Secret) and ./crdorder (a
    ClusterIssuer, or a kind with no CRD at all if cert-manager's CRDs are already installed)."""
    cp = base
    work = tmp_path_factory.mktemp("doctor-flux")
    key = work / "age.agekey"
    subprocess.run([str(cp.bin / "age-keygen"), "-o", str(key)], check=True, capture_output=True)
    recipient = subprocess.run(
        [str(cp.bin / "age-keygen"), "-y", str(key)], check=True, capture_output=True, text=True
    ).stdout.strip()
    src = work / "src"
    (src / "nodecrypt").mkdir(parents=True)
    (src / "crdorder").mkdir()
    (src / "nodecrypt" / "secret.yaml").write_text(
        _sops_encrypt(
            cp.bin,
            recipient,
            (
                f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: hetzner-token\n  namespace: {NS}\n"
                "type: Opaque\ndata:\n  HETZNER_API_KEY: c2VjcmV0LXRva2Vu\n"
            ),
        )
    )
    assert "ENC[" in (src / "nodecrypt" / "secret.yaml").read_text()
    served = cp.api_get("/apis/cert-manager.io/v1")[0] == 200
    kind, api = ("Widget", "doctor.example.com/v1") if served else ("ClusterIssuer", "cert-manager.io/v1")
    (src / "crdorder" / "issuer.yaml").write_text(
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: doctor-issuer\nspec:\n  acme:\n"
        "    server: https://127.0.0.1:14000/dir\n    email: ops@example.org\n"
        "    privateKeySecretRef: {name: doctor-issuer}\n    solvers: [{http01: {ingress: {ingressClassName: nginx}}}]\n"
    )
    bare = Path(git_server.root) / "doctor.git"
    _git("init", "--bare", "-q", "-b", "main", str(bare), cwd=work)
    _git("init", "-q", "-b", "main", cwd=src)
    _git("add", ".", cwd=src)
    _git("commit", "-q", "-m", "doctor fixtures", cwd=src)
    _git("push", "-q", str(bare), "main", cwd=src)
    cp.kubectl_apply(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "doctor", "namespace": "flux-system"},
            "spec": {"url": f"{git_server.url}doctor.git", "interval": "1m", "ref": {"branch": "main"}},
        }
    )
    return {"kind": kind}


def kustomization(name: str, path: str, **spec) -> dict:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {
            "interval": "1m",
            "retryInterval": "5s",
            "path": path,
            "prune": True,
            "timeout": "1m",
            "sourceRef": {"kind": "GitRepository", "name": "doctor"},
            **spec,
        },
    }


def wait_not_ready(cp, name: str, needle: str) -> str:
    def msg():
        k = cp.get_json("-n", "flux-system", f"kustomization/{name}")
        c = next((c for c in (k.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None)
        return c["message"] if c and c["status"] == "False" and needle in c["message"] else None

    return poll(msg, f"Kustomization {name} Ready=False with {needle!r}")


# --------------------------------------------------------------------------- the tests
def test_crd_ordering_is_diagnosed(flux_repo, base):
    cp = base
    cp.kubectl_apply(kustomization("doctor-crdorder", "./crdorder"))
    msg = wait_not_ready(cp, "doctor-crdorder", "no matches for kind")
    (f,) = about(run_doctor(cp), "Kustomization/flux-system/doctor-crdorder")
    assert f.id == "kustomization-crd-missing" and f.severity == "error"
    assert msg in f.seen and "dependsOn" in f.fix
    if flux_repo["kind"] == "ClusterIssuer":
        assert f.step == "cluster-issuers"
    cp.kubectl("delete", "-n", "flux-system", "kustomization/doctor-crdorder", "--wait=false")


def test_missing_decryption_is_diagnosed(flux_repo, base):
    cp = base
    cp.kubectl_apply(kustomization("doctor-nodecrypt", "./nodecrypt"))
    msg = wait_not_ready(cp, "doctor-nodecrypt", f"Secret/{NS}/hetzner-token")
    assert "SOPS encrypt" in msg or "illegal base64 data" in msg, msg
    (f,) = about(run_doctor(cp), "Kustomization/flux-system/doctor-nodecrypt")
    assert f.id == "kustomization-decryption-missing" and f.severity == "error"
    assert msg in f.seen and "decryption: {provider: sops" in f.fix
    cp.kubectl("delete", "-n", "flux-system", "kustomization/doctor-nodecrypt", "--wait=false")


def _deployment(name: str, namespace: str, pod: dict, labels: dict | None = None, replicas: int = 1) -> dict:
    sel = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": sel},
            "template": {"metadata": {"labels": sel}, "spec": pod},
        },
    }


HOSTNET_POD = {
    "hostNetwork": True,
    "containers": [
        {
            "name": "controller",
            "image": "registry.invalid/nginx:1",
            "ports": [{"containerPort": 80}, {"containerPort": 443}],
        }
    ],
}


def test_pod_security_rejection_is_diagnosed(base):
    cp = base
    cp.kubectl_apply(ns("doctor-psa"), ns("doctor-psa-ok", {"pod-security.kubernetes.io/enforce": "privileged"}))
    poll(lambda: cp.api_get("/api/v1/namespaces/doctor-psa-ok/serviceaccounts/default")[0] == 200, "default SA")
    poll(lambda: cp.api_get("/api/v1/namespaces/doctor-psa/serviceaccounts/default")[0] == 200, "default SA")
    cp.kubectl_apply(_deployment("web", "doctor-psa", HOSTNET_POD), _deployment("web", "doctor-psa-ok", HOSTNET_POD))
    try:
        _check_pod_security(cp)
    finally:  # the single kwok node has one port 80/443: free them for later tests
        cp.kubectl(
            "delete",
            "namespace",
            "doctor-psa",
            "doctor-psa-ok",
            "--ignore-not-found",
            "--wait=true",
            "--timeout=60s",
            check=False,
            timeout=90,
        )


def _check_pod_security(cp) -> None:
    def rejected():
        evs = cp.get_json("-n", "doctor-psa", "events", "--field-selector=reason=FailedCreate")["items"]
        return [e["message"] for e in evs if "violates PodSecurity" in e["message"]]

    msgs = poll(rejected, "FailedCreate PodSecurity event in doctor-psa")
    poll(
        lambda: (cp.get_json("-n", "doctor-psa-ok", "deployment/web").get("status") or {}).get("readyReplicas"),
        "the privileged namespace's Deployment to be ready",
    )

    fs = run_doctor(cp)
    (f,) = about(fs, "Deployment/doctor-psa/web")
    assert f.id == "pod-security-rejected" and f.severity == "error"
    assert 'violates PodSecurity "baseline:latest"' in f.seen and any(m in f.seen for m in msgs)
    assert "pod-security.kubernetes.io/enforce: privileged" in f.fix
    assert not about(fs, "Deployment/doctor-psa-ok/web")  # no false positive where pods run


def test_external_dns_secret_missing_is_diagnosed(base):
    cp = base
    pod = {
        "containers": [
            {"name": "external-dns", "image": "registry.invalid/external-dns:0.21"},
            {
                "name": "webhook",
                "image": "registry.invalid/hetzner-webhook:1",
                "env": [
                    {
                        "name": "HETZNER_API_KEY",
                        "valueFrom": {"secretKeyRef": {"name": "hetzner-token", "key": "HETZNER_API_KEY"}},
                    }
                ],
            },
        ]
    }
    cp.kubectl_apply(ns("doctor-edns"))
    cp.kubectl_apply(_deployment("external-dns", "doctor-edns", pod, {"app.kubernetes.io/name": "external-dns"}))
    obj = "Deployment/doctor-edns/external-dns"
    (f,) = about(run_doctor(cp), obj)
    assert f.id == "external-dns-secret-missing" and f.step == "external-dns"
    assert "Secret doctor-edns/hetzner-token does not exist" in f.seen

    cp.kubectl_apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hetzner-token", "namespace": "doctor-edns"},
            "stringData": {"WRONG_KEY": "x"},
        }
    )
    (f,) = about(run_doctor(cp), obj)
    assert "has no key 'HETZNER_API_KEY' (keys: WRONG_KEY)" in f.seen

    cp.kubectl_apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hetzner-token", "namespace": "doctor-edns"},
            "stringData": {"HETZNER_API_KEY": "x"},
        }
    )
    poll(
        lambda: (cp.get_json("-n", "doctor-edns", "deployment/external-dns").get("status") or {}).get(
            "availableReplicas"
        ),
        "external-dns available (kwok)",
    )
    assert about(run_doctor(cp), obj) == []


def test_helmrelease_stalled_is_diagnosed(base):
    cp = base
    cp.kubectl_apply(
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "doctor-stalled", "namespace": NS},
            # suspended: helm-controller leaves it alone, so the status below is what doctor reads
            "spec": {
                "interval": "10m",
                "suspend": True,
                "install": {"remediation": {"retries": 1}},
                "chart": {
                    "spec": {
                        "chart": "cert-manager",
                        "version": ">=1.21.0 <1.22.0",
                        "sourceRef": {"kind": "HelmRepository", "name": "jetstack"},
                    }
                },
            },
        }
    )
    try:  # let helm-controller see it once (it adds its finalizer), so it does not overwrite the status
        poll(
            lambda: (
                "finalizers.fluxcd.io"
                in (cp.get_json("-n", NS, "helmrelease/doctor-stalled")["metadata"].get("finalizers") or [])
                or None
            ),
            "helm-controller's first look",
            timeout=20,
        )
    except AssertionError:
        pass  # a suspended object may be left without one; status patches do not trigger a reconcile
    msg = "Helm install failed for release doctor-e2e/doctor-stalled: context deadline exceeded"
    patch_status(
        cp,
        "helmrelease/doctor-stalled",
        NS,
        {
            "installFailures": 2,
            "observedGeneration": 1,
            "conditions": [
                condition("Ready", "False", "InstallFailed", msg),
                condition("Stalled", "True", "RetriesExceeded", "Failed to install after 2 attempt(s)"),
            ],
        },
    )
    (f,) = about(run_doctor(cp), f"HelmRelease/{NS}/doctor-stalled")
    assert f.id == "helmrelease-stalled" and f.severity == "error"
    assert msg in f.seen and "installFailures 2 > install.remediation.retries 1" in f.seen
    assert "reconcile.fluxcd.io/resetAt" in f.fix


def _render_crds(cp) -> str:
    """The real chart's CRDs, rendered by helm (crds.enabled) as the HelmRelease would install them."""
    from .chartrepo import CHARTS_SRC

    chart = CHARTS_SRC / CM_CHART
    crds = sorted(p.name for p in (chart / "templates").glob("crd-*.yaml"))
    out = subprocess.run(
        [str(cp.bin / "helm"), "template", "cert-manager", str(chart), "--namespace", "cert-manager",
         "--kube-version", "1.35.4", "--set", "crds.enabled=true", *[a for c in crds for a in ("--show-only", f"templates/{c}")]],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout


def test_cert_manager_states_are_diagnosed(base):
    cp = base
    created = cp.api_get("/apis/cert-manager.io/v1")[0] != 200
    if created:  # no cert-manager chart installed in this session: its CRDs, removed again below
        cp.kubectl("apply", "--server-side", "--field-manager=e2e-doctor", "-f", "-", input=_render_crds(cp))
        cp.kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/clusterissuers.cert-manager.io",
            "crd/certificates.cert-manager.io",
            "crd/certificaterequests.cert-manager.io",
            "crd/orders.acme.cert-manager.io",
            "crd/challenges.acme.cert-manager.io",
        )
    try:
        _cert_manager_states(cp)
    finally:
        cp.kubectl("delete", "clusterissuer/doctor-issuer", "--ignore-not-found", "--wait=false")
        cp.kubectl("delete", "-n", NS, "certificate/doctor-cert", "--ignore-not-found", "--wait=false")
        if created:
            cp.kubectl(
                "delete",
                "crd",
                "clusterissuers.cert-manager.io",
                "issuers.cert-manager.io",
                "certificates.cert-manager.io",
                "certificaterequests.cert-manager.io",
                "orders.acme.cert-manager.io",
                "challenges.acme.cert-manager.io",
                "--ignore-not-found",
            )


def _owner(kind: str, api: str, obj: dict) -> dict:
    return {
        "ownerReferences": [
            {
                "apiVersion": api,
                "kind": kind,
                "name": obj["metadata"]["name"],
                "uid": obj["metadata"]["uid"],
                "controller": True,
            }
        ]
    }


def _cert_manager_states(cp) -> None:
    acme_err = (
        "Failed to register ACME account: 400 urn:ietf:params:acme:error:invalidContact: Error creating new "
        'account :: contact email has forbidden domain "example.com"'
    )
    cp.kubectl_apply(
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": "doctor-issuer"},
            "spec": {
                "acme": {
                    "server": "https://127.0.0.1:14000/dir",
                    "email": "ops@example.com",
                    "privateKeySecretRef": {"name": "doctor-issuer"},
                }
            },
        }
    )
    patch_status(
        cp,
        "clusterissuer/doctor-issuer",
        None,
        {"conditions": [condition("Ready", "False", "ErrRegisterACMEAccount", acme_err)]},
    )

    cp.kubectl_apply(
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "doctor-cert", "namespace": NS},
            "spec": {
                "secretName": "doctor-tls",
                "dnsNames": ["podinfo.example.org"],
                "issuerRef": {"kind": "ClusterIssuer", "name": "doctor-issuer"},
            },
        }
    )
    cert = cp.get_json("-n", NS, "certificate/doctor-cert")
    patch_status(
        cp,
        "certificate/doctor-cert",
        NS,
        {
            "conditions": [
                condition("Ready", "False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
                condition("Issuing", "True", "DoesNotExist", "Issuing certificate as Secret does not exist"),
            ]
        },
    )
    cp.kubectl_apply(
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": {"name": "doctor-cert-1", "namespace": NS, **_owner("Certificate", "cert-manager.io/v1", cert)},
            "spec": {"request": "LS0t", "issuerRef": {"kind": "ClusterIssuer", "name": "doctor-issuer"}},
        }
    )
    cr = cp.get_json("-n", NS, "certificaterequest/doctor-cert-1")
    cp.kubectl_apply(
        {
            "apiVersion": "acme.cert-manager.io/v1",
            "kind": "Order",
            "metadata": {
                "name": "doctor-cert-1-123",
                "namespace": NS,
                **_owner("CertificateRequest", "cert-manager.io/v1", cr),
            },
            "spec": {
                "request": "LS0t",
                "dnsNames": ["podinfo.example.org"],
                "issuerRef": {"kind": "ClusterIssuer", "name": "doctor-issuer"},
            },
        }
    )
    order = cp.get_json("-n", NS, "order/doctor-cert-1-123")
    patch_status(cp, "order/doctor-cert-1-123", NS, {"state": "pending"})
    challenge_reason = (
        "Waiting for HTTP-01 challenge propagation: failed to perform self check GET request "
        "'http://podinfo.example.org/.well-known/acme-challenge/abc': dial tcp: i/o timeout"
    )
    cp.kubectl_apply(
        {
            "apiVersion": "acme.cert-manager.io/v1",
            "kind": "Challenge",
            "metadata": {
                "name": "doctor-cert-1-123-456",
                "namespace": NS,
                **_owner("Order", "acme.cert-manager.io/v1", order),
            },
            "spec": {
                "type": "HTTP-01",
                "dnsName": "podinfo.example.org",
                "token": "abc",
                "key": "k",
                "url": "https://127.0.0.1:14000/chalZ/1",
                "authorizationURL": "https://127.0.0.1:14000/authZ/1",
                "solver": {"http01": {"ingress": {"ingressClassName": "nginx"}}},
                "issuerRef": {"kind": "ClusterIssuer", "name": "doctor-issuer"},
            },
        }
    )
    patch_status(
        cp,
        "challenge/doctor-cert-1-123-456",
        NS,
        {"state": "pending", "processing": True, "presented": True, "reason": challenge_reason},
    )

    fs = run_doctor(cp)
    (ci,) = about(fs, "ClusterIssuer/doctor-issuer")
    assert ci.id == "clusterissuer-not-ready" and ci.severity == "error" and acme_err in ci.seen
    (cf,) = about(fs, f"Certificate/{NS}/doctor-cert")
    assert cf.id == "certificate-not-ready" and cf.severity == "warning"  # still pending, not failed
    assert "Order doctor-cert-1-123 is pending" in cf.seen and challenge_reason in cf.seen

    patch_status(cp, "order/doctor-cert-1-123", NS, {"state": "invalid", "reason": "Failed to finalize Order"})
    (cf,) = about(run_doctor(cp), f"Certificate/{NS}/doctor-cert")
    assert cf.severity == "error" and "is invalid: Failed to finalize Order" in cf.seen


def test_flux_controllers(base):
    cp = base
    fs = run_doctor(cp)
    # the plane runs the controllers as processes (no Deployments): no false positive
    assert not [f for f in fs if f.id in ("flux-not-ready", "flux-not-installed")], fs
    # a controller Deployment that exists and has no available pod (nothing to schedule it on)
    pod = {
        "nodeSelector": {"doctor.example.org/none": "true"},
        "containers": [{"name": "manager", "image": "ghcr.io/fluxcd/notification-controller:v1.9.3"}],
    }
    cp.kubectl_apply(_deployment("notification-controller", "flux-system", pod))
    try:
        obj = "Deployment/flux-system/notification-controller"
        poll(
            lambda: cp.get_json("-n", "flux-system", "deployment/notification-controller").get("status"),
            "deployment status",
        )
        (f,) = about(run_doctor(cp), obj)
        assert f.id == "flux-not-ready" and "0/1 available replicas" in f.seen
    finally:
        cp.kubectl("delete", "-n", "flux-system", "deployment/notification-controller", "--wait=false")
