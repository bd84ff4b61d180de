"""Record an interactive session as an asciicast v2 file.

The session runs in a pseudo-terminal of a fixed size; only what the program *prints* is recorded
("o" events), never what is typed, so a token typed at a masked prompt cannot reach the
recording: the prompt echoes bullets (the Textual UI) or nothing (plain mode).
"""

from __future__ import annotations

import codecs
import errno
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
import tty
from pathlib import Path
from typing import Callable, Sequence

Feeder = Callable[[Callable[[bytes], None]], None]


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


def record(argv: Sequence[str], cast: Path, *, size: tuple[int, int] = (100, 30),
           env: dict[str, str] | None = None, feeder: Feeder | None = None,
           title: str = "edge-wizard", passthrough: bool = True) -> int:
    """Run ``argv`` in a pty of ``size``, write its output to ``cast``; return its exit code.

    ``feeder`` (for unattended recordings) gets a ``send(bytes)`` function and is run in a
    thread; otherwise the user's keyboard is forwarded when stdin is a terminal.
    """
    cols, rows = size
    child_env = dict(os.environ if env is None else env)
    child_env.update({"COLUMNS": str(cols), "LINES": str(rows), "TERM": child_env.get("TERM", "xterm-256color")})
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvpe(argv[0], list(argv), child_env)
        finally:
            os._exit(127)
    _set_size(fd, cols, rows)
    os.kill(pid, signal.SIGWINCH)
    start = time.monotonic()
    header = {"version": 2, "width": cols, "height": rows, "timestamp": int(time.time()),
              "title": title, "env": {"TERM": child_env["TERM"], "SHELL": "/bin/sh"}}
    stdin_tty = passthrough and feeder is None and sys.stdin.isatty()
    old_attrs = None
    if stdin_tty:
        old_attrs = termios.tcgetattr(sys.stdin.fileno())
        tty.setraw(sys.stdin.fileno())
    if feeder is not None:
        import threading

        threading.Thread(target=feeder, args=(lambda b: os.write(fd, b),), daemon=True).start()
    try:
        with cast.open("w", encoding="utf-8") as out:
            out.write(json.dumps(header) + "\n")
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            while True:
                watch = [fd] + ([sys.stdin.fileno()] if stdin_tty else [])
                try:
                    ready, _, _ = select.select(watch, [], [], 0.1)
                except InterruptedError:
                    continue
                if fd in ready:
                    try:
                        data = os.read(fd, 65536)
                    except OSError as exc:
                        if exc.errno == errno.EIO:
                            break
                        raise
                    if not data:
                        break
                    text = decoder.decode(data)
                    if text:
                        out.write(json.dumps([round(time.monotonic() - start, 6), "o", text]) + "\n")
                    if passthrough:
                        os.write(sys.stdout.fileno(), data)
                if stdin_tty and sys.stdin.fileno() in ready:
                    data = os.read(sys.stdin.fileno(), 1024)
                    if data:
                        os.write(fd, data)
    finally:
        if old_attrs is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, old_attrs)
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
