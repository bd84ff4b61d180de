"""Traefik with the wizard's values on the local control plane: the real Traefik binary, started
with the arguments the real chart renders from the values edge-wizard writes, serves an Ingress of
class traefik and writes the ``ingress_address`` into its status; the real external-dns reads that
status and generates the record from it. This is what the issue asks to prove for the
``ingressEndpoint`` choice (README, "How external-dns finds the nodes with Traefik"). And after a
switch from ingress-nginx, the same Traefik serves an Ingress of class ``nginx`` through its
kubernetesIngressNGINX provider and the wizard's IngressClass ``nginx``.

Stand-ins (tests/e2e/README.md): Traefik runs as a process, not as the chart's pod (the pod runtime
of the e2e-stack branch is not on main yet), on free loopback ports instead of the node's 80/443
(the DaemonSet's own ports are asserted on the rendered chart in tests/unit/test_charts.py);
external-dns uses its in-memory provider (the record it would publish is what is asserted).
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from .chartrepo import CHARTS_SRC as CHARTS  # the one place that finds the upstream charts
from .stage import bootstrap, clear_conflicts, namespace, poll
from support.tools import built_tools_bin as tools_bin

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", autouse=True)
def _no_other_traefik(control_plane, chart_repo, git_server, tmp_path_factory):
    """An earlier module's stage may run the Traefik chart's pod, which serves the same IngressClass
    and would write its own status: Flux is pointed at a stage without an ingress controller (its
    prune uninstalls that release) and the node's ports 80/443 are free before these tests start."""
    bootstrap(control_plane, chart_repo, git_server, tmp_path_factory.mktemp("traefik-status"), "traefik-status")
    clear_conflicts(control_plane)


ADDRESS = "203.0.113.10"
BACKEND_IP = "10.244.250.1"  # the backend's address on lo in the test's network namespace
HOST = "podinfo.apps.k8s.example.com"
BASE = "domain: k8s.example.com\nzone: example.com\nemail: ops@example.com\ndns_provider: hetzner\n"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Backend(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"backend saw host {self.headers.get('Host')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _rendered(tmp_path: Path, helm: Path, *, switch: bool = False) -> list[dict]:
    """The real chart rendered with the values edge-wizard writes (as tests/unit/test_charts.py does)."""
    from ruamel.yaml import YAML

    from wizard import yamlio
    from wizard.engine import Engine, RunOptions

    from support.repos import make_guide_repo

    charts = sorted(CHARTS.glob("traefik-*"))
    if not charts:
        why = f"the upstream traefik chart is not in {CHARTS} (set EDGE_WIZARD_UPSTREAM)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    repo = make_guide_repo(tmp_path / "repo")
    answers = tmp_path / "answers.yaml"
    if switch:  # first the repository as an earlier edge-wizard left it: ingress-nginx
        answers.write_text(BASE + "ingress_controller: ingress-nginx\n")
        engine = Engine(repo=repo, answers_file=str(answers))
        list(engine.run(engine.plan(["ingress"]), RunOptions(commit=False, push=False)))
    answers.write_text(BASE + f"ingress_address: {ADDRESS}\n" + ("ingress_controller: traefik\n" if switch else ""))
    plan = Engine(repo=repo, answers_file=str(answers)).plan(["ingress"])
    text = next(c.new for c in plan.changes if c.path == "manifests/infrastructure/traefik/traefik.yaml")
    values = next(d for d in yamlio.load_plain(text) if d.get("kind") == "HelmRelease")["spec"]["values"]
    vfile = tmp_path / "values.yaml"
    with vfile.open("w") as fh:
        YAML(typ="safe").dump(values, fh)
    out = subprocess.run(
        [
            str(helm),
            "template",
            "traefik",
            str(charts[-1]),
            "-n",
            "traefik",
            "--kube-version",
            "1.35.0",
            "-f",
            str(vfile),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in YAML(typ="safe").load_all(out.stdout) if isinstance(d, dict)]


def _traefik(cp, b: Path, args: list[str], tmp_path: Path):
    """Start the Traefik binary with the chart's arguments, its entry points on free loopback ports."""
    ports = {name: _free_port() for name in ("web", "websecure", "traefik", "metrics")}
    argv = [a for a in args if not (a.startswith("--entryPoints.") and ".address=" in a)]
    argv += [f"--entryPoints.{n}.address=127.0.0.1:{p}/tcp" for n, p in ports.items()]
    log = (tmp_path / "traefik.log").open("w")
    env = {"PATH": os.environ.get("PATH", ""), "KUBECONFIG": str(cp.kubeconfig), "HOME": str(tmp_path)}
    proc = subprocess.Popen([str(b / "traefik"), *argv], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    return proc, log, ports


def _stop(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _backend_objects(ns: str, port: int) -> list[dict]:
    return [
        namespace(ns),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "backend", "namespace": ns},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": port}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "backend-1", "namespace": ns, "labels": {"kubernetes.io/service-name": "backend"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [BACKEND_IP], "conditions": {"ready": True}}],
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        },
    ]


def _ingress(ns: str, host: str, cls: str, annotations: dict[str, str]) -> dict:
    path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "backend", "port": {"name": "http"}}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "app", "namespace": ns, "annotations": annotations},
        "spec": {"ingressClassName": cls, "rules": [{"host": host, "http": {"paths": [path]}}]},
    }


def _backend():
    if os.environ.get("EDGE_WIZARD_NETNS") != "1":
        pytest.skip("needs its own network namespace: bash tests/tools/in-netns.sh ...")
    # an EndpointSlice may not name a loopback address: the backend listens on one given to lo in
    # this test's own network namespace
    subprocess.run(["ip", "addr", "replace", f"{BACKEND_IP}/32", "dev", "lo"], check=True)
    server = http.server.ThreadingHTTPServer((BACKEND_IP, 0), _Backend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _status(cp, ns: str):
    def get() -> list:
        ing = cp.get_json("ingress/app", "-n", ns)
        return (ing.get("status", {}).get("loadBalancer") or {}).get("ingress") or []

    return get


def _answers_for(port: int, host: str):
    def get() -> str:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.read().decode() if r.status == 200 else ""
        except OSError:
            return ""

    return get


def _tools() -> Path:
    b = tools_bin()
    for tool in ("traefik", "external-dns", "helm"):
        if not (b / tool).is_file():
            pytest.skip(f"{tool} is not in {b}: bash tests/tools/build.sh all")
    return b


def test_traefik_serves_the_ingress_and_external_dns_publishes_its_status(control_plane, tmp_path: Path) -> None:
    b = _tools()
    cp = control_plane
    objs = _rendered(tmp_path, b / "helm")
    ds = next(o for o in objs if o["kind"] == "DaemonSet")
    args = ds["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--providers.kubernetesingress.ingressendpoint.ip={ADDRESS}" in args
    backend = _backend()
    cp.kubectl_apply(
        next(o for o in objs if o["kind"] == "IngressClass"), *_backend_objects("web", backend.server_port)
    )
    cp.kubectl_apply(_ingress("web", HOST, "traefik", {"external-dns.alpha.kubernetes.io/hostname": HOST}))
    proc, log, ports = _traefik(cp, b, args, tmp_path)
    try:
        assert poll(_status(cp, "web"), "Traefik writes the Ingress status", timeout=90) == [{"ip": ADDRESS}]
        got = poll(_answers_for(ports["web"], HOST), "Traefik routes the host to the backend", timeout=60)
        assert got == f"backend saw host {HOST}"
        out = subprocess.run(
            [
                str(b / "external-dns"),
                "--once",
                "--source=ingress",
                "--provider=inmemory",
                "--inmemory-zone=example.com",
                "--domain-filter=example.com",
                "--registry=noop",
                "--log-level=debug",
                f"--kubeconfig={cp.kubeconfig}",
                # not :7979 on every address: the stack's own external-dns pod may hold it
                f"--metrics-address=127.0.0.1:{_free_port()}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        text = out.stdout + out.stderr
        assert out.returncode == 0, text[-2000:]
        line = next((ln for ln in text.splitlines() if "Endpoints generated from ingress: web/app" in ln), "")
        assert HOST in line and ADDRESS in line, text[-2000:]
    finally:
        _stop(proc, log)
        backend.shutdown()


def test_switched_traefik_serves_an_nginx_class_ingress(control_plane, tmp_path: Path) -> None:
    """After the switch: the nginx-class Ingress (with a supported nginx annotation) answers through
    Traefik's kubernetesIngressNGINX provider, and its status carries the ingress_address."""
    from wizard import catalog, yamlio

    b = _tools()
    cp = control_plane
    objs = _rendered(tmp_path, b / "helm", switch=True)
    args = next(o for o in objs if o["kind"] == "DaemonSet")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--providers.kubernetesingressnginx" in args
    nginx_class = yamlio.to_plain(catalog.load_asset("manifests/ingress/nginx-ingressclass.yaml").docs[0])
    backend = _backend()
    host = "blog.apps.k8s.example.com"
    cp.kubectl_apply(nginx_class, *_backend_objects("blog", backend.server_port))
    cp.kubectl_apply(_ingress("blog", host, "nginx", {"nginx.ingress.kubernetes.io/ssl-redirect": "false"}))
    proc, log, ports = _traefik(cp, b, args, tmp_path)
    try:
        got = poll(_answers_for(ports["web"], host), "Traefik serves the nginx-class Ingress", timeout=90)
        assert got == f"backend saw host {host}"
        assert poll(_status(cp, "blog"), "the nginx provider writes the status", timeout=60) == [{"ip": ADDRESS}]
    finally:
        _stop(proc, log)
        backend.shutdown()
