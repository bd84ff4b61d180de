"""wizard.demo.captions: a caption per stage (the promotion's own the second time), markers to the recorder's pipe."""

from __future__ import annotations

import asyncio
import os

from wizard import events as ev
from wizard.demo.captions import AGAIN, CAPTIONS, MARKS_FD, Marks, captioned


async def _stream(events: list[ev.Event]):
    for e in events:
        yield e


def _run(events: list[ev.Event], marks: Marks) -> list[ev.Event]:
    async def go() -> list[ev.Event]:
        return [e async for e in captioned(_stream(events), marks)]

    return asyncio.run(go())


def test_a_caption_follows_each_stage_and_comes_before_a_replayed_done() -> None:
    done = ev.Done("Replayed, not checked: x", outcome="proven", replayed=True)
    out = _run([ev.Stage("steps"), ev.Info("i"), ev.Stage("review"), ev.Stage("review"), done], Marks({}))
    assert out[0] == ev.Stage("steps") and out[1] == ev.Caption("steps", CAPTIONS["steps"])
    assert out[2] == ev.Info("i")
    reviews = [e.text for e in out if isinstance(e, ev.Caption) and e.stage == "review"]
    assert reviews == [CAPTIONS["review"], AGAIN["review"]]  # the promotion's review says why it is there
    assert out[-2] == ev.Caption("done", CAPTIONS["done"]) and out[-1] is done


def test_a_live_done_gets_no_caption_and_every_stage_has_one() -> None:
    out = _run([ev.Done("Flux reconciled", outcome="reconciled")], Marks({}))
    assert out == [ev.Done("Flux reconciled", outcome="reconciled")]
    assert set(ev.STAGES) <= set(CAPTIONS)
    assert all(len(t) <= 150 and "\n" not in t for t in [*CAPTIONS.values(), *AGAIN.values()])


def test_markers_go_to_the_recorders_pipe_one_line_each() -> None:
    r, w = os.pipe()
    try:
        _run([ev.Stage("token"), ev.Stage("prove")], Marks({MARKS_FD: str(w)}))
        os.close(w)
        lines = os.read(r, 65536).decode().splitlines()
    finally:
        os.close(r)
    assert lines == [f"token: {CAPTIONS['token']}", f"prove: {CAPTIONS['prove']}"]


def test_without_the_pipe_nothing_is_written_and_a_closed_pipe_is_no_error() -> None:
    assert Marks({}).fd is None
    r, w = os.pipe()
    os.close(r)
    marks = Marks({MARKS_FD: str(w)})
    _run([ev.Stage("token"), ev.Stage("prove")], marks)  # EPIPE: the session goes on unmarked
    assert marks.fd is None
    os.close(w)
