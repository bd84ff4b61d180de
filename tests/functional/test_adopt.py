"""Issue 19, adopt what is already there: guide-shaped repositories set up by hand or long ago.

Each shape (tests/support/adopt_repos.py) goes through ``steps``, ``plan``, ``run`` and ``doctor
--offline`` through the CLI: exit codes and messages, what is written where, every written folder
through the real ``kustomize build`` with no object declared twice, and a re-run that changes nothing.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from wizard import repo as repo_mod
from wizard import yamlio
from wizard.frontends.cli import main

from support.adopt_repos import ED, FLUX, INFRA, OLD_TOKEN, make_mature_repo, make_part_iv_repo
from support.agekeys import make_age_key
from support.repos import ANSWERS, git, snapshot
from support.tools import require_tool

TOKEN = "adoptTestToken0123456789"
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch", "--skip-token-check"]


@pytest.fixture(autouse=True)
def _stop_gpg_agents(tmp_path: Path):
    """gpg starts an agent per GNUPGHOME the tests make: stop them when the test ends."""
    yield
    if shutil.which("gpgconf") is None:
        return
    for home in sorted(tmp_path.glob("**/gnupg*")):
        if home.is_dir():
            subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, check=False)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A real age key where sops looks for it (~/.config/sops/age/keys.txt) and the DNS token in a variable."""
    sops = require_tool("sops")
    require_tool("age-keygen")
    home = Path(str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("EDGE_TEST_TOKEN", TOKEN)
    key = make_age_key(home / ".config/sops/age", "keys.txt")
    return {"sops": sops, "recipient": key.recipient}


def answers(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "answers.yaml"
    p.write_text(ANSWERS + extra, encoding="utf-8")
    return p


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        rc = main(list(args))
    return rc, out.getvalue()


def common(root: Path, ans: Path) -> list[str]:
    return ["--repo", str(root), "--answers", str(ans)]


def run(root: Path, ans: Path, *extra: str, token: bool = True) -> tuple[int, str]:
    tok = ["--token-env", "EDGE_TEST_TOKEN"] if token else []
    return cli("run", *common(root, ans), *RUN, *tok, *extra)


def docs(root: Path, rel: str) -> list[dict]:
    return [d for d in yamlio.load_plain((root / rel).read_text(encoding="utf-8")) if isinstance(d, dict)]


def ids_in(root: Path, rel: str) -> list[tuple[str, str]]:
    return [(d["kind"], d["metadata"]["name"]) for d in docs(root, rel)]


def kustomize_builds(root: Path) -> None:
    """``kustomize build`` of the Flux folder and of every folder a Flux Kustomization of this
    repository applies; no object (kind, namespace, name) comes out of two of them."""
    kustomize = require_tool("kustomize")
    layout = repo_mod.discover(root)
    seen: Counter[tuple[str, str, str]] = Counter()
    folders = {layout.flux_dir: None} | {
        k.path: k.target_namespace for k in layout.declarations if layout.local(k) and k.path != layout.flux_dir
    }
    for folder, target in folders.items():
        if not any((root / folder / n).is_file() for n in ("kustomization.yaml", "kustomization.yml")):
            continue  # Flux generates the kustomization of a folder without one (the root: ./manifests/cluster)
        out = subprocess.run([kustomize, "build", folder], cwd=root, capture_output=True, text=True)
        assert out.returncode == 0, f"kustomize build {folder}: {out.stderr}"
        for d in yamlio.load_plain(out.stdout):
            if isinstance(d, dict):
                meta = d.get("metadata") or {}
                ns = "" if d["kind"] in ("Namespace", "ClusterIssuer") else (target or meta.get("namespace") or "")
                seen[(d["kind"], ns, meta["name"])] += 1
    twice = [k for k, n in seen.items() if n > 1]
    assert not twice, f"declared more than once: {twice}"


def decrypt(root: Path, rel: str, sops: str) -> dict:
    out = subprocess.run([sops, "--decrypt", rel], cwd=root, capture_output=True, text=True, check=True)
    return yamlio.load_plain(out.stdout)[0]


def changed(root: Path) -> list[str]:
    return sorted(git(root, "status", "--porcelain", "--untracked-files=all").splitlines())


# -- the guide's own Part IV layout: four Flux Kustomizations in one ingress.yaml -----------------------
def test_part_iv_one_file_is_adopted_in_place_and_a_rerun_changes_nothing(tmp_path: Path, env: dict) -> None:
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"])
    ans = answers(tmp_path)
    before = ids_in(root, f"{FLUX}/ingress.yaml")
    assert [n for _, n in before] == ["ingress-nginx", "external-dns", "cert-manager", "cluster-issuers"]

    rc, out = cli("steps", *common(root, ans))
    assert rc == 0, out
    assert "duplicate" not in out.lower() and "blocked" not in out

    rc, out = cli("plan", *common(root, ans))
    assert rc == 0, out
    assert "Flux Kustomization cert-manager is managed where it is declared, in " + f"{FLUX}/ingress.yaml" in out
    assert "--split-flux-files" in out
    assert "installCRDs: true -> crds.enabled: true" in out
    assert "provider: hetzner -> provider.name: webhook (the in-tree Hetzner provider existed only in" in out
    assert "key HETZNER_TOKEN -> HETZNER_API_KEY" in out
    assert "Remove the old declaration" not in out

    rc, out = run(root, ans)
    assert rc == 0, out
    # the four Kustomizations stay in ingress.yaml, once each; none is written a second time elsewhere
    assert ids_in(root, f"{FLUX}/ingress.yaml") == before
    for stem in ("external-dns", "cert-manager", "cluster-issuers"):
        assert not (root / f"{FLUX}/{stem}.yaml").exists()
    flux_list = docs(root, f"{FLUX}/kustomization.yaml")[0]["resources"]
    assert flux_list.count("ingress.yaml") == 1
    # installCRDs -> crds.enabled (the old key gone); the comment above the next key stays with it
    cm = next(d for d in docs(root, f"{INFRA}/cert-manager/cert-manager.yaml") if d["kind"] == "HelmRelease")
    assert "installCRDs" not in cm["spec"]["values"] and cm["spec"]["values"]["crds"]["enabled"] is True
    text = (root / f"{INFRA}/cert-manager/cert-manager.yaml").read_text(encoding="utf-8")
    assert "The CRDs come with the chart" not in text
    assert "    # Talk to public resolvers for the DNS-01 self-check.\n    podDnsPolicy: None\n" in text
    # in-tree hetzner -> the webhook: the old env and key are gone, the Secret holds the new key only
    ed = next(d for d in docs(root, f"{ED}/external-dns.yaml") if d["kind"] == "HelmRelease")
    values = ed["spec"]["values"]
    assert values["provider"]["name"] == "webhook" and "env" not in values
    refs = [e["valueFrom"]["secretKeyRef"] for e in values["provider"]["webhook"]["env"] if "valueFrom" in e]
    assert refs == [{"name": "hetzner-token", "key": "HETZNER_API_KEY"}]
    secret = decrypt(root, f"{ED}/hetzner-token.yaml", env["sops"])
    assert secret["stringData"] == {"HETZNER_API_KEY": TOKEN} and "data" not in secret
    assert "The zone at Hetzner" in (root / f"{ED}/external-dns.yaml").read_text(encoding="utf-8")
    kustomize_builds(root)

    # a re-run with the same answers and token: no write, no re-encryption
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "adopted")
    written = snapshot(root)
    rc, out = run(root, ans)
    assert rc == 0, out
    assert snapshot(root) == written and changed(root) == []
    rc, out = cli("plan", *common(root, ans), "--exit-code")
    assert rc == 0, out
    rc, out = cli("doctor", "--offline", "--repo", str(root))
    assert rc == 0, out
    assert "✗" not in out.replace("✗ doctor", "")


def test_in_tree_hetzner_without_a_new_token_stops_and_says_what_to_pass(tmp_path: Path, env: dict) -> None:
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"])
    ans = answers(tmp_path)
    before = snapshot(root)
    rc, out = run(root, ans, "external-dns", token=False)
    assert rc == 2, out
    assert "holds the token under HETZNER_TOKEN" in out and "HETZNER_API_KEY" in out
    assert "(the Hetzner Cloud webhook's variable)" in out and "the dns.hetzner.com API, which was shut" in out
    assert "--token-env VAR" in out and "Nothing was written" in out
    assert "Traceback" not in out
    assert snapshot(root) == before
    # the old token is still the one encrypted there (nothing was re-encrypted)
    assert decrypt(root, f"{ED}/hetzner-token.yaml", env["sops"])["data"]["HETZNER_TOKEN"]
    assert OLD_TOKEN not in (root / f"{ED}/hetzner-token.yaml").read_text(encoding="utf-8")


def test_split_flux_files_is_an_explicit_previewed_migration(tmp_path: Path, env: dict) -> None:
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"])
    ans = answers(tmp_path)
    rc, out = cli("plan", *common(root, ans), "--split-flux-files")
    assert rc == 0, out
    assert f"Flux Kustomization cert-manager moves from {FLUX}/ingress.yaml to its own file" in out
    rc, out = run(root, ans, "--split-flux-files")
    assert rc == 0, out
    assert ids_in(root, f"{FLUX}/ingress.yaml") == [("Kustomization", "ingress-nginx")]
    for stem in ("external-dns", "cert-manager", "cluster-issuers"):
        assert ids_in(root, f"{FLUX}/{stem}.yaml") == [("Kustomization", stem)]
    listed = docs(root, f"{FLUX}/kustomization.yaml")[0]["resources"]
    assert all(listed.count(f"{s}.yaml") == 1 for s in ("ingress", "external-dns", "cert-manager", "cluster-issuers"))
    # the moved Kustomization keeps what the wizard does not manage (the guide's targetNamespace)
    assert docs(root, f"{FLUX}/cert-manager.yaml")[0]["spec"]["targetNamespace"] == "cert-manager"
    kustomize_builds(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "split")
    written = snapshot(root)
    rc, out = run(root, ans, "--split-flux-files")
    assert rc == 0, out
    assert snapshot(root) == written
    rc, out = run(root, ans)  # without the flag: adopted where they are now, still nothing to do
    assert rc == 0, out
    assert snapshot(root) == written


def test_a_kustomization_declared_twice_names_both_places_and_never_advises_dropping_a_file(
    tmp_path: Path, env: dict
) -> None:
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"], commit=False)
    text = (root / f"{FLUX}/ingress.yaml").read_text(encoding="utf-8")
    start = text.index(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cluster-issuers"
    )
    (root / f"{FLUX}/issuers.yaml").write_text(text[start:], encoding="utf-8")
    p = root / f"{FLUX}/kustomization.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "  - issuers.yaml\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "twice")
    before = snapshot(root)
    rc, out = run(root, answers(tmp_path), "cluster-issuers")
    assert rc == 2, out
    assert "is declared 2 times" in out and f"{FLUX}/ingress.yaml" in out and f"{FLUX}/issuers.yaml" in out
    assert "not the file's entry" in out
    assert snapshot(root) == before


# -- a pinned old Flux -------------------------------------------------------------------------------------
def test_flux_2_0_rc5_is_refused_before_anything_is_written(tmp_path: Path, env: dict) -> None:
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"], flux="2.0.0-rc.5")
    ans = answers(tmp_path)
    before = snapshot(root)
    rc, out = cli("steps", *common(root, ans))
    assert rc == 0, out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines() if line[:1].isalpha()}
    assert rows["cert-manager"] == "blocked" and rows["ingress"] == "blocked" and rows["firewall"] != "blocked"
    rc, out = cli("plan", *common(root, ans))
    assert rc == 2, out
    assert "pins Flux v2.0.0-rc.5" in out and "flux install --export" in out and "2.3" in out
    rc, out = run(root, ans)
    assert rc == 2, out
    assert "v2.0.0-rc.5" in out and "flux install --export" in out
    assert snapshot(root) == before
    # doctor agrees: the repository's Flux does not serve what the current catalog writes
    rc, out = cli("doctor", "--offline", "--repo", str(root))
    assert "[flux-too-old]" in out and "older than v2.3" in out and "flux install --export" in out
    assert "only Flux 2.3 and later serve" not in out  # the fixture's own objects use APIs that Flux serves


# -- existing choices ----------------------------------------------------------------------------------------
def test_dns01_webhook_issuers_keep_their_solvers_unless_http01_is_chosen(tmp_path: Path, env: dict) -> None:
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"], issuers="dns01")
    ans = answers(tmp_path)
    issuers = f"{INFRA}/cluster-issuers/cluster-issuers.yaml"
    rc, out = cli("plan", *common(root, ans), "cluster-issuers")
    assert rc == 0, out
    assert "solves DNS-01 through the webhook dns.hetzner/hetzner: its solvers are kept" in out
    rc, out = run(root, ans, "cluster-issuers")
    assert rc == 0, out
    for ci in docs(root, issuers):
        acme = ci["spec"]["acme"]
        assert acme["email"] == "ops@example.com"
        assert [list(s) for s in acme["solvers"]] == [["dns01"]]
        assert acme["solvers"][0]["dns01"]["webhook"]["groupName"] == "dns.hetzner"
        assert acme["privateKeySecretRef"]["name"] == ci["metadata"]["name"]
    text = (root / issuers).read_text(encoding="utf-8")
    assert "# Just switch to dns01 validation, instead of fighting ingress-nginx.\n      - dns01:" in text
    # the webhook and its Secret stay listed and built
    kustomize_builds(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "kept")
    written = snapshot(root)
    rc, out = run(root, ans, "cluster-issuers")
    assert rc == 0 and snapshot(root) == written, out

    # chosen explicitly: HTTP-01 through ingress-nginx
    http = answers(tmp_path, "acme_solver: http01\n")
    rc, out = cli("plan", *common(root, http), "cluster-issuers")
    assert rc == 0, out
    assert "-> HTTP-01 through the ingress class nginx (acme_solver: http01)" in out
    rc, out = run(root, http, "cluster-issuers")
    assert rc == 0, out
    for ci in docs(root, issuers):
        solvers = ci["spec"]["acme"]["solvers"]
        assert solvers == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]


def test_controller_serving_other_apps_needs_its_own_confirmation(tmp_path: Path, env: dict) -> None:
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"], other_apps=True)
    ans = answers(tmp_path)
    rc, out = cli("plan", *common(root, ans), "ingress")
    assert rc == 0, out
    assert "already serves other apps (Ingress blog/blog in manifests/apps/blog/ingress.yaml)" in out
    assert "dnsPolicy" in out and "publishService" in out
    before = snapshot(root)
    rc, out = run(root, ans, "ingress")
    assert rc == 2, out
    assert "--accept-controller-changes" in out and "nothing was written" in out
    assert snapshot(root) == before
    rc, out = run(root, ans, "ingress", "--accept-controller-changes")
    assert rc == 0, out
    rel = next(d for d in docs(root, f"{INFRA}/ingress-nginx/ingress-nginx.yaml") if d["kind"] == "HelmRelease")
    assert rel["spec"]["values"]["controller"]["dnsPolicy"] == "ClusterFirstWithHostNet"
    # values the wizard does not own are kept (and the comment above the key it follows)
    text = (root / f"{INFRA}/ingress-nginx/ingress-nginx.yaml").read_text(encoding="utf-8")
    assert "      # Otherwise helm will time out waiting for a load balancer.\n      service:\n" in text
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "accepted")
    written = snapshot(root)
    rc, out = run(root, ans, "ingress")  # nothing left to change: no confirmation needed
    assert rc == 0 and snapshot(root) == written, out


def test_no_other_apps_means_no_extra_confirmation(tmp_path: Path, env: dict) -> None:
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"])
    rc, out = cli("plan", *common(root, answers(tmp_path)), "ingress")
    assert rc == 0, out
    assert "already serves other apps" not in out


# -- doctor on a mature repository --------------------------------------------------------------------------
def test_mature_repository_doctor_follows_each_source_ref(tmp_path: Path, env: dict) -> None:
    root = make_mature_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"])
    from wizard import doctor

    found = doctor.diagnose(repo_mod.discover(root), cluster=False)
    # the OCIRepository's `path: ./` and the other GitRepository's ./crds are not this repository's folders
    assert not [f for f in found if "podinfo-oci" in f.seen or "kubizone" in f.seen], found
    assert sorted(f.id for f in found if f.severity == "error") == ["firewall-no-http-rule"]
    ans = answers(tmp_path)
    rc, out = run(root, ans)
    assert rc == 0, out
    rc, out = cli("doctor", "--offline", "--repo", str(root))
    assert rc == 0, out
    kustomize_builds(root)
    # the Kustomizations from other sources are untouched
    assert "podinfo-oci" in (root / f"{FLUX}/sources.yaml").read_text(encoding="utf-8")
    assert not any("sources.yaml" in c for c in changed(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "run")
    written = snapshot(root)
    rc, out = run(root, ans)
    assert rc == 0 and snapshot(root) == written, out


# -- sops keys in preflight: PGP rules and the local age key ---------------------------------------------
def _keys_check(root: Path, ans: Path) -> object:
    from wizard import preflight
    from wizard.engine import Engine

    checks, _ = preflight.repo_checks(Engine(repo=root, answers_file=str(ans)), commit=False)
    found = [c for c in checks if c.name == "sops keys"]
    assert len(found) == 1, checks
    return found[0]


def test_pgp_rules_are_checked_in_preflight(tmp_path: Path, env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from support.adopt_repos import make_pgp_key

    if not require_tool("gpg"):
        pytest.skip("gpg")
    made = make_pgp_key(tmp_path / "gnupg-maker")
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], pgp=made.fingerprint, gnupghome=made.home)
    ans = answers(tmp_path)
    empty = tmp_path / "gnupg-empty"
    empty.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(empty))
    # the public key nowhere: sops could not encrypt; the fix says how to get it
    c = _keys_check(root, ans)
    assert c.status == "fail" and made.fingerprint in c.detail and "gpg keyring" in c.detail, c
    assert "gpg --import KEYFILE" in c.fix and f"gpg --export --armor {made.fingerprint}" in c.fix
    # exported into the repository as the guide does: the exact import command
    (root / ".sops.pub.asc").write_text(made.public, encoding="utf-8")
    c = _keys_check(root, ans)
    assert (
        c.status == "fail" and c.fix == "Import it from the repository: `gpg --import .sops.pub.asc`, then run again."
    )
    # imported (public only): encryption works, decryption here does not
    subprocess.run(["gpg", "--batch", "--import", str(root / ".sops.pub.asc")], check=True, capture_output=True)
    c = _keys_check(root, ans)
    assert c.status == "warn" and "No secret key" in c.detail, c
    # the machine that holds the secret key
    monkeypatch.setenv("GNUPGHOME", str(made.home))
    c = _keys_check(root, ans)
    assert c.status == "ok" and "can decrypt" in c.detail, c


def test_age_rules_say_whether_this_machine_can_decrypt(
    tmp_path: Path, env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.repos import make_guide_repo

    ans = answers(tmp_path)
    root = make_guide_repo(tmp_path / "repo", age_recipient=env["recipient"])
    c = _keys_check(root, ans)
    assert c.status == "ok" and "can decrypt" in c.detail, c
    other = make_age_key(tmp_path / "other")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(other.path))
    c = _keys_check(root, ans)  # sops loads SOPS_AGE_KEY_FILE and the default keys.txt, both
    assert c.status == "ok" and "can decrypt" in c.detail, c
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty"))  # no default keys.txt any more
    c = _keys_check(root, ans)
    assert c.status == "warn" and "holds none of the .sops.yaml rule's age recipients" in c.detail, c
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "missing.txt"))
    c = _keys_check(root, ans)
    assert c.status == "warn" and "does not exist" in c.detail, c


def test_pgp_repository_runs_with_the_key_and_stops_clearly_without_it(
    tmp_path: Path, env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.adopt_repos import make_pgp_key

    made = make_pgp_key(tmp_path / "gnupg-maker")
    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], pgp=made.fingerprint, gnupghome=made.home)
    ans = answers(tmp_path)
    empty = tmp_path / "gnupg-empty"
    empty.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(empty))
    before = snapshot(root)
    rc, out = run(root, ans, "external-dns")
    # refused before anything is written (exit 2): this machine holds no key of the rule, and cannot even
    # encrypt for it; the refusal names the key and the import
    assert rc == 2, out
    assert "Traceback" not in out and made.fingerprint in out and "gpg --import" in out
    assert snapshot(root) == before
    monkeypatch.setenv("GNUPGHOME", str(made.home))
    rc, out = run(root, ans)
    assert rc == 0, out
    text = (root / f"{ED}/hetzner-token.yaml").read_text(encoding="utf-8")
    assert made.fingerprint in text and "age1" not in text.split("pgp:")[0].split("sops:")[-1]
    assert decrypt(root, f"{ED}/hetzner-token.yaml", env["sops"])["stringData"] == {"HETZNER_API_KEY": TOKEN}
    kustomize_builds(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "run")
    written = snapshot(root)
    rc, out = run(root, ans)
    assert rc == 0 and snapshot(root) == written, out
    rc, out = cli("doctor", "--offline", "--repo", str(root))
    assert rc == 0, out


# -- the controller question in plain mode (the same Review/Confirm as the CLI's flag) --------------------
@pytest.mark.parametrize("accept", [False, True])
def test_plain_mode_asks_its_own_question_for_the_controller_changes(
    tmp_path: Path, env: dict, monkeypatch: pytest.MonkeyPatch, accept: bool
) -> None:
    from wizard.flow import Options
    from wizard.frontends.plain import run_plain

    from support.prompts import Lines, Script

    root = make_part_iv_repo(tmp_path / "repo", sops=env["sops"], age_recipient=env["recipient"], other_apps=True)
    script = Script(
        answers={
            "Steps to run": ["ingress", "cert-manager"],
            "Write these changes": True,
            "controller other apps use": accept,
            "Commit and push": False,
        }
    ).install(monkeypatch)
    out = Lines()
    rc = run_plain(Options(repo=str(root), answers_file=str(answers(tmp_path))), out=out)
    assert rc == 0, out.text
    assert "Apply these changes to the controller other apps use? (no: leave out ingress)" in script.messages()
    assert "‼ Changes to ingress-nginx, which already serves other apps" in out.text
    ingress = git(root, "status", "--porcelain", "--", f"{INFRA}/ingress-nginx")
    cert_manager = git(root, "status", "--porcelain", "--", f"{INFRA}/cert-manager")
    assert bool(ingress) is accept, out.text  # left out unless accepted
    assert cert_manager  # the other step is written either way
    if not accept:
        assert "Left out ingress" in out.text
