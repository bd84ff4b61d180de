"""The demo's services and unattended decisions: injected into the one flow, nothing subclassed.

The DNS token is a fake (:data:`DEMO_TOKEN`): the demo's token checker never contacts a provider
(the demo opens no network connection); the cluster checks say "replay"; the watcher plays the
recorded timeline. Everything else (write, sops, commit, push to the sandbox's bare remote) is real.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from wizard import events as ev
from wizard.flow import (
    Back,
    Confirm,
    Options,
    ReadOnlyDecisions,
    Review,
    Services,
    TokenChecked,
    TokenRequest,
    run_flow,
)

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.demo.box import Sandbox
    from wizard.kube import KubeConnector

# A fake token, typed into the flow like a real one; never checked, never sent anywhere.
DEMO_TOKEN = "demo-token-not-a-secret-7f3a9c"
TOKEN_NOTE = (
    "Demo: the DNS token was not checked with the provider and is not sent anywhere "
    "(the demo makes no network connections). It is encrypted with sops like a real one."
)


def demo_check_token(answers: Answers, token: str, strict: bool = True) -> TokenChecked:
    answers.require(("domain", "dns_provider"), "checking the DNS token")
    return TokenChecked((ev.Warning(TOKEN_NOTE),))


async def replay_cluster_checks(kube: KubeConnector, options: Options) -> tuple[list[ev.Check], Any, bool]:
    from wizard.demo.replay import REPLAY_LABEL

    return [ev.Check("Cluster", "ok", f"none: the reconcile stage is {REPLAY_LABEL}")], None, False


def demo_services(box: Sandbox, pace: float = 1.0, *, clock: Callable[[], float] = time.time) -> Services:
    from wizard.demo.proof import replay_prover
    from wizard.demo.replay import ReplayWatcher
    from wizard.secrets import RefusingSecretWriter

    if box.encryption:
        from wizard.sops import SopsSecretWriter

        writer: Any = SopsSecretWriter(box.sops)
    else:
        writer = RefusingSecretWriter("sops and age are not installed on this machine.")
    watcher = ReplayWatcher(pace, clock=clock)
    return Services(
        secret_writer=writer,
        check_token=demo_check_token,
        cluster_checks=replay_cluster_checks,
        watcher=lambda _kube: watcher,
        prover=replay_prover(pace),
    )


class AutoDecisions(ReadOnlyDecisions):
    """The unattended demo (no terminal): the sandbox's answers, every step it can run, the fake
    token, yes."""

    async def steps(self, rows: Sequence[ev.StepRow]) -> list[str] | Back:
        return [r.step for r in rows if r.state != "blocked"]

    async def leave_out(self, blocked: Sequence[ev.StepRow]) -> bool:
        return True

    async def token(self, request: TokenRequest) -> str | None | Back:
        return DEMO_TOKEN

    async def confirm(self, review: Review) -> Confirm | Back:
        return Confirm()


def run_unattended(box: Sandbox, *, pace: float = 0.0) -> AsyncIterator[ev.Event]:
    """The same flow without a screen: plan, write, encrypt, commit, push, replayed reconcile."""
    return run_flow(box.services(pace), AutoDecisions(), box.options())
