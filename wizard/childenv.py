"""THE one way to build a child process's environment; secrets leave ``os.environ`` when read.

GitPython starts git with a copy of ``os.environ`` (and git passes it on to hooks, credential
helpers and ``git-remote-http``), so the only robust way to keep a secret out of every child is to
keep it out of ``os.environ`` altogether:

* :func:`isolated` (the CLI wraps every command in it) takes ``SOPS_AGE_KEY*`` out of
  ``os.environ`` for the duration and holds them in memory; :func:`take` does the same for the
  ``--token-env`` variable the moment it is read (and registers the value with
  :mod:`wizard.redact`). Both are put back when the outermost ``isolated`` block ends.
* :func:`env` is the environment for a child started with ``subprocess``: ``os.environ`` without
  the held variables, without any variable whose value contains a registered secret, with git's
  prompts off. ``env(sops_keys=True)`` adds the held ``SOPS_AGE_KEY*`` back: only ``sops decrypt``
  asks for it. Nobody gets the token through the environment (sops reads it on stdin).
* :func:`get` / :func:`environ` read a variable wherever it is (held or not), for code that must
  know where the age key is (wizard.agekey).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping

from wizard import redact

SOPS_KEY_VARS = (
    "SOPS_AGE_KEY",
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
)
# values that are secrets themselves (the others are paths or commands)
_SECRET_VALUED = ("SOPS_AGE_KEY",)
NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}

_lock = threading.RLock()
_depth = 0
_held: dict[str, str] = {}  # name -> value, taken out of os.environ
_taken_names: set[str] = set()  # every name taken (also the token variable)


def _sweep() -> None:
    for name in SOPS_KEY_VARS:
        value = os.environ.pop(name, None)
        if value is not None:
            _held[name] = value
            _taken_names.add(name)
            if name in _SECRET_VALUED:
                redact.remember(value)


@contextlib.contextmanager
def isolated(token_var: str | None = None) -> Iterator[None]:
    """Hold ``SOPS_AGE_KEY*`` and ``token_var`` (the --token-env variable) out of ``os.environ`` for the block."""
    global _depth
    with _lock:
        _depth += 1
        _sweep()
        if token_var:
            take(token_var)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for name, value in _held.items():
                    os.environ.setdefault(name, value)
                _held.clear()
                _taken_names.clear()


def isolate() -> None:
    """Inside :func:`isolated`: take ``SOPS_AGE_KEY*`` set since (e.g. by the demo) out as well."""
    with _lock:
        if _depth > 0:
            _sweep()


def take(name: str) -> str | None:
    """Read an environment variable holding a secret and remove it from ``os.environ``.

    The value is registered with :mod:`wizard.redact`. Inside :func:`isolated` it is put back
    when the block ends; outside, it stays out (the process goes on without it).
    """
    with _lock:
        value = os.environ.pop(name, None)
        if value is None:
            value = _held.get(name)
        else:
            if _depth > 0:
                _held[name] = value
            _taken_names.add(name)
        redact.remember(value)
        return value


def get(name: str) -> str | None:
    """A variable's value whether it is held or still in ``os.environ``."""
    with _lock:
        value = os.environ.get(name)
        return value if value is not None else _held.get(name)


def environ() -> Mapping[str, str]:
    """``os.environ`` as if nothing were held (for locating the age key)."""
    with _lock:
        return {**_held, **os.environ}


def env(*, sops_keys: bool = False, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process (see the module docstring)."""
    with _lock:
        drop = set(SOPS_KEY_VARS) | _taken_names
        secrets = redact.secrets()
        out = {
            k: v
            for k, v in os.environ.items()
            if k not in drop and not any(s and s in v for s in secrets if len(s) >= 4)
        }
        out.update(NO_PROMPT)
        if sops_keys:
            for name in SOPS_KEY_VARS:
                value = get(name)
                if value:
                    out[name] = value
        if extra:
            out.update(extra)
        return out


__all__ = ["NO_PROMPT", "SOPS_KEY_VARS", "env", "environ", "get", "isolate", "isolated", "take"]
