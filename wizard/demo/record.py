"""Record an interactive session as an asciicast v2 file.

The session runs in a pseudo-terminal of a fixed size; only what the program *prints* is recorded
("o" events), never what is typed, so a token typed at a masked prompt cannot reach the
recording: the prompt echoes bullets (the Textual UI) or nothing (plain mode). With ``marks`` the
program gets a pipe (``EDGE_WIZARD_MARKS_FD``): each line it writes there becomes a marker ("m"
event) at that moment, one per stage (:mod:`wizard.demo.captions`).
"""

from __future__ import annotations

import codecs
import errno
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# An escape sequence: CSI (cursor moves, colours, modes), OSC (titles), DCS/APC, or a 2-byte ESC x.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[P_^][^\x1b]*\x1b\\|\x1b[@-Z\\-_]"
    r"|\x1b[()][0-9A-Za-z]"
)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class Terminal:
    """What a feeder gets: call it with bytes to type them; ``wait_for`` blocks until texts were
    printed (escape sequences removed) since the last wait, or raises TimeoutError."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._cond = threading.Condition()
        self._text = ""
        self._mark = 0
        self.closed = False
        self.ended = False  # end_recording(): what the program prints from now on is not recorded

    def __call__(self, data: bytes) -> None:
        if not self.closed:
            os.write(self._fd, data)

    send = __call__

    def end_recording(self) -> None:
        """The recording ends here (the script is about to quit the program: its last screen stays
        the recording's last frame, not the terminal the program leaves behind)."""
        self.ended = True

    def _output(self, text: str) -> None:
        with self._cond:
            self._text += text
            self._cond.notify_all()

    def _close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    @property
    def text(self) -> str:
        with self._cond:
            return strip_ansi(self._text)

    def _wait(self, found: Callable[[str], str | None], what: str, timeout: float, fail_on: Sequence[str]) -> str:
        """Wait until ``found(screen text since the last match)`` names what showed up."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                seen = strip_ansi(self._text[self._mark :])
                hit = found(seen)
                if hit is not None:
                    self._mark = len(self._text)
                    return hit
                bad = next((f for f in fail_on if f in seen), None)
                if bad is not None:
                    tail = " ".join(seen.split())[-600:]
                    raise RuntimeError(f"the screen shows {bad!r} while waiting for {what}: {tail}")
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    tail = " ".join(seen.split())[-400:]
                    why = "the program ended" if self.closed else f"{timeout:.0f}s passed"
                    raise TimeoutError(f"waited for {what} but {why}; the screen showed: {tail}")
                self._cond.wait(min(left, 0.5))

    def wait_any(self, *alternatives: str, timeout: float = 60.0, fail_on: Sequence[str] = ()) -> str:
        """The first of ``alternatives`` that shows up (the screen depends on the repository)."""
        return self._wait(
            lambda seen: next((a for a in alternatives if a in seen), None),
            f"one of {alternatives!r}",
            timeout,
            fail_on,
        )

    def wait_for(self, *needles: str, timeout: float = 60.0, fail_on: Sequence[str] = ()) -> None:
        """Raises TimeoutError, or RuntimeError at once when one of ``fail_on`` shows up."""
        self._wait(lambda seen: "all" if all(n in seen for n in needles) else None, repr(needles), timeout, fail_on)


Feeder = Callable[[Terminal], None]


def parse_size(text: str) -> tuple[int, int]:
    from wizard.errors import UserError

    try:
        cols, rows = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size {text!r} is not COLSxROWS, e.g. 100x30.") from None
    if not (40 <= cols <= 400 and 10 <= rows <= 200):
        raise UserError(f"--size {text}: use between 40x10 and 400x200.")
    return cols, rows


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class _Cast:
    """The asciicast being written: output ("o") and markers ("m"), timed from the start."""

    def __init__(self, out: Any, start: float) -> None:
        self.out = out
        self.start = start
        self.pending = b""  # a marker line not complete yet

    def event(self, kind: str, text: str) -> None:
        self.out.write(json.dumps([round(time.monotonic() - self.start, 6), kind, text]) + "\n")

    def marks(self, fd: int) -> bool:
        """Markers the program wrote since the last look; False once its pipe is closed."""
        data = os.read(fd, 4096)
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            label = line.decode("utf-8", "replace").strip()
            if label:
                self.event("m", label)
        return bool(data)


def _spawn(argv: Sequence[str], env: dict[str, str], marks: bool) -> tuple[int, int, int]:
    """The program in a new pty: (pid, the pty's fd, the read end of its marker pipe or -1)."""
    marks_r = marks_w = -1
    if marks:
        from wizard.demo.captions import MARKS_FD

        marks_r, marks_w = os.pipe()
        os.set_inheritable(marks_w, True)
        env = {**env, MARKS_FD: str(marks_w)}
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvpe(argv[0], list(argv), env)
        finally:
            os._exit(127)
    if marks:
        os.close(marks_w)
    return pid, fd, marks_r


def _start_feeder(feeder: Feeder, term: Terminal, pid: int, errors: list[BaseException]) -> None:
    def drive() -> None:
        try:
            feeder(term)
        except BaseException as exc:
            if not term.closed:
                errors.append(exc)
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    threading.Thread(target=drive, daemon=True).start()


class _Output:
    """The program's side of the pty: its output, decoded, to the terminal, the cast and the screen."""

    def __init__(self, fd: int, cast: _Cast, term: Terminal, passthrough: bool) -> None:
        self.fd, self.cast, self.term, self.passthrough = fd, cast, term, passthrough
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def read(self) -> bool:
        """What the program printed since the last read; False when it has ended."""
        try:
            data = os.read(self.fd, 65536)
        except OSError as exc:
            if exc.errno == errno.EIO:
                return False
            raise
        if not data:
            return False
        text = self.decoder.decode(data)
        self.term._output(text)
        if text and not self.term.ended:
            self.cast.event("o", text)
        if self.passthrough:
            os.write(sys.stdout.fileno(), data)
        return True


def _pump(cast: _Cast, fd: int, marks_r: int, term: Terminal, *, stdin_tty: bool, passthrough: bool) -> None:
    """Copy the program's output to the cast (and the screen), markers too, keys in; until it ends."""
    output = _Output(fd, cast, term, passthrough)
    stdin = sys.stdin.fileno() if stdin_tty else -1
    while True:
        watch = [f for f in (fd, stdin, marks_r) if f >= 0]
        try:
            ready, _, _ = select.select(watch, [], [], 0.1)
        except InterruptedError:
            continue
        if fd in ready and not output.read():
            break
        # a marker is timed when it is read (within the loop's 0.1 s of when the program wrote it)
        if marks_r >= 0 and marks_r in ready and not cast.marks(marks_r):
            os.close(marks_r)
            marks_r = -1
        if stdin >= 0 and stdin in ready:
            data = os.read(stdin, 1024)
            if data:
                os.write(fd, data)
    if marks_r >= 0:
        while cast.marks(marks_r):  # a marker written just before the end
            pass
        os.close(marks_r)


def record(
    argv: Sequence[str],
    cast: Path,
    *,
    size: tuple[int, int] = (100, 30),
    env: dict[str, str] | None = None,
    feeder: Feeder | None = None,
    title: str = "edge-wizard",
    passthrough: bool = True,
    marks: bool = False,
) -> int:
    """Run ``argv`` in a pty of ``size``, write its output to ``cast``; return its exit code.

    ``feeder`` (for unattended recordings) gets a :class:`Terminal` (call it with bytes to type;
    ``wait_for(text)`` to wait for the screen) and runs in a thread; otherwise the user's keyboard
    is forwarded when stdin is a terminal. When the feeder raises, the program is stopped, the
    reason goes to stderr and the exit code is at least 1. ``marks``: the program's marker pipe
    (``EDGE_WIZARD_MARKS_FD``), each line of it a marker.
    """
    cols, rows = size
    child_env = dict(os.environ if env is None else env)
    child_env.update({"COLUMNS": str(cols), "LINES": str(rows), "TERM": child_env.get("TERM", "xterm-256color")})
    pid, fd, marks_r = _spawn(argv, child_env, marks)
    _set_size(fd, cols, rows)
    os.kill(pid, signal.SIGWINCH)
    start = time.monotonic()
    header = {
        "version": 2,
        "width": cols,
        "height": rows,
        "timestamp": int(time.time()),
        "title": title,
        "env": {"TERM": child_env["TERM"], "SHELL": "/bin/sh"},
    }
    stdin_tty = passthrough and feeder is None and sys.stdin.isatty()
    old_attrs = None
    if stdin_tty:
        old_attrs = termios.tcgetattr(sys.stdin.fileno())
        tty.setraw(sys.stdin.fileno())
    term = Terminal(fd)
    feeder_error: list[BaseException] = []
    if feeder is not None:
        _start_feeder(feeder, term, pid, feeder_error)
    try:
        with cast.open("w", encoding="utf-8") as out:
            out.write(json.dumps(header) + "\n")
            _pump(_Cast(out, start), fd, marks_r, term, stdin_tty=stdin_tty, passthrough=passthrough)
    finally:
        term._close()
        if old_attrs is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, old_attrs)
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if feeder_error:
        print(f"edge-wizard: the scripted session stopped: {feeder_error[0]}", file=sys.stderr, flush=True)
        return code if code > 0 else 1
    return code
