"""`make demo-live`: the wizard's real TUI against the local stack, in your terminal.

Starts what the e2e tier uses - the control plane whose node runs the real workloads (cert-manager,
external-dns with the Hetzner webhook, the ingress, podinfo), Pebble as Let's Encrypt, the fake
Hetzner Cloud API and its DNS server, a Helm repository of the real charts, a git server with a
bootstrapped guide repository - then runs ``edge-wizard`` on that repository with KUBECONFIG and
EDGE_WIZARD_CATALOG pointing at the stack, so the reconcile screen shows Flux and the workloads for
real. When the wizard ends, it checks the smoke test over HTTPS and stops everything.

    make demo-live                      # the TUI
    make demo-live DEMO_ARGS=--plain    # plain prompts

Run it inside the loopback-only network namespace (the Makefile does: tests/tools/in-netns.sh).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path[:0] = [str(REPO_ROOT / "tests"), str(REPO_ROOT)]

from tests.e2e.chartrepo import ChartRepo  # noqa: E402
from tests.e2e.cluster import ControlPlane, missing_binaries, pod_network_missing  # noqa: E402
from tests.e2e.edge import TOKEN, EdgeServices, EdgeStack  # noqa: E402
from tests.e2e.stage import bootstrap  # noqa: E402

from support.agekeys import make_age_key  # noqa: E402
from support.githttp import GitHTTPServer  # noqa: E402
from support.tools import built_tools_bin as tools_bin  # noqa: E402

HOST = "podinfo.apps.k8s.example.com"


def say(msg: str) -> None:
    print(f"demo-live: {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make demo-live", description=__doc__.split("\n\n")[0])
    ap.add_argument("--plain", action="store_true", help="plain prompts instead of the full-screen UI")
    ap.add_argument("--keep", action="store_true", help="leave the stack's folder (logs) behind")
    a = ap.parse_args(argv)

    bin_dir = tools_bin()
    missing = missing_binaries(bin_dir)
    if missing:
        say(f"tools missing in {bin_dir}: {', '.join(missing)}. Build them first: bash tests/tools/build.sh all")
        return 2
    why = pod_network_missing()
    if why:
        say(why.replace("python -m pytest -m e2e", "python -m tests.e2e.live_demo"))
        return 2

    work = Path(tempfile.mkdtemp(prefix="edge-demo-live-"))
    say(f"starting the stack in {work} (about a minute)")
    t0 = time.monotonic()
    services = EdgeServices(bin_dir, work / "edge").start()
    cp = ControlPlane(bin_dir, work / "cp")
    cp.stack = services.stack_info(cp.api_url)
    repo_server = ChartRepo(work / "charts")
    git_server = GitHTTPServer(work / "git")
    try:
        cp.start()
        repo_server.start()
        git_server.start()
        stack = EdgeStack(cp, services, repo_server)
        key = make_age_key(work / "keys")
        sops_yaml = (
            "creation_rules:\n  - path_regex: manifests/.*\\.yaml$\n"
            f"    encrypted_regex: ^(data|stringData)$\n    age: {key.recipient}\n"
        )
        catalog = services.catalog_overlay(repo_server.url)
        stage = bootstrap(cp, repo_server, git_server, work / "sandbox", "demo", sops_yaml=sops_yaml, catalog=catalog)
        say(f"stack ready in {time.monotonic() - t0:.0f}s")
        say(f"repository: {stage.repo} (answers prefilled from {stage.answers})")
        say(f"DNS token for the fake Hetzner API (paste it when asked): {TOKEN}")
        say(f"logs: {cp.logs} (pods: {cp.logs / 'pods'})")
        env = dict(
            os.environ,
            KUBECONFIG=str(cp.kubeconfig),
            EDGE_WIZARD_CATALOG=str(stage.catalog),
            SOPS_AGE_KEY_FILE=str(key.path),
            EDGE_WIZARD_HETZNER_API=stack.hetzner_url,
            HOME=str(work / "home"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="Demo",
            GIT_AUTHOR_EMAIL="demo@example.com",
            GIT_COMMITTER_NAME="Demo",
            GIT_COMMITTER_EMAIL="demo@example.com",
        )
        (work / "home").mkdir(exist_ok=True)
        exe = Path(sys.executable).with_name("edge-wizard")
        cmd = [str(exe) if exe.exists() else "edge-wizard", "--repo", str(stage.repo), "--answers", str(stage.answers)]
        if a.plain:
            cmd.append("--plain")
        rc = subprocess.call(cmd, env=env, cwd=stage.repo)
        say(f"edge-wizard exited {rc}")
        try:
            status, _body, peer = stack.https_get(f"https://{HOST}/", "letsencrypt-production")
            issuer = dict(x[0] for x in peer.get("issuer", ()))
            say(f"GET https://{HOST}/ -> {status}, certificate issued by {issuer.get('commonName', '?')} (Pebble)")
        except Exception as e:  # the wizard may have been left early: say what is there
            say(f"GET https://{HOST}/ failed: {e}")
        return rc
    finally:
        git_server.stop()
        repo_server.stop()
        cp.stop()
        services.stop()
        if not a.keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)
        else:
            say(f"kept {work}")


if __name__ == "__main__":
    sys.exit(main())
