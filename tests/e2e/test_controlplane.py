"""End-to-end checks of the local control plane itself (tests/e2e/cluster.py):
API + Flux CRDs, GitRepository/Kustomization, HelmRepository/HelmRelease of the real charts
whose pods really run (tests/e2e/runtime), PodSecurity enforcement, the pod network on lo, and
loopback-only listeners. Each test uninstalls what it installed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from .cluster import NODE_IP, NODE_NET, POD_NET
from .stage import namespace, poll

pytestmark = pytest.mark.e2e

INTERVAL = "10s"


def wait_condition(cp, resource: str, namespace: str, cond: str = "Ready", timeout: int = 120) -> dict:
    """Event-driven wait (kubectl wait uses a watch); returns the object."""
    r = cp.kubectl(
        "wait",
        f"--for=condition={cond}",
        f"--timeout={timeout}s",
        "-n",
        namespace,
        resource,
        check=False,
        timeout=timeout + 30,
    )
    obj = cp.get_json("-n", namespace, resource)
    assert r.returncode == 0, f"{resource} not {cond}: {r.stderr}\nstatus: {json.dumps(obj.get('status'), indent=1)}"
    return obj


def helm_repo(chart_repo, ns: str = "flux-system") -> dict:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "e2e-charts", "namespace": ns},
        "spec": {"url": chart_repo.url, "interval": INTERVAL},
    }


def helm_release(name: str, ns: str, chart: str, version: str, values: dict, **spec) -> dict:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {
            "interval": INTERVAL,
            "releaseName": name,
            "targetNamespace": ns,
            "timeout": "2m",
            "chart": {
                "spec": {
                    "chart": chart,
                    "version": version,
                    "interval": INTERVAL,
                    "sourceRef": {"kind": "HelmRepository", "name": "e2e-charts", "namespace": "flux-system"},
                }
            },
            "values": values,
            **spec,
        },
    }


# --------------------------------------------------------------------------- (a)
def test_api_ready_and_flux_apis_served(control_plane):
    code, body = control_plane.api_get("/readyz")
    assert (code, body) == (200, b"ok")
    for gv in ("helm.toolkit.fluxcd.io/v2", "source.toolkit.fluxcd.io/v1", "kustomize.toolkit.fluxcd.io/v1"):
        code, body = control_plane.api_get(f"/apis/{gv}")
        assert code == 200, (gv, body[:200])
        assert json.loads(body)["groupVersion"] == gv
    version = json.loads(control_plane.api_get("/version")[1])
    assert version["gitVersion"].startswith("v1.35."), version


# --------------------------------------------------------------------------- (b)
def _git(*args: str, cwd: Path) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="e2e",
        GIT_AUTHOR_EMAIL="e2e@example.invalid",
        GIT_COMMITTER_NAME="e2e",
        GIT_COMMITTER_EMAIL="e2e@example.invalid",
    )
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_gitrepository_kustomization_applies_configmap(control_plane, git_server, tmp_path):
    bare = Path(git_server.root) / "e2e-config.git"
    _git("init", "--bare", "-q", "-b", "main", str(bare), cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "app").mkdir()
    (work / "app" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: e2e-hello\n  namespace: default\n"
        "data:\n  greeting: hello from git\n"
    )
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "init", cwd=work)
    _git("push", "-q", str(bare), "main", cwd=work)

    cp = control_plane
    cp.kubectl_apply(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "e2e-config", "namespace": "flux-system"},
            "spec": {"url": f"{git_server.url}e2e-config.git", "interval": INTERVAL, "ref": {"branch": "main"}},
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "e2e-config", "namespace": "flux-system"},
            "spec": {
                "interval": INTERVAL,
                "retryInterval": "5s",
                "path": "./app",
                "prune": True,
                "wait": True,
                "timeout": "1m",
                "sourceRef": {"kind": "GitRepository", "name": "e2e-config"},
            },
        },
    )
    wait_condition(cp, "gitrepository/e2e-config", "flux-system")
    wait_condition(cp, "kustomization/e2e-config", "flux-system")
    cm = cp.get_json("-n", "default", "configmap/e2e-hello")
    assert cm["data"] == {"greeting": "hello from git"}


def uninstall(cp, *names: str) -> None:
    cp.kubectl(
        "delete", "-n", "flux-system", *[f"helmrelease/{n}" for n in names],
        "--ignore-not-found", "--wait=true", "--timeout=120s", check=False, timeout=150,
    )  # fmt: skip


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# --------------------------------------------------------------------------- the pod network
def test_pod_addresses_are_local_and_accepted_as_endpoints(control_plane):
    """Why pods get 10.244.x (and the node 10.250.0.x) instead of 127.x: the API refuses loopback
    addresses in EndpointSlices (so Services and webhooks would have no endpoints), while ranges
    routed to lo (`ip route add local ... dev lo`) are as local as 127/8 and nothing else is reachable."""
    cp = control_plane
    cp.kubectl_apply(namespace("e2e-net"))

    def slice_(name: str, addr: str) -> dict:
        return {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": "e2e-net", "labels": {"kubernetes.io/service-name": "x"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [addr]}],
            "ports": [{"port": 80, "protocol": "TCP"}],
        }

    r = cp.kubectl("apply", "-f", "-", input=json.dumps(slice_("loopback", "127.0.0.5")), check=False)
    assert r.returncode != 0 and "loopback" in r.stderr, r.stderr
    cp.kubectl_apply(slice_("pod", "10.244.200.1"), slice_("node", NODE_IP))
    routes = subprocess.run(["ip", "route", "show", "table", "local"], capture_output=True, text=True).stdout
    for net in (POD_NET, NODE_NET):
        assert f"local {net} dev lo" in routes, routes
    srv = socket.socket()
    srv.bind(("10.244.200.1", 0))
    srv.listen()
    c = socket.create_connection(srv.getsockname(), timeout=2)
    assert srv.accept()[0].getpeername() == c.getsockname()
    c.close()
    srv.close()
    if Path("/proc/net/dev").read_text().count(":") == 1:  # only lo: the loopback-only netns
        with pytest.raises(OSError):
            socket.create_connection(("10.1.2.3", 80), timeout=2)
    cp.kubectl("delete", "namespace", "e2e-net", "--wait=false")


# --------------------------------------------------------------------------- (c)
def test_helmrelease_podinfo_pods_run_and_answer(control_plane, chart_repo):
    cp = control_plane
    try:
        _podinfo(cp, chart_repo)
    finally:
        uninstall(cp, "podinfo")


def _podinfo(cp, chart_repo) -> None:
    cp.kubectl_apply(namespace("podinfo"), helm_repo(chart_repo))
    cp.kubectl_apply(
        helm_release(
            "podinfo",
            "podinfo",
            "podinfo",
            "6.14.1",
            {
                "replicaCount": 2,
                "ingress": {
                    "enabled": True,
                    "className": "nginx",
                    "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
                    "hosts": [
                        {"host": "podinfo.example.com", "paths": [{"path": "/", "pathType": "ImplementationSpecific"}]}
                    ],
                    "tls": [{"secretName": "podinfo-tls", "hosts": ["podinfo.example.com"]}],
                },
            },
        )
    )
    wait_condition(cp, "helmrepository/e2e-charts", "flux-system")
    wait_condition(cp, "helmrelease/podinfo", "flux-system", timeout=180)
    dep = cp.get_json("-n", "podinfo", "deployment/podinfo")
    assert dep["status"].get("readyReplicas") == 2, dep["status"]
    ing = cp.get_json("-n", "podinfo", "ingress/podinfo")
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"][0]["secretName"] == "podinfo-tls"
    # the two pods are two podinfo processes, each answering on its own address, and the Service's
    # endpoints are those addresses
    pods = cp.get_json("-n", "podinfo", "pods", "-l", "app.kubernetes.io/name=podinfo")["items"]
    ips = sorted(p["status"]["podIP"] for p in pods)
    assert len(set(ips)) == 2 and all(ip.startswith("10.244.") for ip in ips), ips
    for ip in ips:
        code, body = _get(f"http://{ip}:9898/")
        assert code == 200 and json.loads(body)["version"], body[:200]
    slices = cp.get_json("-n", "podinfo", "endpointslices", "-l", "kubernetes.io/service-name=podinfo")["items"]
    assert sorted(a for sl in slices for e in sl.get("endpoints") or [] for a in e["addresses"]) == ips
    logs = cp.kubectl("logs", "-n", "podinfo", f"pod/{pods[0]['metadata']['name']}").stdout
    assert "Starting HTTP Server" in logs, logs[-500:]


# --------------------------------------------------------------------------- (d)
INGRESS_VALUES = {
    "controller": {
        "kind": "DaemonSet",
        "hostNetwork": True,
        "hostPort": {"enabled": True},
        "dnsPolicy": "ClusterFirstWithHostNet",
        "service": {"enabled": False},
    }
}


@pytest.fixture
def ingress_cleanup(control_plane):
    """Uninstall the ingress-nginx releases afterwards: their hostPorts 80/443 would block
    other tests' hostNetwork pods on the single kwok node, and their admission webhooks (failure
    policy Fail) every Ingress."""
    yield
    cp = control_plane
    uninstall(cp, "ingress-nginx", "ingress-nginx-denied")
    cp.kubectl("wait", "--for=delete", "-n", "ingress-nginx", "pods", "--all", "--timeout=60s", check=False, timeout=90)


def test_psa_baseline_blocks_hostnetwork_until_privileged(control_plane, chart_repo, ingress_cleanup):
    cp = control_plane
    cp.kubectl_apply(
        helm_repo(chart_repo),
        namespace("ingress-denied"),
        namespace("ingress-nginx", {"pod-security.kubernetes.io/enforce": "privileged"}),
    )

    # 1. without the privileged label: kcm's pod creation is rejected by PodSecurity
    denied = dict(
        INGRESS_VALUES, controller=dict(INGRESS_VALUES["controller"], ingressClassResource={"name": "nginx-denied"})
    )
    cp.kubectl_apply(
        helm_release(
            "ingress-nginx-denied", "ingress-denied", "ingress-nginx", "4.15.1", denied, install={"disableWait": True}
        )
    )

    def failed_create():
        evs = cp.get_json("-n", "ingress-denied", "events", "--field-selector=reason=FailedCreate")["items"]
        return [e["message"] for e in evs if e.get("type") == "Warning"]

    msgs = poll(failed_create, "FailedCreate event in ingress-denied", timeout=120)
    assert any('violates PodSecurity "baseline:latest"' in m for m in msgs), msgs
    assert any("host namespaces" in m or "hostPort" in m for m in msgs), msgs

    # 2. with the label (as the wizard writes it): the DaemonSet gets a ready pod
    cp.kubectl_apply(helm_release("ingress-nginx", "ingress-nginx", "ingress-nginx", "4.15.1", INGRESS_VALUES))
    wait_condition(cp, "helmrelease/ingress-nginx", "flux-system", timeout=180)
    ds = cp.get_json("-n", "ingress-nginx", "daemonset/ingress-nginx-controller")
    assert ds["status"].get("numberReady") == 1, ds["status"]
    pod = cp.get_json("-n", "ingress-nginx", "pods", "-l", "app.kubernetes.io/component=controller")["items"][0]
    assert pod["spec"]["hostNetwork"] is True
    # hostNetwork: every container port is a host port (the API defaults hostPort), 80/443 included
    assert {80, 443} <= {p.get("hostPort") for p in pod["spec"]["containers"][0]["ports"]}
    assert pod["status"]["podIP"] == NODE_IP
    # controller.service.enabled=false: only the admission webhook's Service
    svcs = [s["metadata"]["name"] for s in cp.get_json("-n", "ingress-nginx", "services")["items"]]
    assert svcs == ["ingress-nginx-controller-admission"], svcs
    cp.get_json("ingressclass/nginx")
    # the chart's certgen Jobs ran: the admission Secret exists and its CA is the webhook's caBundle
    secret = cp.get_json("-n", "ingress-nginx", "secret/ingress-nginx-admission")
    vwc = cp.get_json("validatingwebhookconfiguration/ingress-nginx-admission")
    assert vwc["webhooks"][0]["clientConfig"]["caBundle"] == secret["data"]["ca"]
    # the node's port 80 answers (the ingress stand-in: 404 for an unknown host)
    code, _ = _get(f"http://{NODE_IP}/", timeout=5)
    assert code == 404


# --------------------------------------------------------------------------- test charts
def test_cert_manager_and_external_dns_charts_install(control_plane, chart_repo):
    try:
        _cert_manager_and_external_dns(control_plane, chart_repo)
    finally:
        uninstall(control_plane, "cert-manager", "external-dns")


def _cert_manager_and_external_dns(cp, chart_repo) -> None:
    cp.kubectl_apply(helm_repo(chart_repo), namespace("cert-manager"), namespace("external-dns"))
    cp.kubectl_apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hetzner", "namespace": "external-dns"},
            "stringData": {"token": "not-a-valid-token"},
        }
    )
    cp.kubectl_apply(
        helm_release(
            "cert-manager", "cert-manager", "cert-manager", "1.21.1", {"crds": {"enabled": True, "keep": True}}
        ),
        helm_release(
            "external-dns",
            "external-dns",
            "external-dns",
            "1.21.1",
            {
                "provider": {
                    "name": "webhook",
                    "webhook": {
                        "image": {"repository": "ghcr.io/mconfalonieri/external-dns-hetzner-webhook", "tag": "v1.0.2"},
                        "env": [
                            {
                                "name": "HETZNER_API_KEY",
                                "valueFrom": {"secretKeyRef": {"name": "hetzner", "key": "token"}},
                            }
                        ],
                    },
                },
                "env": [{"name": "EXTRA", "value": "1"}],
                "policy": "sync",
                "txtOwnerId": "edge",
                "domainFilters": ["example.com"],
            },
        ),
    )
    wait_condition(cp, "helmrelease/cert-manager", "flux-system", timeout=180)
    wait_condition(cp, "helmrelease/external-dns", "flux-system", timeout=180)
    for crd in (
        "clusterissuers.cert-manager.io",
        "certificates.cert-manager.io",
        "certificaterequests.cert-manager.io",
        "orders.acme.cert-manager.io",
        "challenges.acme.cert-manager.io",
    ):
        cp.kubectl("wait", "--for=condition=Established", "--timeout=30s", f"crd/{crd}")
    # the real webhook validates it (the API server calls it at its pod address) and the real
    # controller tries to register the account: nothing listens there, so Ready=False says why
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    # valid for the CRD's schema, refused by the webhook's own validation (no name to certify)
    bad = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "e2e-bad", "namespace": "cert-manager"},
        "spec": {"secretName": "e2e-bad", "issuerRef": {"name": "e2e", "kind": "ClusterIssuer"}},
    }
    r = cp.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert r.returncode != 0 and 'admission webhook "webhook.cert-manager.io" denied' in r.stderr, r.stderr
    cp.kubectl_apply(
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": "e2e"},
            "spec": {
                "acme": {
                    "server": f"https://127.0.0.1:{port}/dir",
                    "email": "a@example.com",
                    "privateKeySecretRef": {"name": "e2e-acme"},
                    "solvers": [{"http01": {"ingress": {"ingressClassName": "nginx"}}}],
                }
            },
        }
    )

    def not_ready() -> str | None:
        conds = (cp.get_json("clusterissuer/e2e").get("status") or {}).get("conditions") or []
        return next((c["message"] for c in conds if c["type"] == "Ready" and c["status"] == "False"), None)

    msg = poll(not_ready, "ClusterIssuer e2e Ready=False from the controller", timeout=120)
    assert "connection refused" in msg and str(port) in msg, msg
    cp.kubectl("delete", "clusterissuer/e2e", "--ignore-not-found")
    assert cp.get_json("deployment/cert-manager", "-n", "cert-manager")["status"].get("readyReplicas") == 1
    dep = cp.get_json("deployment/external-dns", "-n", "external-dns")
    assert dep["status"].get("readyReplicas") == 1
    containers = {c["name"]: c for c in dep["spec"]["template"]["spec"]["containers"]}
    assert set(containers) == {"external-dns", "webhook"}
    assert containers["external-dns"]["env"] == [{"name": "EXTRA", "value": "1"}]
    assert containers["webhook"]["env"][0]["name"] == "HETZNER_API_KEY"
    assert "--provider=webhook" in containers["external-dns"]["args"]


# --------------------------------------------------------------------------- (e)
def _listening_inodes() -> dict[int, str]:
    """inode -> 'addr:port' of every listening TCP socket in this network namespace."""
    out: dict[int, str] = {}
    for fname, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = Path(fname).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            f = line.split()
            if f[3] != "0A":  # TCP_LISTEN
                continue
            hexaddr, hexport = f[1].split(":")
            raw = bytes.fromhex(hexaddr)
            if v6:  # four little-endian 32-bit words
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                import ipaddress

                addr = str(ipaddress.IPv6Address(raw))
            else:
                addr = ".".join(str(b) for b in raw[::-1])
            out[int(f[9])] = f"{addr}:{int(hexport, 16)}"
    return out


def _socket_inodes(pid: int) -> set[int]:
    res = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                res.add(int(target[8:-1]))
    except OSError:
        pass
    return res


LOOPBACK = ("127.", "::1", "::ffff:127.")


def _is_local_route(addr: str) -> bool:
    import ipaddress

    a = ipaddress.ip_address(addr)
    return any(a in ipaddress.ip_network(n) for n in (POD_NET, NODE_NET))


def test_all_listeners_are_loopback(control_plane, chart_repo, git_server):
    listening = _listening_inodes()
    pids = dict(control_plane.pids(), pytest=os.getpid())
    assert len(pids) == len(control_plane.procs) + 1, pids  # all 8 stack processes alive
    found: dict[str, list[str]] = {}
    bad = []
    for name, pid in pids.items():
        for inode in _socket_inodes(pid):
            if inode in listening:
                found.setdefault(name, []).append(listening[inode])
                addr = listening[inode]
                # kwok serves pods/log and exec at the node's address (the API server dials it there)
                if not addr.startswith(LOOPBACK) and not (name == "kwok" and addr.startswith(NODE_IP + ":")):
                    bad.append((name, addr))
    assert not bad, f"non-loopback listeners: {bad}"
    # every component actually listens (sanity check of the inode mapping)
    for name in (
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "pytest",
    ):
        assert found.get(name), (name, found)
    # inside the loopback-only netns of the e2e command, nothing else may listen either
    ifaces = [ln.split(":")[0].strip() for ln in Path("/proc/net/dev").read_text().splitlines()[2:]]
    if ifaces == ["lo"]:
        # pods listen on their addresses, which the netns routes to lo (test above)
        others = [a for a in listening.values() if not a.startswith(LOOPBACK)]
        assert all(_is_local_route(a.rsplit(":", 1)[0]) or a.startswith(("0.0.0.0:", ":::")) for a in others), others
