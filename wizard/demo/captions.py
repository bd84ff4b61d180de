"""The demo's captions: one short line per stage saying why the step is there, what the guide
learned the hard way, so a screencast teaches rather than shows screens passing by.

:func:`captioned` wraps the flow's events: after each stage starts (and before the Done) it adds a
:class:`~wizard.events.Caption`, which every front end shows (the TUI under its stage bar, the plain
and ``--json`` lines as a line of their own). In a recorded session (``EDGE_WIZARD_MARKS_FD``, set by
:func:`wizard.demo.record.record`) it also writes the stage's name and caption to that pipe, which
the recorder turns into an asciicast marker at that moment.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping

from wizard import events as ev

MARKS_FD = "EDGE_WIZARD_MARKS_FD"

# At most ~120 characters each: one line at 100 columns plus a little, two at 80.
CAPTIONS: Mapping[str, str] = {
    "preflight": "Preflight only reads: where Flux syncs, the sops rule, the host firewall policy. "
    "Nothing is written before the review.",
    "answers": "The answers are committed in .edge-wizard.yaml, so a re-run or a colleague starts from "
    "them; the DNS token never is.",
    "steps": "Bare metal has no LoadBalancer: the ingress binds 80/443 on the node (hostNetwork), so its "
    "namespace needs the PSA privileged label.",
    "token": "The DNS token goes only through sops: encrypted to the age key before it touches a file; "
    "never in argv, a log or this recording.",
    "review": "Cilium's host firewall drops 80/443 until a rule opens them: the firewall step appends one to "
    "the existing policy. Nothing is written yet.",
    "write": "Written atomically, encrypted with sops, checked by the leak guard, committed and pushed: Flux "
    "applies what git holds.",
    "watch": "Flux applies in order: cert-manager before its ClusterIssuers, the issuers before the smoke "
    "test (dependsOn). Here it is a replay.",
    "prove": "Staging before production: the staging certificate proves DNS, port 80 and HTTP-01 without "
    "spending Let's Encrypt's production rate limits.",
    "diagnose": "Something failed: doctor looks for the known pitfalls of this stage and names the fix.",
    "done": "Replayed: a live run ends here only after DNS, port 80, the certificate and HTTPS 200 were "
    "checked from outside.",
}


# The second time a stage comes (the promotion to production after the staging proof).
AGAIN: Mapping[str, str] = {
    "review": "Staging is proven: the promotion changes only the smoke test's issuer, to letsencrypt-production, "
    "in a commit of its own.",
    "write": "The promotion is a second commit: git history says when production was switched on, and by whom.",
    "watch": "Flux applies the promotion: cert-manager orders the production certificate over the same HTTP-01 path.",
    "prove": "Production proven the same way: the host resolves, port 80 answers, the certificate is trusted, "
    "HTTPS says 200.",
}


def caption(stage: str, again: bool = False) -> ev.Caption | None:
    text = (AGAIN.get(stage) if again else None) or CAPTIONS.get(stage)
    return ev.Caption(stage, text) if text else None


class Marks:
    """Where the stage markers go: the recorder's pipe (``EDGE_WIZARD_MARKS_FD``), else nowhere."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        value = (os.environ if env is None else env).get(MARKS_FD, "")
        self.fd = int(value) if value.isdigit() else None

    def mark(self, c: ev.Caption) -> None:
        if self.fd is None:
            return
        line = f"{c.stage}: {c.text}".replace("\n", " ") + "\n"
        try:
            os.write(self.fd, line.encode("utf-8"))
        except OSError:  # the recorder is gone: the session goes on unmarked
            self.fd = None


async def captioned(events: AsyncIterator[ev.Event], marks: Marks | None = None) -> AsyncIterator[ev.Event]:
    """``events`` with a caption after each stage starts and before the Done (markers too, when recorded)."""
    marks = marks or Marks()
    seen: set[str] = set()
    async for e in events:
        stage = e.name if isinstance(e, ev.Stage) else "done" if isinstance(e, ev.Done) and e.replayed else None
        if isinstance(e, ev.Stage):
            yield e
        c = caption(stage, again=stage in seen) if stage else None
        if stage:
            seen.add(stage)
        if c is not None:
            marks.mark(c)
            yield c
        if not isinstance(e, ev.Stage):
            yield e
