"""The CLI's answers to the flow's decisions: from flags and the answers file, never a guess.

A missing answer is exit 2 (the flow says which); ``--yes`` confirms. Without ``--yes`` the CLI asks
once on a terminal ("Write these changes? [y/N]") and refuses without one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from wizard import events as ev
from wizard.errors import UserError
from wizard.flow import AnswersRequest, Back, Confirm, Review, TokenRequest
from wizard.frontends.cli.output import Out
from wizard.frontends.lines import attention_question


def _tty() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


class FlagDecisions:
    interactive = False

    def __init__(self, args: argparse.Namespace, out: Out) -> None:
        self.args = args
        self.out = out

    async def preflight(self, checks: Sequence[ev.Check]) -> bool:
        return True

    async def cluster(self, clusters: Sequence[tuple[str, str]]) -> str:
        return ""  # never asked (not interactive): --cluster NAME names it

    async def answers(self, request: AnswersRequest) -> dict[str, Any] | Back:
        return {}  # the answers file, the state file and the flags are the answers

    async def steps(self, rows: Sequence[ev.StepRow]) -> list[str] | Back:
        return [r.step for r in rows if r.state != "removed"]  # `run` without STEP: all but removed ones

    async def leave_out(self, blocked: Sequence[ev.StepRow]) -> bool:
        return False  # never silently: the flow refuses with every reason (exit 2)

    async def token(self, request: TokenRequest) -> str | None | Back:
        a = self.args
        if a.token_env:
            from wizard.childenv import take

            value = take(a.token_env)  # out of os.environ (cli.main already took it): no child inherits it
            if not value:
                raise UserError(
                    f"--token-env {a.token_env}: that environment variable is not set or empty. Export it first "
                    f"(e.g. read -s {a.token_env}; export {a.token_env})."
                )
            return value
        if a.token_stdin:
            return await asyncio.to_thread(sys.stdin.read)
        if not request.exists and sys.stdin.isatty():
            import getpass

            return await asyncio.to_thread(getpass.getpass, "DNS provider token (input hidden): ")
        return None

    async def confirm(self, review: Review) -> Confirm | Back:
        # every kind of attention item has its own flag; all of those present must be given
        accept = all(bool(getattr(self.args, a.flag.lstrip("-").replace("-", "_"), False)) for a in review.attention)
        if self.args.yes or review.empty:
            return Confirm(accept_attention=accept)
        if not _tty():
            raise UserError(
                "edge-wizard run needs --yes when it is not attached to a terminal (it will not guess or wait "
                "for an answer on standard input). Review with `edge-wizard plan` first, then run again with --yes."
            )
        reply = await asyncio.to_thread(input, "Write these changes? [y/N] ")
        write = reply.strip().lower() in ("y", "yes")
        if write and review.attention and not accept:
            for a in review.attention:
                self.out.event(a)
            reply = await asyncio.to_thread(input, f"{attention_question(review.attention)} [y/N] ")
            accept = reply.strip().lower() in ("y", "yes")
        return Confirm(write=write, accept_attention=accept)
