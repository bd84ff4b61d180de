"""The script: a person at the keyboard of the demo TUI, for unattended recordings (``--script``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from wizard.demo.services import DEMO_TOKEN

# What the UI shows when a stage failed (the error dialog's buttons/status): the script stops there.
PROMOTION = "Staging is proven"  # the watch's log, before the promotion's review
DONE = "Exit (enter)"  # the done screen's button (a live run's headline says Done, a replay's Replayed)
FAILED_MARKS = ("Failed: see the message", "Check this first", "A step failed", "Unexpected error")


def script_feeder(pace: float = 1.0, *, token: str = DEMO_TOKEN, timeout: float = 60.0) -> Callable[[Any], None]:
    """Drive the demo TUI through ``wizard.demo.record``'s terminal: wait for each screen, then type.

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
        wait("Answers", "ACME e-mail")
        pause(2.0)
        term(b"\x13")  # ctrl+s: the sandbox's answers are prefilled
        wait("Run all (a)", "smoke-test")
        pause(2.5)
        term(b"a")  # Steps: run all
        review = "Write, commit and push (w)"
        seen = term.wait_any("Leave out", "DNS provider token", review, timeout=timeout, fail_on=FAILED_MARKS)
        if seen == "Leave out":  # a sandbox without sops: its two steps are left out, as the dialog asks
            pause(2.5)
            term(b"y")
            seen = term.wait_any("DNS provider token", review, timeout=timeout, fail_on=FAILED_MARKS)
        if seen == "DNS provider token":
            pause(1.5)
            type_text(token)  # the field has the focus
            pause(1.0)
            term(b"\x13")  # ctrl+s: continue
            wait(review, "files to write")
        pause(3.0)
        term(b"w")  # Review: write, commit, push; the reconcile and the staging proof follow by themselves
        seen = term.wait_any(PROMOTION, DONE, timeout=timeout * 2, fail_on=FAILED_MARKS)
        if seen == PROMOTION:  # staging is proven: the promotion to production, reviewed on its own
            wait(review)
            pause(3.0)
            term(b"w")
            wait(DONE, t=timeout * 2)
        pause(4.0)
        term.end_recording()  # the done screen is the recording's last frame
        term(b"\r")  # Done: exit

    return feed
