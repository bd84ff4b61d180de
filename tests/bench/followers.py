"""The followers of the watch bench: processes whose printed lines are timestamped as they arrive,
with their CPU time (/proc, wait4) and peak RSS, and the matching of lines to status writes."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Follower:
    name: str
    argv: list[str]
    env: dict[str, str]
    lines: list[tuple[float, str]] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    rusage: Any = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=self.env
        )
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._read, args=(stream.fileno(),), daemon=True).start()

    def _read(self, fd: int) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            t = time.monotonic()
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self.lines.append((t, line.decode("utf-8", "replace")))

    def alive(self) -> bool:
        """Still running (without reaping it: wait4 collects its rusage later)."""
        assert self.proc is not None
        if self.proc.returncode is not None:
            return False
        return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None

    def wait_line(self, pred: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, line in list(self.lines):
                if pred(line):
                    return line
            if self.proc is not None and not self.alive():
                break
            time.sleep(0.02)
        tail = "\n".join(line for _, line in self.lines[-15:])
        raise TimeoutError(f"{self.name}: no expected line within {timeout}s; last lines:\n{tail}")

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def finish(self, sig: int | None = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if sig is not None and self.alive():
            self.proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.rusage = ru
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                return self.proc.returncode
            if time.monotonic() > deadline:
                self.proc.kill()
            time.sleep(0.02)


@dataclass
class Write:
    kind: str
    key: str  # what the followers' lines show of it
    final: bool  # a Ready status (what flux reconcile waits for)
    sent: float
    acked: float


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def match_latency(f: Follower, writes: list[Write], t0: float) -> list[float]:
    """For each write, the first line of ``f`` after it that shows it: ms from the PATCH sent."""
    out = []
    lines = [(t, line) for t, line in f.lines if t >= t0]
    for w in writes:
        for t, line in lines:
            if t < w.sent or w.key not in line:
                continue
            if f.name == "edge-wizard" and f"{w.kind} " not in line:
                continue
            if f.name == "flux-reconcile" and ("fetched" if w.kind == "GitRepository" else "applied") not in line:
                continue
            out.append((t - w.sent) * 1000)
            break
    return out


def summary(values: list[float]) -> tuple[float, float]:
    return (statistics.median(values), pct(values, 95)) if values else (float("nan"), float("nan"))
