"""The demo sandbox: a throwaway guide-shaped repository with a bare remote, example answers and
(when sops and age-keygen are found) its own age key with a ``.sops.yaml`` rule for it."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.demo import sandbox
from wizard.errors import UserError
from wizard.flow import Options, Services

SANDBOX_FLUX_URL = "ssh://git@github.com/example/cluster"
NO_SOPS_NOTE = (
    "sops and age were not found (PATH, EDGE_WIZARD_TOOLS_BIN, the test-tools cache), so this "
    "sandbox skips encryption: the external-dns step (it needs an encrypted Secret) and the "
    "prerequisites step (it makes the age key) are left out. No plaintext Secret is ever written. "
    "`make demo-tools` brings sops and age (built once from the Go module proxy; needs Go)."
)
# Steps that need sops and age: left out of a sandbox without them (the age key and .sops.yaml of
# "prerequisites", the encrypted Secret of "external-dns").
NEEDS_SOPS = ("prerequisites", "external-dns")


# -- tools ----------------------------------------------------------------------------------
def tool_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    """Where the demo looks for sops/age after PATH: $EDGE_WIZARD_TOOLS_BIN, then the test-tools
    cache ($EDGE_WIZARD_TOOLS_CACHE or ~/.cache/edge-wizard, tools-*/bin, newest first)."""
    env = os.environ if env is None else env
    dirs: list[Path] = []
    if env.get("EDGE_WIZARD_TOOLS_BIN"):
        dirs.append(Path(env["EDGE_WIZARD_TOOLS_BIN"]))
    cache = Path(env.get("EDGE_WIZARD_TOOLS_CACHE") or Path(env.get("HOME") or Path.home()) / ".cache/edge-wizard")
    found = [p for p in cache.glob("tools-*/bin") if p.is_dir()]
    dirs += sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
    return dirs


def find_tool(name: str, env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found:
        return found
    for d in tool_dirs(env):
        p = d / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


# -- the sandbox ----------------------------------------------------------------------------
@dataclass
class Sandbox:
    root: Path
    repo: Path
    remote: Path
    answers: Path
    key_file: Path | None = None
    sops: str | None = None
    age_keygen: str | None = None
    recipient: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def encryption(self) -> bool:
        return self.sops is not None and self.key_file is not None

    def env(self) -> dict[str, str]:
        """What the demo process (or its recorded child) needs in its environment."""
        out = {
            "EDGE_WIZARD_DEMO_SANDBOX": str(self.root),
            # never the user's cluster: the demo's kubeconfig does not exist
            "KUBECONFIG": str(self.root / "no-cluster.kubeconfig"),
        }
        if self.encryption:
            assert self.sops is not None and self.key_file is not None
            out["SOPS"] = self.sops
            out["SOPS_AGE_KEY_FILE"] = str(self.key_file)
            extra = {str(Path(self.sops).parent)} | ({str(Path(self.age_keygen).parent)} if self.age_keygen else set())
            path = os.environ.get("PATH", os.defpath)
            out["PATH"] = os.pathsep.join([*(d for d in sorted(extra) if d not in path.split(os.pathsep)), path])
        return out

    def options(self, **extra: Any) -> Options:
        """The flow's options for the sandbox: never a cluster; without sops the steps that need it
        are unavailable (shown blocked, with why), so no plaintext Secret is ever written."""
        unavailable = {} if self.encryption else dict.fromkeys(NEEDS_SOPS, "skipped in this sandbox: " + NO_SOPS_NOTE)
        # staging first, then the promotion to production on a review of its own: as a real run does
        return Options(
            repo=str(self.repo), answers_file=str(self.answers), cluster=False, unavailable=unavailable, **extra
        )

    def services(self, pace: float = 1.0, *, clock: Callable[[], float] = time.time) -> Services:
        from wizard.demo.services import demo_services

        return demo_services(self, pace, clock=clock)


def make_sandbox(base: Path | None = None, *, encryption: bool = True) -> Sandbox:
    """Create the sandbox; ``encryption=False`` behaves as if sops/age were not installed."""
    root = Path(tempfile.mkdtemp(prefix="edge-wizard-demo-", dir=base))
    remote = root / "remote.git"
    remote.mkdir()
    sandbox.git(remote, "init", "-q", "--bare", "-b", "main")
    repo_dir = root / "cluster"
    sops = find_tool("sops") if encryption else None
    keygen = find_tool("age-keygen") if encryption else None
    key_file: Path | None = None
    recipient: str | None = None
    notes: list[str] = []
    if sops and keygen:
        from wizard import agekey

        key_file = root / "age" / "keys.txt"  # the sandbox's own key, not ~/.config/sops/age
        recipient = agekey.create_key(key_file, repo_dir, age_keygen=keygen)
        notes.append(f"fresh age key {key_file} (recipient {recipient}); .sops.yaml encrypts the DNS Secret to it")
    else:
        sops = None
        notes.append(NO_SOPS_NOTE)
    repo = sandbox.make_guide_repo(
        repo_dir,
        style="2024",
        url=SANDBOX_FLUX_URL,
        sops_rule=r"^manifests/infrastructure/.*/.*\.yaml$" if recipient else None,
        age_recipient=recipient,
    )
    # Flux's URL stays the guide's; git rewrites it to the sandbox's bare remote.
    sandbox.git(repo, "config", f"url.file://{remote}.insteadOf", SANDBOX_FLUX_URL)
    sandbox.git(repo, "config", "user.name", "edge-wizard demo")
    sandbox.git(repo, "config", "user.email", "demo@example.com")
    sandbox.git(repo, "remote", "add", "origin", SANDBOX_FLUX_URL)
    sandbox.git(repo, "push", "-q", "origin", "main")
    answers = root / "answers.yaml"
    answers.write_text(sandbox.ANSWERS, encoding="utf-8")
    return Sandbox(
        root=root,
        repo=repo,
        remote=remote,
        answers=answers,
        key_file=key_file,
        sops=sops,
        age_keygen=keygen if recipient else None,
        recipient=recipient,
        notes=notes,
    )


def open_sandbox(root: Path) -> Sandbox:
    """The sandbox a parent process made (``--sandbox DIR``, used by recorded runs)."""
    root = Path(root)
    key = root / "age" / "keys.txt"
    sops = os.environ.get("SOPS") if key.is_file() else None
    if key.is_file() and not sops:
        sops = find_tool("sops")
    if not (root / "cluster").is_dir():
        raise UserError(f"{root} is not an edge-wizard demo sandbox (no cluster/ folder in it).")
    return Sandbox(
        root=root,
        repo=root / "cluster",
        remote=root / "remote.git",
        answers=root / "answers.yaml",
        key_file=key if key.is_file() else None,
        sops=sops,
        notes=[] if key.is_file() else [NO_SOPS_NOTE],
    )
