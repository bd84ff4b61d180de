"""wizard.gitops on real repositories: a bare remote over smart HTTP (127.0.0.1) and over file://."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.githttp import GitHTTPServer  # noqa: E402
from wizard import events as ev  # noqa: E402
from wizard.demo.sandbox import gotk_sync  # noqa: E402
from wizard.errors import StepFailed, UserError  # noqa: E402
from wizard.gitops import GitOps, flux_source_from_sync, normalize_url, redact_url  # noqa: E402

TOKEN = "cf-Tok3n-9f8e7d6c5b4a3928170ffeeddccbbaa"

SYNC = gotk_sync("ssh://git@github.com/example/fleet", path="./clusters/prod")

MANAGED = {
    "infrastructure/ingress/release.yaml": "kind: HelmRelease\nmetadata:\n  name: ingress-nginx\n",
    "infrastructure/external-dns/release.yaml": "kind: HelmRelease\nmetadata:\n  name: external-dns\n",
    "infrastructure/cert-manager/release.yaml": "kind: HelmRelease\nmetadata:\n  name: cert-manager\n",
}
STEPS = ["ingress", "external-dns", "cert-manager"]

ENCRYPTED_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: cloudflare-api-token
  namespace: external-dns
stringData:
  token: ENC[AES256_GCM,data:Zm9vYmFy,iv:aXY=,tag:dGFn,type:str]
sops:
  age:
    - recipient: age1qqqq
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        abc
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2024-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.8.1
"""


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    cfg = home / ".gitconfig"
    cfg.write_text("[init]\n\tdefaultBranch = main\n[user]\n\tname = Wizard User\n\temail = user@example.test\n")
    for var in list(os.environ):
        if var.startswith("GIT_"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def server(tmp_path):
    with GitHTTPServer(tmp_path / "srv") as srv:
        yield srv


@pytest.fixture
def auth_server(tmp_path):
    with GitHTTPServer(tmp_path / "authsrv", username="fluxbot", password="s3cret-pass") as srv:
        yield srv


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.rstrip("\n")


class Env:
    """A bare remote, a seeded history, the user's clone (``work``) and a colleague's (``other``)."""

    def __init__(self, tmp_path: Path, bare: Path, url: str) -> None:
        self.bare = bare
        self.url = url
        seed = tmp_path / "seed"
        git(tmp_path, "clone", "-q", url, str(seed))
        (seed / "README.md").write_text("# fleet\n")
        (seed / "clusters/prod/flux-system").mkdir(parents=True)
        (seed / "clusters/prod/flux-system/gotk-sync.yaml").write_text(SYNC)
        (seed / "infrastructure/ingress").mkdir(parents=True)
        (seed / "infrastructure/ingress/release.yaml").write_text("kind: HelmRelease  # old\n")
        git(seed, "add", ".")
        git(seed, "commit", "-qm", "seed")
        git(seed, "push", "-q", "origin", "HEAD:main")
        self.work = tmp_path / "work"
        git(tmp_path, "clone", "-q", url, str(self.work))
        self.other = tmp_path / "other"
        git(tmp_path, "clone", "-q", url, str(self.other))
        self.events: list[ev.Event] = []

    def ops(self, **kw) -> GitOps:
        return GitOps(self.work, flux_branch="main", emit=self.events.append, **kw)

    def write(self, files: dict[str, str], base: Path | None = None) -> list[str]:
        base = base or self.work
        for rel, text in files.items():
            p = base / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        return list(files)

    def remote_head(self, branch: str = "main") -> str:
        return git(self.bare, "rev-parse", branch)

    def remote_show(self, path: str, branch: str = "main") -> str:
        return git(self.bare, "show", f"{branch}:{path}")

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture(params=["http", "file"])
def env(request, tmp_path) -> Env:
    if request.param == "http":
        srv = request.getfixturevalue("server")
        bare = srv.create_bare("fleet")
        return Env(tmp_path, bare, srv.repo_url("fleet"))
    bare = tmp_path / "remote" / "fleet.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    return Env(tmp_path, bare, bare.as_uri())


# ------------------------------------------------------------------------------ the server itself


@pytest.mark.parametrize("version", ["0", "2"])
def test_server_speaks_protocol_v0_and_v2_with_chunked_push(server, tmp_path, version):
    server.create_bare("big")
    work = tmp_path / f"w{version}"
    git(tmp_path, "-c", f"protocol.version={version}", "clone", "-q", server.repo_url("big"), str(work))
    (work / "blob.bin").write_bytes(os.urandom(1_500_000))  # above http.postBuffer: chunked upload
    git(work, "add", ".")
    git(work, "commit", "-qm", "big")
    git(work, "-c", f"protocol.version={version}", "push", "-q", "origin", "HEAD:main")
    assert server.chunked_requests >= 1
    again = tmp_path / f"again{version}"
    git(tmp_path, "-c", f"protocol.version={version}", "clone", "-q", server.repo_url("big"), str(again))
    assert (again / "blob.bin").read_bytes() == (work / "blob.bin").read_bytes()
    assert all(host == "127.0.0.1" for host in [server.url.split("/")[2].split(":")[0]])


def test_server_basic_auth(auth_server, tmp_path):
    auth_server.create_bare("r")
    bad = subprocess.run(
        ["git", "ls-remote", auth_server.repo_url("r", username="fluxbot", password="nope")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "Authentication failed" in bad.stderr
    good = subprocess.run(
        ["git", "ls-remote", auth_server.repo_url("r", username="fluxbot", password="s3cret-pass")],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr


# ------------------------------------------------------------------------------ first push / re-run


def test_first_push_commits_only_the_wizard_files(env: Env):
    ops = env.ops()
    seed_head = env.remote_head()
    ops.check_clean(list(MANAGED))
    paths = env.write(MANAGED)

    sha = ops.commit(paths, STEPS)
    assert sha and sha == env.head()
    committed = env.of(ev.Committed)
    assert committed and committed[0].sha == sha
    assert committed[0].subject == "edge-wizard: ingress, external-dns, cert-manager"
    assert set(committed[0].files) == set(MANAGED)

    msg = git(env.work, "log", "-1", "--format=%B")
    assert msg.splitlines()[0] == "edge-wizard: ingress, external-dns, cert-manager"
    for p in MANAGED:
        assert p in msg
    assert "infrastructure/ingress/release.yaml (modified)" in msg
    assert "infrastructure/cert-manager/release.yaml (added)" in msg
    assert git(env.work, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        "Wizard User <user@example.test>|Wizard User <user@example.test>"
    )
    assert git(env.work, "status", "--porcelain") == ""

    assert ops.unpushed()
    assert env.remote_head() == seed_head  # not pushed yet
    pushed = ops.push()
    assert pushed == sha == env.remote_head()
    changed = git(env.bare, "diff-tree", "--no-commit-id", "--name-only", "-r", sha).splitlines()
    assert sorted(changed) == sorted(MANAGED)
    assert env.remote_show("infrastructure/external-dns/release.yaml") == MANAGED[
        "infrastructure/external-dns/release.yaml"
    ].rstrip("\n")
    assert env.of(ev.Pushed) == [ev.Pushed(sha=sha, remote="origin", branch="main")]
    assert not ops.unpushed()


def test_rerun_with_no_changes_is_a_noop(env: Env):
    ops = env.ops()
    paths = env.write(MANAGED)
    sha = ops.commit(paths, STEPS)
    ops.push()
    count = git(env.work, "rev-list", "--count", "HEAD")

    again = env.ops()
    again.check_clean(list(MANAGED))  # our own committed files are clean
    env.write(MANAGED)  # identical content
    assert again.commit(paths, STEPS) is None
    assert git(env.work, "rev-list", "--count", "HEAD") == count
    assert not again.unpushed()
    n_pushed = len(env.of(ev.Pushed))
    assert again.push() == sha
    assert len(env.of(ev.Pushed)) == n_pushed  # nothing pushed
    assert env.remote_head() == sha


def test_deleted_managed_file_is_committed_as_deletion(env: Env):
    ops = env.ops()
    (env.work / "infrastructure/ingress/release.yaml").unlink()
    sha = ops.commit(["infrastructure/ingress/release.yaml", "infrastructure/never-existed.yaml"], ["ingress"])
    assert sha
    assert "infrastructure/ingress/release.yaml (deleted)" in git(env.work, "log", "-1", "--format=%B")
    assert ops.push() == sha
    assert "infrastructure/ingress/release.yaml" not in git(env.bare, "ls-tree", "-r", "--name-only", "main")


def test_first_commit_in_an_empty_repository(tmp_path):
    work = tmp_path / "empty"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "a.yaml").write_text("a: 1\n")
    ops = GitOps(work)
    sha = ops.commit(["a.yaml"], ["ingress"])
    assert sha and git(work, "ls-tree", "-r", "--name-only", "HEAD") == "a.yaml"
    assert ops.commit(["a.yaml"], ["ingress"]) is None


# ------------------------------------------------------------------------------ non-fast-forward


def test_non_fast_forward_unrelated_change_is_rebased(env: Env):
    ops = env.ops()
    paths = env.write(MANAGED)
    ours = ops.commit(paths, STEPS)
    # Unrelated local edits (untracked and tracked) must survive the rebase untouched.
    (env.work / "notes.txt").write_text("my notes\n")
    sync = env.work / "clusters/prod/flux-system/gotk-sync.yaml"
    sync.write_text(SYNC + "# local edit\n")

    env.write({"README.md": "# fleet\n\nupstream edit\n"}, base=env.other)
    git(env.other, "commit", "-qam", "colleague: readme")
    git(env.other, "push", "-q", "origin", "HEAD:main")
    theirs = env.remote_head()

    pushed = ops.push()
    assert pushed == env.head() == env.remote_head()
    assert pushed != ours  # rebased
    assert git(env.bare, "rev-parse", f"{pushed}^") == theirs
    assert env.remote_show("README.md") == "# fleet\n\nupstream edit"
    for p, text in MANAGED.items():
        assert env.remote_show(p) == text.rstrip("\n")
    assert git(env.work, "log", "-1", "--format=%s") == "edge-wizard: ingress, external-dns, cert-manager"
    assert (env.work / "notes.txt").read_text() == "my notes\n"
    assert sync.read_text() == SYNC + "# local edit\n"
    assert git(env.work, "status", "--porcelain", "--", "clusters") == " M clusters/prod/flux-system/gotk-sync.yaml"
    assert "# local edit" not in env.remote_show("clusters/prod/flux-system/gotk-sync.yaml")
    assert (env.work / "README.md").read_text() == "# fleet\n\nupstream edit\n"
    assert any("Rebased" in e.message for e in env.of(ev.Info))


def test_non_fast_forward_conflicting_change_stops_and_keeps_commit(env: Env):
    ops = env.ops()
    paths = env.write(MANAGED)
    ours = ops.commit(paths, STEPS)

    env.write({"infrastructure/ingress/release.yaml": "kind: HelmRelease  # colleague\n"}, base=env.other)
    git(env.other, "commit", "-qam", "colleague: ingress")
    git(env.other, "push", "-q", "origin", "HEAD:main")
    theirs = env.remote_head()

    with pytest.raises(StepFailed) as info:
        ops.push()
    text = str(info.value)
    assert info.value.exit_code == 1
    assert "infrastructure/ingress/release.yaml" in text
    assert "kept" in text and "edge-wizard run" in text
    assert "external-dns/release.yaml" not in info.value.message  # only the conflicting path is named
    assert env.head() == ours  # local commit still there
    assert env.remote_head() == theirs  # remote unchanged
    assert (env.work / "infrastructure/ingress/release.yaml").read_text() == MANAGED[
        "infrastructure/ingress/release.yaml"
    ]
    assert ops.unpushed()


def test_non_fast_forward_upstream_change_to_locally_edited_file_stops(env: Env):
    ops = env.ops()
    ours = ops.commit(env.write(MANAGED), STEPS)
    (env.work / "README.md").write_text("# fleet\nmy uncommitted edit\n")
    env.write({"README.md": "# fleet\n\nupstream edit\n"}, base=env.other)
    git(env.other, "commit", "-qam", "colleague: readme")
    git(env.other, "push", "-q", "origin", "HEAD:main")
    theirs = env.remote_head()
    with pytest.raises(StepFailed) as info:
        ops.push()
    assert "README.md" in info.value.message and "kept" in info.value.message
    assert env.head() == ours and env.remote_head() == theirs
    assert (env.work / "README.md").read_text() == "# fleet\nmy uncommitted edit\n"


# ------------------------------------------------------------------------------ dirty trees


def test_dirty_unrelated_files_are_left_alone(env: Env):
    (env.work / "README.md").write_text("# fleet\nlocal edit\n")  # tracked, unstaged
    (env.work / "scratch.txt").write_text("untracked\n")
    (env.work / "staged.txt").write_text("staged by the user\n")
    git(env.work, "add", "staged.txt")
    ops = env.ops()
    ops.check_clean(list(MANAGED))  # unrelated dirt does not block
    sha = ops.commit(env.write(MANAGED), STEPS)

    files = git(env.work, "show", "--name-only", "--format=", sha).splitlines()
    assert sorted(files) == sorted(MANAGED)
    status = git(env.work, "status", "--porcelain").splitlines()
    assert " M README.md" in status
    assert "?? scratch.txt" in status
    assert "A  staged.txt" in status  # still staged, not committed
    assert not any(p in line for line in status for p in MANAGED)
    assert (env.work / "README.md").read_text() == "# fleet\nlocal edit\n"
    ops.push()
    assert "staged.txt" not in git(env.bare, "ls-tree", "-r", "--name-only", "main")


def test_dirty_managed_file_blocks_before_writing(env: Env):
    ops = env.ops()
    target = env.work / "infrastructure/ingress/release.yaml"
    target.write_text("kind: HelmRelease  # hand edit\n")
    (env.work / "infrastructure/cert-manager").mkdir(parents=True)
    (env.work / "infrastructure/cert-manager/release.yaml").write_text("mine\n")  # untracked, exists
    head = env.head()
    with pytest.raises(UserError) as info:
        ops.check_clean(list(MANAGED))
    err = info.value
    assert err.exit_code == 2
    assert "infrastructure/ingress/release.yaml (modified)" in err.message
    assert "infrastructure/cert-manager/release.yaml (untracked" in err.message
    assert "external-dns" not in err.message  # missing + untracked is fine
    assert "edge-wizard run" in str(err)
    assert target.read_text() == "kind: HelmRelease  # hand edit\n"
    assert env.head() == head

    git(env.work, "add", "infrastructure/ingress/release.yaml")
    with pytest.raises(UserError, match=r"release.yaml \(staged\)"):
        ops.check_clean(["infrastructure/ingress/release.yaml"])


# ------------------------------------------------------------------------------ leak guard


def _assert_refused(env: Env, ops: GitOps, paths, bad_path: str, **kw) -> StepFailed:
    head = env.head()
    with pytest.raises(StepFailed) as info:
        ops.commit(paths, ["external-dns"], **kw)
    err = info.value
    assert err.exit_code == 1
    assert bad_path in str(err)
    assert TOKEN not in str(err) and TOKEN not in repr(err.args)
    assert base64.b64encode(TOKEN.encode()).decode() not in str(err)
    assert env.head() == head  # nothing committed
    assert git(env.work, "diff", "--cached", "--name-only") == ""  # real index untouched
    assert (env.work / bad_path).exists()  # nothing deleted
    assert not env.of(ev.Committed)
    assert all(TOKEN not in getattr(e, "message", "") for e in env.events)
    return err


def test_leak_guard_refuses_plaintext_token(env: Env):
    ops = env.ops()
    paths = env.write(
        {
            **MANAGED,
            "infrastructure/external-dns/values.yaml": f"provider: cloudflare\napiToken: {TOKEN}\n",
        }
    )
    _assert_refused(env, ops, paths, "infrastructure/external-dns/values.yaml", secret_values=[TOKEN])


def test_leak_guard_refuses_base64_token_even_inside_larger_blob(env: Env):
    ops = env.ops()
    blob = base64.b64encode(b'{"auths":{"x":{"password":"' + TOKEN.encode() + b'"}}}').decode()
    paths = env.write({"infrastructure/external-dns/config.json": f'{{"cfg": "{blob}"}}\n'})
    _assert_refused(env, ops, paths, "infrastructure/external-dns/config.json", secret_values=[TOKEN])


def test_leak_guard_refuses_secret_without_sops_metadata(env: Env):
    ops = env.ops()
    plain = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloudflare-api-token\nstringData:\n  token: something-else\n"
    )
    paths = env.write({**MANAGED, "infrastructure/external-dns/secret.yaml": plain})
    err = _assert_refused(env, ops, paths, "infrastructure/external-dns/secret.yaml", secret_values=[TOKEN])
    assert "sops" in err.message
    assert "something-else" not in str(err)


def test_leak_guard_accepts_sops_encrypted_secret(env: Env):
    ops = env.ops()
    paths = env.write({**MANAGED, "infrastructure/external-dns/secret.yaml": ENCRYPTED_SECRET})
    sha = ops.commit(paths, STEPS, secret_values=[TOKEN])
    assert sha
    assert "infrastructure/external-dns/secret.yaml" in git(env.work, "show", "--name-only", "--format=", sha)


# ------------------------------------------------------------------------------ auth / unreachable


def test_auth_failure_keeps_commit_and_rerun_pushes(auth_server, tmp_path):
    auth_server.create_bare("fleet")
    good_url = auth_server.repo_url("fleet", username="fluxbot", password="s3cret-pass")
    env = Env(tmp_path, auth_server.root / "fleet.git", good_url)
    bad_url = auth_server.repo_url("fleet", username="fluxbot", password="wrong-pass")
    git(env.work, "config", "remote.origin.url", bad_url)
    seed = env.remote_head()

    ops = env.ops()
    assert "wrong-pass" not in (ops.target().remote_url or "")
    sha = ops.commit(env.write(MANAGED), STEPS)
    with pytest.raises(StepFailed) as info:
        ops.push()
    text = str(info.value)
    assert "credentials" in text
    assert "kept" in text and "edge-wizard run" in text
    assert sha[:12] in text
    assert "wrong-pass" not in text and "s3cret-pass" not in text
    assert env.head() == sha and env.remote_head() == seed
    assert ops.unpushed()

    # The user fixes the credentials; a re-run pushes what is committed.
    git(env.work, "config", "remote.origin.url", good_url)
    rerun = env.ops()
    assert rerun.commit(list(MANAGED), STEPS) is None
    assert rerun.unpushed()
    assert rerun.push() == sha == env.remote_head()
    assert not rerun.unpushed()


def test_server_refusing_push_is_reported_as_auth_failure(server, tmp_path):
    server.create_bare("fleet")
    env = Env(tmp_path, server.root / "fleet.git", server.repo_url("fleet"))
    ops = env.ops()
    sha = ops.commit(env.write(MANAGED), STEPS)
    server.fail_next_push(403)
    with pytest.raises(StepFailed, match="refused the credentials") as info:
        ops.push()
    assert "kept" in str(info.value)
    assert env.head() == sha and env.remote_head() != sha
    assert ops.push() == sha == env.remote_head()


def test_unreachable_remote(env: Env, tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    git(env.work, "config", "remote.origin.url", f"http://tok-user:hunter2-secret@127.0.0.1:{port}/fleet.git")
    ops = env.ops()
    sha = ops.commit(env.write(MANAGED), STEPS)
    with pytest.raises(StepFailed) as info:
        ops.push()
    text = str(info.value)
    assert "could not be reached" in text and "kept" in text and "edge-wizard run" in text
    assert "hunter2-secret" not in text
    assert env.head() == sha


# ------------------------------------------------------------------------------ target detection


def test_branch_and_remote_from_flux_sync(env: Env):
    branch, url = flux_source_from_sync(env.work / "clusters/prod/flux-system/gotk-sync.yaml")
    assert (branch, url) == ("main", "ssh://git@github.com/example/fleet")
    git(env.work, "remote", "add", "github", "git@github.com:Example/fleet.git")
    git(env.work, "switch", "-q", "-c", "feature")

    events: list[ev.Event] = []
    ops = GitOps(env.work, flux_branch=branch, flux_url=url, emit=events.append)
    t = ops.target()
    assert t.branch == "main"
    assert t.remote == "github"
    assert t.remote_url == "git@github.com:Example/fleet.git"
    assert t.local_branch == "feature"
    assert len(t.warnings) == 1
    assert "'feature'" in t.warnings[0] and "'main'" in t.warnings[0]
    assert [e.message for e in events if isinstance(e, ev.Warning)] == t.warnings


def test_target_defaults_to_current_branch_and_origin(env: Env):
    ops = GitOps(env.work, flux_url="https://git.example.com/nothing/here.git")
    t = ops.target()
    assert (t.branch, t.remote) == ("main", "origin")
    assert len(t.warnings) == 1 and "No git remote points at" in t.warnings[0]
    assert GitOps(env.work).target().warnings == []


def test_url_helpers():
    same = [
        "ssh://git@github.com/example/fleet",
        "ssh://git@github.com:22/example/fleet.git",
        "git@github.com:example/fleet.git",
        "https://github.com/example/fleet",
        "https://user:tok@GitHub.com/example/fleet.git/",
    ]
    assert len({normalize_url(u) for u in same}) == 1
    assert normalize_url("git@github.com:example/other") != normalize_url(same[0])
    assert normalize_url("/srv/git/fleet.git") == normalize_url("file:///srv/git/fleet")
    assert (
        redact_url("fatal: unable to access 'https://me:pw@host/x'")
        == "fatal: unable to access 'https://me:***@host/x'"
    )
    assert redact_url("https://ghp_abc@github.com/x") == "https://***@github.com/x"
    assert redact_url("ssh://git@host/x") == "ssh://git@host/x"
