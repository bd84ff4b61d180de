"""wizard.frontends.cli.output: how the CLI writes its lines."""

from __future__ import annotations

import pytest

from wizard import events as ev


def test_a_line_is_one_write_even_unbuffered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under PYTHONUNBUFFERED print() writes the text and the newline apart: a pipe's reader is woken
    twice, and the watch's line only lands with the second write."""
    import io
    import sys
    from typing import Any

    from wizard.frontends.cli.output import Out

    writes: list[bytes] = []

    class Raw(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            writes.append(bytes(b))
            return len(b)

    stream = io.TextIOWrapper(Raw(), encoding="utf-8", write_through=True)  # what -u gives sys.stdout
    monkeypatch.setattr(sys, "stdout", stream)
    Out(False).event(ev.Info("Flux APIs served"))
    Out(False).line("second")
    assert len(writes) == 2, writes
    assert b"Flux APIs served\n" in writes[0] and writes[0].count(b"\n") == 1
    assert writes[1] == b"second\n"
