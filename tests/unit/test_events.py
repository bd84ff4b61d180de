"""wizard.events: the JSON form of the events."""

from __future__ import annotations

import json

from wizard import events as ev


def test_json_output_escapes_control_characters() -> None:
    line = json.dumps(ev.FileWritten("a\x1b[2Jb.yaml").to_json())
    assert "\x1b" not in line


def test_replayed_is_in_the_json_record_only_of_a_replay() -> None:
    """`replayed` is sparse: a live run's records keep their shape; a replay's say so in words."""
    live = ev.Done("Flux reconciled", outcome="reconciled").to_json()
    assert "replayed" not in live
    replayed = ev.Done("Replayed, not checked", outcome="proven", replayed=True).to_json()
    assert replayed["replayed"] is True
    assert ev.Proof(host="h", proven=True, replayed=True).to_json()["replayed"] is True
    assert "replayed" not in ev.ProofCheck("https", "ok", "seen").to_json()
    from support.schema import validate

    validate(replayed, ev.json_schema(), "replayed Done")
    validate(live, ev.json_schema(), "live Done")
