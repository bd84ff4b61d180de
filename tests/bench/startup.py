"""Command timings: ``edge-wizard steps`` / ``plan`` on the sandbox and the ~100-file repository,
``--help`` and the TUI's first frame, each next to ``python -c pass`` in the same venv.

Wall time of fresh processes, median of several runs after one warm-up run (so the page cache
and the bytecode caches are warm, as for a user's second command). The package's bytecode is
compiled first, as an installed package's is.

On a shared machine other processes' load stretches every wall time; as root the measured
commands (``python -c pass`` included) run under a real-time scheduling class (``chrt -f 10``)
so they get a core when they need one, as on an idle machine. ``BENCH_PRIORITY=0`` turns that
off; the results record which it was and the load average.
"""

from __future__ import annotations

import fcntl
import functools
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Timing:
    name: str
    runs: list[float]  # seconds

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs) * 1000


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("HOME", str(Path.home()))
    return env


@functools.cache
def priority() -> list[str]:
    """The command prefix that gives measured processes a core at once (empty: none)."""
    if os.environ.get("BENCH_PRIORITY", "1") == "0" or os.geteuid() != 0 or not shutil.which("chrt"):
        return []
    probe = subprocess.run(["chrt", "-f", "10", "true"], capture_output=True)
    return ["chrt", "-f", "10"] if probe.returncode == 0 else []


def compile_package(python: Path) -> None:
    subprocess.run([str(python), "-m", "compileall", "-q", str(ROOT / "wizard")], check=True, env=_env())


def _run_once(name: str, argv: list[str], env: dict[str, str], expect: int | None) -> float:
    t0 = time.perf_counter()
    res = subprocess.run([*priority(), *argv], capture_output=True, stdin=subprocess.DEVNULL, env=env)
    dt = time.perf_counter() - t0
    if expect is not None and res.returncode != expect:
        raise RuntimeError(f"{name}: {argv} exited {res.returncode}: {res.stderr.decode(errors='replace')[-800:]}")
    return dt


def time_command(name: str, argv: list[str], runs: int, *, expect: int | None = 0) -> Timing:
    return time_commands({name: argv}, runs, expect=expect)[name]


def time_commands(commands: dict[str, list[str]], runs: int, *, expect: int | None = 0) -> dict[str, Timing]:
    """Each command ``runs`` times, interleaved (a, b, a, b, ...) so that what they are compared
    with lives through the same moments of the machine; one warm-up run of each first."""
    env = _env()
    out: dict[str, list[float]] = {n: [] for n in commands}
    for i in range(runs + 1):
        for name, argv in commands.items():
            dt = _run_once(name, argv, env, expect)
            if i:  # the first round warms the caches
                out[name].append(dt)
    return {n: Timing(n, v) for n, v in out.items()}


def first_frame(argv: list[str], marker: bytes, runs: int, size: tuple[int, int] = (100, 30)) -> Timing:
    """Time from spawning ``argv`` in a pseudo-terminal to the first output holding ``marker``
    (text of the first screen, painted after Textual's terminal set-up sequences)."""
    env = {**_env(), "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    out: list[float] = []
    for i in range(runs + 1):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        t0 = time.perf_counter()
        p = subprocess.Popen(
            [*priority(), *argv], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        buf, dt = b"", None
        try:
            while time.perf_counter() - t0 < 60:
                ready, _, _ = select.select([master], [], [], 0.5)
                if not ready:
                    if p.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                if marker in buf:
                    dt = time.perf_counter() - t0
                    break
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            os.close(master)
        if dt is None:
            raise RuntimeError(f"no first frame ({marker!r}) from {argv}; output: {buf[-600:]!r}")
        if i:
            out.append(dt)
    return Timing("tui first frame", out)


def python_bin() -> Path:
    return Path(sys.executable)
