"""The prerequisites step against the local control plane (issue 12).

1. The sops Secret is created through the API (flux-system/sops-age, data key age.agekey, only the
   identity the .sops.yaml rule encrypts for), never overwritten, and a Flux Kustomization with
   ``decryption: sops-age`` applying a sops-encrypted Secret from a git repository becomes Ready
   with the value decrypted in the cluster.
2. The issue's done-when: a guide repository with no .sops.yaml, a cluster with no sops Secret,
   ``edge-wizard run --yes prerequisites external-dns`` -> the external-dns Kustomization is Ready,
   the token Secret is decrypted in the cluster, and no private key is in the repository, its
   history or the remote. (Needs the engine/cli patch of the prerequisites report: skipped until
   RunOptions has ``cluster``.)
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from wizard import agekey, yamlio
from wizard.engine import Engine, RunOptions
from wizard.events import Hint, Info, Warning
from wizard.kube import KubeConnector
from wizard.outside import ensure_no_pending, prerequisite_actions
from wizard.plan import atomic_write

from .stage import poll
from support.repos import ANSWERS, git, make_guide_repo
from support.tools import built_tools_bin as tools_bin

pytestmark = pytest.mark.e2e
TOKEN = "e2e-Prereq-T0ken-0123456789abcdef"


def tool(name: str) -> str:
    path = tools_bin() / name
    if not path.is_file():
        pytest.skip(f"{name} not built in {tools_bin()}")
    return str(path)


@pytest.fixture
def env(control_plane, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    monkeypatch.setenv("PATH", f"{tools_bin()}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("SOPS_CONFIG", raising=False)
    tool("sops")
    tool("age-keygen")


def delete_secret(cp, name: str) -> None:
    cp.kubectl("delete", "secret", "-n", "flux-system", name, "--ignore-not-found", "--wait=true")


def wait_ready(cp, resource: str, timeout: int = 180) -> dict:
    deadline = time.monotonic() + timeout  # Flux creates it on its next apply: wait until it exists
    while cp.kubectl("get", "-n", "flux-system", resource, check=False).returncode != 0:
        assert time.monotonic() < deadline, f"{resource} was never created"
        time.sleep(1)
    r = cp.kubectl(
        "wait",
        "--for=condition=Ready",
        f"--timeout={timeout}s",
        "-n",
        "flux-system",
        resource,
        check=False,
        timeout=timeout + 30,
    )
    obj = cp.get_json("-n", "flux-system", resource)
    assert r.returncode == 0, f"{resource} not Ready: {json.dumps(obj.get('status'), indent=1)}"
    return obj


def key_file() -> Path:
    return Path(os.environ["HOME"]) / ".config/sops/age/keys.txt"


def assert_no_private_key(repo: Path, *more_git_dirs: Path) -> None:
    for p in repo.rglob("*"):
        if p.is_file() and ".git" not in p.relative_to(repo).parts:
            assert b"AGE-SECRET-KEY" not in p.read_bytes(), p
    for gd in (repo, *more_git_dirs):
        out = subprocess.run(["git", "log", "-p", "--all"], cwd=gd, capture_output=True, text=True, check=True).stdout
        assert "AGE-SECRET-KEY" not in out, gd
        objs = subprocess.run(
            ["git", "rev-list", "--all", "--objects"], cwd=gd, capture_output=True, text=True, check=True
        ).stdout.split()
        for sha in {o for o in objs if re.fullmatch(r"[0-9a-f]{40}", o)}:
            blob = subprocess.run(["git", "cat-file", "-p", sha], cwd=gd, capture_output=True, check=True).stdout
            assert b"AGE-SECRET-KEY" not in blob, (gd, sha)


# -- 1 -------------------------------------------------------------------------------------------
def test_secret_created_through_the_api_and_flux_decrypts_with_it(control_plane, git_server, env, tmp_path: Path):
    cp = control_plane
    delete_secret(cp, "sops-age")
    git_server.create_bare("prereq-demo")
    url = git_server.repo_url("prereq-demo")
    repo = make_guide_repo(tmp_path / "repo", style="2024", url=url)  # no .sops.yaml, decryption: sops-age
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS)

    # the step: key created (prepare), .sops.yaml written (as engine.run does), then the cluster action
    e = Engine(repo=repo, answers_file=str(answers))
    e.plan(["prerequisites"])
    events: list = []
    actions = prerequisite_actions(e.layout, e.answers, kube=KubeConnector())
    assert len(actions.prepare) == 1 and len(actions.cluster) == 1
    assert f"in cluster {cp.api_url} (context e2e" in actions.cluster[0].describe()  # named before writing
    for a in actions.prepare:
        a.apply(events.append)
    plan = e.plan(["prerequisites"])
    ensure_no_pending(plan)
    for change in plan.pending:
        atomic_write(repo / change.path, change.new)
    recipient = agekey.recipients_of(key_file())[0]
    assert f"age: {recipient}" in (repo / ".sops.yaml").read_text()

    actions.cluster[0].apply(events.append)
    infos = [ev.message for ev in events if isinstance(ev, Info)]
    assert any(
        m.startswith(f"Creating Secret flux-system/sops-age in cluster {cp.api_url} (context e2e") for m in infos
    ), events
    assert not [ev for ev in events if isinstance(ev, (Warning, Hint)) and "Back up" not in ev.message], events
    secret = cp.get_json("-n", "flux-system", "secret/sops-age")
    assert list(secret["data"]) == ["age.agekey"]
    stored = base64.b64decode(secret["data"]["age.agekey"]).decode()
    derived = subprocess.run(
        [tool("age-keygen"), "-y"], input=stored, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert derived == recipient
    assert "AGE-SECRET-KEY" not in repr(events)

    # never overwritten: a second run keeps it
    version = secret["metadata"]["resourceVersion"]
    again: list = []
    prerequisite_actions(e.layout, e.answers, kube=KubeConnector()).cluster[0].apply(again.append)
    assert any(isinstance(ev, Info) and "exists" in ev.message and "kept" in ev.message for ev in again), again
    assert cp.get_json("-n", "flux-system", "secret/sops-age")["metadata"]["resourceVersion"] == version

    # a sops-encrypted Secret in the repository, encrypted by the rule the step wrote
    folder = "manifests/infrastructure/prereq-demo"
    plaintext = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: prereq-demo\n  namespace: default\n"
        f"type: Opaque\nstringData:\n  token: {TOKEN}\n"
    )
    enc = subprocess.run(
        [tool("sops"), "encrypt", "--filename-override", f"{folder}/secret.yaml"],
        cwd=repo,
        input=plaintext,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert TOKEN not in enc and "ENC[" in enc
    (repo / folder).mkdir(parents=True)
    (repo / folder / "secret.yaml").write_text(enc)
    (repo / folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - secret.yaml\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "prereq demo")
    git(repo, "push", "-q", url, "main")
    assert_no_private_key(repo, git_server.root / "prereq-demo.git")

    cp.kubectl_apply(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "prereq-demo", "namespace": "flux-system"},
            "spec": {"url": url, "interval": "10s", "ref": {"branch": "main"}},
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "prereq-demo", "namespace": "flux-system"},
            "spec": {
                "interval": "10s",
                "retryInterval": "5s",
                "path": f"./{folder}",
                "prune": True,
                "timeout": "1m",
                "sourceRef": {"kind": "GitRepository", "name": "prereq-demo"},
                "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
            },
        },
    )
    wait_ready(cp, "kustomization/prereq-demo")
    got = cp.get_json("-n", "default", "secret/prereq-demo")
    assert base64.b64decode(got["data"]["token"]).decode() == TOKEN


def test_existing_secret_without_an_agekey_is_not_overwritten(control_plane, env, tmp_path: Path):
    cp = control_plane
    delete_secret(cp, "sops-gpg")
    cp.kubectl("create", "secret", "generic", "-n", "flux-system", "sops-gpg", "--from-literal=sops.txt=x")
    repo = make_guide_repo(tmp_path / "repo", style="2023")  # decryption blocks name sops-gpg
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS)
    e = Engine(repo=repo, answers_file=str(answers))
    e.load()
    [action] = prerequisite_actions(e.layout, e.answers, kube=KubeConnector()).cluster
    events: list = []
    action.apply(events.append)
    assert any(isinstance(ev, Warning) and "no data key ending in .agekey" in ev.message for ev in events), events
    data = cp.get_json("-n", "flux-system", "secret/sops-gpg")["data"]
    assert list(data) == ["sops.txt"]
    delete_secret(cp, "sops-gpg")


def test_unknown_context_prints_the_kubectl_command(control_plane, env, tmp_path: Path):
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS)
    e = Engine(repo=repo, answers_file=str(answers))
    e.load()
    [action] = prerequisite_actions(e.layout, e.answers, kube=KubeConnector(context="nope")).cluster
    events: list = []
    action.apply(events.append)
    [hint] = [ev for ev in events if isinstance(ev, Hint)]
    assert (
        "kubectl --context nope -n flux-system create secret generic sops-age --from-file=age.agekey=" in hint.message
    )


# -- 2: the done-when ------------------------------------------------------------------------------
def test_run_yes_on_a_fresh_repo_and_cluster_ends_with_decrypted_token(
    control_plane, chart_repo, git_server, env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    if "cluster" not in RunOptions.__dataclass_fields__:
        pytest.skip("needs the engine/cli patch from the prerequisites report (RunOptions.cluster, --no-cluster)")
    from wizard.frontends import cli

    cp = control_plane
    delete_secret(cp, "sops-age")
    git_server.create_bare("prereq-fresh")
    url = git_server.repo_url("prereq-fresh")
    repo = make_guide_repo(tmp_path / "repo", style="2024", url=url, commit=False)
    flux = repo / "manifests/cluster/flux-system"
    sync = (flux / "gotk-sync.yaml").read_text()
    (flux / "gotk-sync.yaml").write_text(
        sync.replace("  secretRef:\n    name: flux-system\n", "").replace("interval: 10m0s", "interval: 1m0s")
    )
    cil = (flux / "cilium.yaml").read_text()
    (flux / "cilium.yaml").write_text(re.sub(r"  healthChecks:\n(    .*\n|      .*\n)+", "", cil))
    assert not (repo / ".sops.yaml").exists()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    git(repo, "remote", "add", "origin", url)
    git(repo, "push", "-q", "origin", "main")
    cp.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=flux-bootstrap",
        "-f",
        str(flux / "gotk-sync.yaml"),
    )
    wait_ready(cp, "kustomization/flux-system")
    # the root Kustomization now applies this repository: its prune removes an earlier module's
    # stage, whose external-dns Kustomization has the name this test waits for (its real workloads
    # take a moment to uninstall)
    initial = git(repo, "rev-parse", "HEAD")
    poll(
        lambda: (
            initial
            in (cp.get_json("-n", "flux-system", "kustomization/flux-system").get("status") or {}).get(
                "lastAppliedRevision", ""
            )
        ),
        "the root Kustomization at the initial commit",
        timeout=240,
    )
    poll(
        lambda: cp.kubectl("get", "-n", "flux-system", "kustomization/external-dns", check=False).returncode != 0,
        "the earlier stage's external-dns Kustomization pruned",
        timeout=240,
    )

    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "charts:\n"
        + "".join(
            f"  {n}:\n    repository: {chart_repo.url}\n"
            for n in ("ingress-nginx", "cert-manager", "external-dns", "podinfo")
        )
    )
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(catalog))
    monkeypatch.setenv("T", TOKEN)
    rc = cli.main(
        [
            "run",
            "prerequisites",
            "external-dns",
            "--repo",
            str(repo),
            "--answers",
            str(answers),
            "--yes",
            "--no-watch",
            "--token-env",
            "T",
            "--skip-token-check",
        ]
    )
    assert rc == 0
    assert (key_file().stat().st_mode & 0o777) == 0o600
    assert cp.get_json("-n", "flux-system", "secret/sops-age")["data"].keys() == {"age.agekey"}

    sha = git(repo, "rev-parse", "HEAD")
    cp.kubectl(
        "annotate",
        "--overwrite",
        "-n",
        "flux-system",
        "gitrepository/flux-system",
        f"reconcile.fluxcd.io/requestedAt={sha}",
    )
    ks = wait_ready(cp, "kustomization/external-dns", timeout=240)
    assert ks["spec"]["decryption"]["secretRef"]["name"] == "sops-age"
    assert sha in ks["status"]["lastAppliedRevision"]
    enc = yamlio.load_plain((repo / "manifests/infrastructure/external-dns/hetzner-token.yaml").read_text())[0]
    name = enc["metadata"]["name"]
    [(_key, value)] = cp.get_json("-n", "external-dns", f"secret/{name}")["data"].items()
    assert base64.b64decode(value).decode() == TOKEN
    assert_no_private_key(repo, git_server.root / "prereq-fresh.git")
