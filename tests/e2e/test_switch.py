"""The way off ingress-nginx on the local control plane: a repository that runs ingress-nginx (through
its declared stand-in, tests/e2e/README.md), with an app's `nginx`-class Ingress, is switched with
`edge-wizard run ingress` and `ingress_controller: traefik`. The run follows Flux until ingress-nginx
is pruned and Traefik (the chart's own pod) is ready; the app keeps answering on the node's port 80,
now through Traefik's kubernetesIngressNGINX provider; no ingress-nginx object is left; a re-run
changes nothing."""

from __future__ import annotations

import contextlib
import http.client
import io
import json

import pytest

from wizard.frontends import cli

from .stage import bootstrap, clear_conflicts, poll
from .test_traefik_status import _backend, _backend_objects, _ingress
from support.repos import ANSWERS, git

pytestmark = pytest.mark.e2e

HOST = "shop.apps.k8s.example.com"


def _run(stage, *extra: str) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    args = ["run", "ingress", "--repo", str(stage.repo), "--answers", str(stage.answers), "--yes", "--no-prove"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([*args, "--timeout", "8m", "--json", *extra])
    print(err.getvalue())
    return rc, [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")], err.getvalue()


def _get(node_ip: str) -> int | None:
    """The app's status through whatever listens on the node's port 80 (None: nothing answers)."""
    conn = http.client.HTTPConnection(node_ip, 80, timeout=3)
    try:
        conn.request("GET", "/", headers={"Host": HOST})
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def _nginx_objects(cp) -> list[str]:
    out = []
    for what, ns in (("helmreleases.helm.toolkit.fluxcd.io", "ingress-nginx"), ("daemonsets,pods", "ingress-nginx")):
        got = cp.kubectl("get", what, "-n", ns, "-o", "name", check=False)
        out += got.stdout.split()
    ks = cp.kubectl("get", "kustomizations.kustomize.toolkit.fluxcd.io", "-n", "flux-system", "-o", "name").stdout
    out += [k for k in ks.split() if k.endswith("/ingress-nginx")]
    ns = cp.kubectl("get", "namespace", "ingress-nginx", check=False)
    if ns.returncode == 0:
        out.append("namespace/ingress-nginx")
    return out


def test_switch_to_traefik_keeps_the_nginx_class_ingress_serving_and_leaves_no_ingress_nginx(
    control_plane, chart_repo, git_server, tmp_path_factory, monkeypatch
):
    cp = control_plane
    backend = _backend()
    try:
        stage = bootstrap(cp, chart_repo, git_server, tmp_path_factory.mktemp("switch"), "switch")
        clear_conflicts(cp)
        monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(stage.catalog))
        monkeypatch.setenv("KUBECONFIG", str(cp.kubeconfig))

        # 1. ingress-nginx, as an earlier edge-wizard (or the guide) left it, serving an app of class nginx
        rc, events, err = _run(stage)
        assert rc == 0, err[-3000:]
        cp.kubectl_apply(*_backend_objects("shop", backend.server_address[1]), _ingress("shop", HOST, "nginx", {}))
        poll(lambda: _get(cp.node_ip) == 200, f"{HOST} answering through ingress-nginx", timeout=120)

        # 2. the switch
        head = git(stage.repo, "rev-parse", "HEAD")
        answers = ANSWERS.replace("ingress_address: 203.0.113.10", f"ingress_address: {cp.node_ip}")
        stage.answers.write_text(answers + "ingress_controller: traefik\n")
        rc, events, err = _run(stage)
        assert rc == 0, err[-3000:]
        assert git(stage.repo, "rev-list", "--count", f"{head}..HEAD") == "1"
        final = {(e["kind"], e["namespace"], e["name"]): e for e in events if e["event"] == "ObjectState"}
        # followed until Flux pruned ingress-nginx, and until Traefik's own pod was ready
        for key in (
            ("Kustomization", "flux-system", "ingress-nginx"),
            ("HelmRelease", "ingress-nginx", "ingress-nginx"),
        ):
            assert final[key]["phase"] == "ready" and "pruned" in final[key]["message"], final.get(key)
        assert final[("DaemonSet", "traefik", "traefik")]["phase"] == "ready", final
        assert not (stage.repo / "manifests/infrastructure/ingress-nginx").exists()

        # 3. the nginx-class Ingress answers through Traefik, and no ingress-nginx object is left
        poll(lambda: _get(cp.node_ip) == 200, f"{HOST} answering through Traefik", timeout=120)
        assert cp.runtime is not None and cp.runtime.tail_logs(5, "traefik_traefik-"), "no Traefik chart pod ran"
        poll(
            lambda: not _nginx_objects(cp),
            "no ingress-nginx object left",
            timeout=180,
            describe=lambda: _nginx_objects(cp),
        )

        # 4. a re-run is a no-op
        head = git(stage.repo, "rev-parse", "HEAD")
        rc, events, err = _run(stage)
        assert rc == 0, err[-3000:]
        assert git(stage.repo, "rev-parse", "HEAD") == head
        assert not any(e["event"] in ("Committed", "FileWritten") for e in events)
    finally:
        backend.shutdown()
        cp.kubectl("delete", "namespace", "shop", "--ignore-not-found", "--wait=false", check=False)
