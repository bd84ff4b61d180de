"""Traefik with the wizard's values on the local control plane: the real Traefik binary, started
with the arguments the real chart renders from the values edge-wizard writes, serves an Ingress of
class traefik and writes the ``ingress_address`` into its status; the real external-dns reads that
status and generates the record from it. This is what the issue asks to prove for the
``ingressEndpoint`` choice (README, "How external-dns finds the nodes with Traefik").

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

from .conftest import tools_bin
from .stage import namespace, poll

pytestmark = pytest.mark.e2e

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


CHARTS = Path(__file__).resolve().parents[2].parent / "shared" / "upstream" / "charts"


def _rendered(tmp_path: Path, helm: Path) -> list[dict]:
    """The real chart rendered with the values edge-wizard writes (as tests/unit/test_charts.py does)."""
    from ruamel.yaml import YAML

    from wizard import yamlio
    from wizard.engine import Engine

    from support.repos import make_guide_repo

    charts = sorted(CHARTS.glob("traefik-*"))
    if not charts:
        pytest.skip(f"the upstream traefik chart is not in {CHARTS}")
    repo = make_guide_repo(tmp_path / "repo")
    answers = tmp_path / "answers.yaml"
    answers.write_text(BASE + f"ingress_address: {ADDRESS}\n")
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


def test_traefik_serves_the_ingress_and_external_dns_publishes_its_status(control_plane, tmp_path: Path) -> None:
    b = tools_bin()
    for tool in ("traefik", "external-dns", "helm"):
        if not (b / tool).is_file():
            pytest.skip(f"{tool} is not in {b}: bash tests/tools/build.sh all")
    cp = control_plane
    objs = _rendered(tmp_path, b / "helm")
    ds = next(o for o in objs if o["kind"] == "DaemonSet")
    ingress_class = next(o for o in objs if o["kind"] == "IngressClass")
    args = ds["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--providers.kubernetesingress.ingressendpoint.ip={ADDRESS}" in args

    ports = {name: _free_port() for name in ("web", "websecure", "traefik", "metrics")}
    argv = [a for a in args if not a.startswith("--entryPoints.") or ".address=" not in a]
    argv += [f"--entryPoints.{n}.address=127.0.0.1:{p}/tcp" for n, p in ports.items()]
    argv = [a for a in argv if a != "--entryPoints.websecure.http.tls=true"] + ["--entryPoints.websecure.http.tls=true"]

    # an EndpointSlice may not name a loopback address: the backend listens on one given to lo in
    # this test's own network namespace (tests/tools/in-netns.sh)
    if os.environ.get("EDGE_WIZARD_NETNS") != "1":
        pytest.skip("needs its own network namespace: bash tests/tools/in-netns.sh ...")
    subprocess.run(["ip", "addr", "replace", f"{BACKEND_IP}/32", "dev", "lo"], check=True)
    backend = http.server.ThreadingHTTPServer((BACKEND_IP, 0), _Backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    cp.kubectl_apply(ingress_class, namespace("web"))
    cp.kubectl_apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "backend", "namespace": "web"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": backend.server_port}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "backend-1", "namespace": "web", "labels": {"kubernetes.io/service-name": "backend"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [BACKEND_IP], "conditions": {"ready": True}}],
            "ports": [{"name": "http", "port": backend.server_port, "protocol": "TCP"}],
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "podinfo",
                "namespace": "web",
                "annotations": {"external-dns.alpha.kubernetes.io/hostname": HOST},
            },
            "spec": {
                "ingressClassName": "traefik",
                "rules": [
                    {
                        "host": HOST,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "backend", "port": {"name": "http"}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
    )
    log = (tmp_path / "traefik.log").open("w")
    env = {"PATH": os.environ.get("PATH", ""), "KUBECONFIG": str(cp.kubeconfig), "HOME": str(tmp_path)}
    proc = subprocess.Popen([str(b / "traefik"), *argv], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:

        def status() -> list:
            ing = cp.get_json("ingress/podinfo", "-n", "web")
            return (ing.get("status", {}).get("loadBalancer") or {}).get("ingress") or []

        assert poll(status, "Traefik writes the Ingress status", timeout=90) == [{"ip": ADDRESS}]

        def answers() -> str:
            req = urllib.request.Request(f"http://127.0.0.1:{ports['web']}/", headers={"Host": HOST})
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.read().decode() if r.status == 200 else ""
            except OSError:
                return ""

        assert poll(answers, "Traefik routes the host to the backend", timeout=60) == f"backend saw host {HOST}"

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
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        text = out.stdout + out.stderr
        assert out.returncode == 0, text[-2000:]
        line = next((ln for ln in text.splitlines() if "Endpoints generated from ingress: web/podinfo" in ln), "")
        assert HOST in line and ADDRESS in line, text[-2000:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        backend.shutdown()
        if proc.returncode not in (0, -15, 143, None):
            print((tmp_path / "traefik.log").read_text()[-3000:])
