"""``edge-wizard demo``: the whole flow on a throwaway sandbox. UI-free (the front ends live in cli/ui).

The sandbox (a temp folder) holds a guide-shaped repository, a bare "remote" it pushes to, an
answers file with example answers and, when ``sops`` and ``age-keygen`` are found, a fresh age key
(in the sandbox, never in ``~/.config``) with a ``.sops.yaml`` rule for it. Without them the
external-dns step is skipped, visibly: no plaintext Secret is ever written.

The DNS token in the demo is a fake (:data:`DEMO_TOKEN`); it is never checked with a provider and
the demo opens no network connection. The reconcile stage replays a recorded event timeline
(``assets/replay/edge.yaml``) and says so ("replay"); live reconcile against a local control
plane is not wired into the demo.

``--script`` drives the TUI by itself in a pseudo-terminal (:func:`script_feeder` types the
answers and keys with pauses scaled by ``--pace``), for unattended recordings.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard import events as ev
from wizard import sandbox
from wizard.engine import Engine
from wizard.errors import UserError

# A fake token, typed into the flow like a real one; never checked, never sent anywhere.
DEMO_TOKEN = "demo-token-not-a-secret-7f3a9c"
SANDBOX_FLUX_URL = "ssh://git@github.com/example/cluster"
REPLAY_LABEL = "replay: recorded events, not a live cluster"
TOKEN_NOTE = (
    "Demo: the DNS token was not checked with the provider and is not sent anywhere "
    "(the demo makes no network connections)."
)
NO_SOPS_NOTE = (
    "sops and age were not found (PATH, EDGE_WIZARD_TOOLS_BIN, the test-tools cache), so this "
    "sandbox skips encryption: the external-dns step (it needs an encrypted Secret) and the "
    "prerequisites step (it makes the age key) are left out. No plaintext Secret is ever written. "
    "Install sops and age (or run `make tools TOOLS=basic`) to see them."
)
# Steps that need sops and age: left out of a sandbox without them (the age key and .sops.yaml of
# "prerequisites", the encrypted Secret of "external-dns").
NEEDS_SOPS = ("prerequisites", "external-dns")


# -- tools ----------------------------------------------------------------------------------
def tool_dirs(env: dict[str, str] | None = None) -> list[Path]:
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


def find_tool(name: str, env: dict[str, str] | None = None) -> str | None:
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

    def engine_factory(self) -> Callable[..., Engine]:
        def factory(
            repo: Any = None, answers_file: str | None = None, overrides: dict[str, Any] | None = None, **_: Any
        ) -> Engine:
            return DemoEngine(
                self, repo=repo or self.repo, answers_file=answers_file or str(self.answers), overrides=overrides
            )

        return factory


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


class DemoEngine(Engine):
    """The real engine on the sandbox, with two demo rules: the token is never checked with a
    provider, and without sops the external-dns step is left out (never written in plaintext)."""

    def __init__(self, box: Sandbox, **kwargs: Any) -> None:
        if box.encryption:
            from wizard.sops import SopsSecretWriter

            writer: Any = SopsSecretWriter(box.sops)
        else:
            from wizard.secrets import RefusingSecretWriter

            writer = RefusingSecretWriter("sops and age are not installed on this machine.")
        super().__init__(secret_writer=writer, **kwargs)
        self.box = box

    def check_token(self, token: str, *, skip: bool = False) -> list[ev.Event]:
        super().check_token(token, skip=True)  # still checks the answers it needs
        if self.box.encryption:
            return [ev.Warning(TOKEN_NOTE + " It is encrypted with sops like a real one.")]
        return [ev.Warning(TOKEN_NOTE + " Without sops it is not written at all: external-dns is skipped.")]

    def run(self, plan: Any, options: Any, **kwargs: Any) -> Iterator[ev.Event]:
        """Never a cluster: the demo prints the kubectl command for the sops Secret instead."""
        import dataclasses

        return super().run(plan, dataclasses.replace(options, cluster=False, skip_token_check=True), **kwargs)

    def plan(self, step_names: list[str] | tuple[str, ...] | None = None) -> Any:
        if not self.box.encryption:
            from wizard import steps as steps_mod

            asked = list(step_names) if step_names else list(steps_mod.NAMES)
            wanted = [n for n in asked if n not in NEEDS_SOPS]
            if not wanted:
                raise UserError("skipped in this sandbox: " + NO_SOPS_NOTE)
            step_names = wanted
        return super().plan(step_names)


# -- the recorded reconcile -----------------------------------------------------------------
@dataclass(frozen=True)
class Timeline:
    name: str
    events: tuple[dict[str, Any], ...]
    done: dict[str, Any]
    source: str


def timeline_path(name: str = "edge") -> Path:
    from wizard.catalog import assets_dir

    return assets_dir() / "replay" / f"{name}.yaml"


def load_timeline(path: Path | None = None) -> Timeline:
    from wizard import yamlio

    path = path or timeline_path()
    data = yamlio.load_plain(path.read_text(encoding="utf-8"))[0]
    rows = sorted((dict(e) for e in data["events"]), key=lambda e: float(e["at"]))
    for e in rows:
        if e["phase"] not in ("waiting", "progressing", "ready", "failed"):
            raise ValueError(f"{path}: unknown phase {e['phase']!r}")
    return Timeline(
        name=data.get("name", path.stem),
        events=tuple(rows),
        done=dict(data["done"]),
        source=f"assets/replay/{path.name}",
    )


def replay_plan(
    timeline: Timeline, *, steps: Iterable[str] | None, sha: str | None, answers: Any = None
) -> list[tuple[float, ev.Event]]:
    """(seconds after the push, event) pairs for the steps that ran, placeholders filled in.
    ObjectState.since is set when the event is played."""
    ran = set(steps) if steps else None
    host = getattr(answers, "resolved_host", None) or "podinfo.apps.k8s.example.com"
    zone = getattr(answers, "resolved_zone", None) or "example.com"
    sha = sha or "0" * 40
    fill = {"sha": sha, "short": sha[:10], "host": host, "zone": zone}
    out: list[tuple[float, ev.Event]] = [
        (0.0, ev.Info(f"replay: a recorded event timeline ({timeline.source}), not a live cluster"))
    ]
    for e in timeline.events:
        if e.get("step") and ran is not None and e["step"] not in ran:
            continue
        out.append(
            (
                float(e["at"]),
                ev.ObjectState(
                    kind=e["kind"],
                    namespace=e.get("namespace") or "",
                    name=e["name"],
                    phase=e["phase"],
                    message=str(e.get("message", "")).format(**fill),
                ),
            )
        )
    d = timeline.done
    out.append(
        (float(d["at"]), ev.Done(message=str(d["message"]).format(**fill), url=str(d.get("url", "")).format(**fill)))
    )
    return out


def _stamp(event: ev.Event, now: float) -> ev.Event:
    if isinstance(event, ev.ObjectState):
        from dataclasses import replace

        return replace(event, since=now)
    return event


def replay(
    plan: list[tuple[float, ev.Event]],
    pace: float = 1.0,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[ev.Event]:
    """Play the events at real speed times ``pace`` (0: all at once)."""
    last = 0.0
    for at, event in plan:
        if pace > 0 and at > last:
            sleep((at - last) * pace)
        last = max(last, at)
        yield _stamp(event, clock())


async def areplay(
    plan: list[tuple[float, ev.Event]], pace: float = 1.0, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[ev.Event]:
    last = 0.0
    for at, event in plan:
        await asyncio.sleep((at - last) * pace if pace > 0 and at > last else 0)
        last = max(last, at)
        yield _stamp(event, clock())


def replay_source(
    pace: float = 1.0, *, clock: Callable[[], float] = time.time, timeline: Timeline | None = None
) -> Callable[[Any], AsyncIterator[ev.Event]]:
    """An event source for the Reconcile screen: the recorded timeline for this session's push."""
    tl = timeline or load_timeline()

    async def source(session: Any) -> AsyncIterator[ev.Event]:
        answers = session.engine.answers if session.engine is not None else None
        plan = replay_plan(tl, steps=session.steps, sha=session.pushed_sha, answers=answers)
        async for event in areplay(plan, pace, clock=clock):
            yield event

    return source


# -- the plain, unattended demo (no terminal) -----------------------------------------------
def run_plain(box: Sandbox, emit: Callable[[ev.Event], None], *, pace: float = 0.0) -> str | None:
    """The same flow without a screen: plan, write, encrypt, commit, push, replayed reconcile."""
    from wizard.engine import RunOptions

    engine = DemoEngine(box, repo=box.repo, answers_file=str(box.answers))
    for e in engine.check_token(DEMO_TOKEN):
        emit(e)
    plan = engine.plan(None)
    for e in engine.run(plan, RunOptions(commit=True, push=True, watch=False, token=DEMO_TOKEN, skip_token_check=True)):
        emit(e)
    steps = [s.step for s in plan.steps]
    for e in replay(replay_plan(load_timeline(), steps=steps, sha=engine.pushed_sha, answers=engine.answers), pace):
        emit(e)
    return engine.pushed_sha


# -- the script: a person at the keyboard, for unattended recordings ------------------------
# What the UI shows when a stage failed (the error dialog's buttons/status): the script stops there.
FAILED_MARKS = ("Failed: see the message", "Check this first", "A step failed", "Unexpected error")


def script_feeder(pace: float = 1.0, *, token: str = DEMO_TOKEN, timeout: float = 60.0) -> Callable[[Any], None]:
    """Drive the demo TUI through ``wizard.record``'s terminal: wait for each screen, then type.

    Pauses (reading time, typing speed) scale with ``pace``; 0 types as fast as the app reads.
    """

    def pause(seconds: float) -> None:
        if pace > 0:
            time.sleep(seconds * pace)

    def feed(term: Any) -> None:
        def wait(*needles: str, t: float = timeout) -> None:
            term.wait_for(*needles, timeout=t, fail_on=FAILED_MARKS)

        def type_text(text: str, per_key: float = 0.06) -> None:
            for ch in text:
                term(ch.encode())
                pause(per_key)

        wait("What edge-wizard found", "Repository layout", "Git remote")
        pause(2.5)
        term(b"\r")  # Preflight: continue
        wait("DNS provider token")
        pause(1.5)
        type_text(token)  # the only empty field has the focus
        pause(1.0)
        term(b"\x13")  # ctrl+s: continue
        wait("Run all (a)", "smoke-test")
        pause(2.5)
        term(b"a")  # Steps: run all
        wait("Write, commit and push (w)", "files to write")
        pause(3.0)
        term(b"w")  # Review: write
        wait("Continue to follow Flux", t=timeout * 2)
        pause(2.0)
        term(b"\r")  # Commit: continue to the reconcile
        wait("Done", "Exit (enter)", t=timeout * 2)
        pause(3.0)
        term(b"\r")  # Done: exit

    return feed
