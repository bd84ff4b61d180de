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


# -- a replay never reads as a live result -------------------------------------------------------------------
def test_a_replayed_proof_says_replayed_and_never_proven() -> None:
    from wizard.frontends.lines import plain_line

    live = ev.Proof(host="h.example.com", proven=True, issuer="letsencrypt-production", status=200)
    replayed = ev.Proof(host="h.example.com", proven=True, issuer="letsencrypt-production", status=200, replayed=True)
    assert plain_line(live).startswith("✔ proven: h.example.com")
    line = plain_line(replayed)
    assert line.startswith("▷ replayed, not checked: h.example.com") and "proven" not in line and "✔" not in line
    check = plain_line(ev.ProofCheck("https", "ok", "answered HTTP 200", replayed=True))
    assert check.startswith("▷ https (replayed, not checked): ") and "✔" not in check


def test_a_replayed_done_has_its_own_glyph() -> None:
    from wizard.frontends.lines import plain_line

    done = ev.Done("Replayed, not checked: x", url="https://h/", outcome="proven", replayed=True)
    assert plain_line(done) == "▷ Replayed, not checked: x https://h/"
    assert plain_line(ev.Done("Flux reconciled", outcome="reconciled")).startswith("✔ ")
