"""wizard.frontends.lines: the plain-line renderer of the events."""

from __future__ import annotations

from wizard import events as ev


# -- cosmetics -------------------------------------------------------------------------------------------------
def test_plan_ready_never_counts_files_that_are_not_written() -> None:
    from wizard.frontends.lines import plain_line

    assert plain_line(ev.PlanReady(steps=("ingress",), files=())) == "► plan: ingress (nothing to write)"
    line = plain_line(ev.PlanReady(steps=("external-dns",), files=(), secrets=("s.yaml",)))
    assert "file" not in line and "1 sops Secret" in line
    assert "(2 files to write" in plain_line(ev.PlanReady(steps=("x",), files=("a", "b")))
