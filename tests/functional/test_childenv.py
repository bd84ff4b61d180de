"""Issue 16 item 3: no child process gets the DNS token or SOPS_AGE_KEY*, except sops decrypt (the key).

Two independent observations of the real children of a full run (sops, age-keygen, git and what
git starts: hooks, git-remote-http, the credential helper):

* every child that can run a script of ours dumps its environment to a file: git hooks
  (pre-push, reference-transaction), the credential helper, and wrappers that exec the real
  sops/age-keygen (SOPS=, AGE_KEYGEN=);
* a sampler thread reads ``/proc/<pid>/environ`` of every descendant of the test process while
  they run (the pre-push hook waits until the sampler has seen it, so git push, git-remote-http
  and the hook are caught alive).
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from wizard.frontends.cli import main

from support.agekeys import make_age_key
from support.clones import Clone, http_clone
from support.repos import git
from support.tools import require_tool

TOKEN = "hcloud-ChildEnvTokenValue-0123456789abcdef"


def _dumper(path: Path, dump: Path, then: str = "") -> Path:
    path.write_text(f'#!/bin/sh\n{{ echo "== $0 $*"; env; }} >> "{dump}"\n{then}')
    path.chmod(0o755)
    return path


def _setup(tmp_path: Path, c: Clone, monkeypatch: pytest.MonkeyPatch, *, key_in_env: bool) -> Path:
    sops, age_keygen = require_tool("sops"), require_tool("age-keygen")
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    key = make_age_key(tmp_path / "keys")
    (c.repo / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: manifests/.*\\.yaml$\n"
        f"    encrypted_regex: ^(data|stringData)$\n    age: {key.recipient}\n"
    )
    git(c.repo, "add", ".sops.yaml")
    git(c.repo, "commit", "-qm", "sops rules")
    creds = "credential.helper=!f() { echo username=fluxbot; echo password=s3cret-pass; }; f"
    git(c.repo, "-c", creds, "push", "-q", "origin", "main")
    bin_dir = tmp_path / "wrappers"
    bin_dir.mkdir()
    monkeypatch.setenv("SOPS", str(_dumper(bin_dir / "sops", dumps / "sops.env", f'exec "{sops}" "$@"\n')))
    monkeypatch.setenv(
        "AGE_KEYGEN", str(_dumper(bin_dir / "age-keygen", dumps / "age-keygen.env", f'exec "{age_keygen}" "$@"\n'))
    )
    hooks = c.repo / ".git/hooks"
    for hook in ("pre-push", "reference-transaction", "post-rewrite"):
        _dumper(hooks / hook, dumps / f"hook-{hook}.env", "cat >/dev/null\nexit 0\n")
    monkeypatch.setenv("T", TOKEN)
    if key_in_env:
        monkeypatch.setenv("SOPS_AGE_KEY", key.identity)
    else:
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    return dumps


def _run(c: Clone, answers: Path) -> int:
    return main(
        ["run", "--repo", str(c.repo), "--answers", str(answers), "--token-env", "T", "--yes", "--no-watch",
         "--skip-token-check"]
    )  # fmt: skip


def _sops_vars(section: str) -> list[str]:
    return re.findall(r"^(SOPS_AGE_\w+)=", section, re.M)


def _is_decrypt(section: str) -> bool:
    first = f" {section.splitlines()[0]} "
    return " decrypt " in first or " --decrypt " in first


def _sections(dump: Path) -> list[str]:
    return [s for s in dump.read_text().split("== ") if s.strip()] if dump.exists() else []


@pytest.mark.parametrize("key_in_env", [False, True], ids=["key-file", "key-in-env"])
def test_no_child_gets_the_token_and_only_sops_decrypt_gets_the_key(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, key_in_env: bool
) -> None:
    with http_clone(tmp_path, username="fluxbot", password="s3cret-pass") as c:
        dumps = _setup(tmp_path, c, monkeypatch, key_in_env=key_in_env)
        helper = _dumper(
            tmp_path / "cred-helper",
            dumps / "credential-helper.env",
            'printf "username=fluxbot\\npassword=s3cret-pass\\n"\n',
        )
        git(c.repo, "config", "credential.helper", str(helper))
        identity = os.environ.get("SOPS_AGE_KEY", "AGE-SECRET-KEY-never-set")
        assert _run(c, answers_file) == 0
        assert _run(c, answers_file) == 0  # same token again: sops decrypts to compare
        assert os.environ["T"] == TOKEN  # put back for the rest of the process once the run ended

    every = {p.name: _sections(p) for p in dumps.iterdir()}
    for name in ("hook-pre-push.env", "hook-reference-transaction.env", "credential-helper.env", "sops.env"):
        assert every.get(name), f"{name}: that child never ran, so the test proves nothing"
    for name, sections in every.items():
        for section in sections:
            assert TOKEN not in section, f"{name}: {section.splitlines()[0]} got the DNS token"
            if not (name == "sops.env" and _is_decrypt(section)):  # the one child that needs the key
                assert identity not in section, f"{name}: {section.splitlines()[0]} got the age identity"
                assert not _sops_vars(section), f"{name}: {section.splitlines()[0]} got {_sops_vars(section)}"
    decrypts = [s for s in every["sops.env"] if _is_decrypt(s)]
    assert decrypts, "the second run never decrypted"
    want = "SOPS_AGE_KEY" if key_in_env else "SOPS_AGE_KEY_FILE"
    assert all(want in _sops_vars(s) for s in decrypts), "sops decrypt needs the key and did not get it"
    pre_push = every["hook-pre-push.env"][0]
    assert "GIT_TERMINAL_PROMPT=0" in pre_push


# -- /proc sampling -------------------------------------------------------------------------------------------
class Sampler(threading.Thread):
    """Reads the environment of every descendant of this process while it is alive."""

    def __init__(self, release: Path) -> None:
        super().__init__(daemon=True)
        self.release = release
        self.me = os.getpid()
        self.seen: dict[int, tuple[str, bytes]] = {}
        self.stop = threading.Event()

    def _ppid(self, pid: int) -> int | None:
        try:
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None

    def _descends(self, pid: int) -> bool:
        for _ in range(20):
            parent = self._ppid(pid)
            if parent is None or parent <= 1:
                return False
            if parent == self.me:
                return True
            pid = parent
        return False

    def run(self) -> None:
        while not self.stop.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit() or int(entry.name) in self.seen:
                    continue
                pid = int(entry.name)
                if pid == self.me or not self._descends(pid):
                    continue
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
                    env = Path(f"/proc/{pid}/environ").read_bytes()
                except OSError:
                    continue
                if not cmd:
                    continue  # a zombie or not exec'd yet: look again next round
                self.seen[pid] = (cmd, env)
                if "pre-push" in cmd:
                    self.release.touch()  # the hook (and git push, git-remote-http above it) were sampled
            time.sleep(0.001)


def test_proc_environ_of_every_child_has_no_secret(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_clone(tmp_path, username="fluxbot", password="s3cret-pass") as c:
        _setup(tmp_path, c, monkeypatch, key_in_env=True)
        release = tmp_path / "release"
        hook = c.repo / ".git/hooks/pre-push"
        hook.write_text(
            "#!/bin/sh\ncat >/dev/null\n"
            f'i=0; while [ ! -e "{release}" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done\nexit 0\n'
        )
        git(c.repo, "config", "credential.helper", "store")
        (Path(os.environ["HOME"]) / ".git-credentials").write_text(
            c.url.replace("http://", "http://fluxbot:s3cret-pass@") + "\n"
        )
        identity = os.environ["SOPS_AGE_KEY"]
        sampler = Sampler(release)
        sampler.start()
        try:
            assert _run(c, answers_file) == 0
        finally:
            sampler.stop.set()
            sampler.join(10)
    cmds = [cmd for cmd, _ in sampler.seen.values()]
    assert release.exists(), f"the pre-push hook was never sampled: {cmds}"
    assert any("git-remote-http" in cmd or "remote-http" in cmd for cmd in cmds), cmds
    assert any(" push " in f" {cmd} " for cmd in cmds), cmds
    for cmd, env in sampler.seen.values():
        assert TOKEN.encode() not in env, f"{cmd} had the DNS token in its environment"
        assert identity.encode() not in env, f"{cmd} had the age identity in its environment"
        if "decrypt" not in cmd:
            names = [v.split(b"=", 1)[0] for v in env.split(b"\0")]
            assert not [n for n in names if n.startswith(b"SOPS_AGE_")], f"{cmd} had SOPS_AGE_KEY* in its environment"
