"""``edge-wizard demo``: the whole flow on a throwaway sandbox. UI-free (the front ends live in
wizard.frontends and get the demo's options and services from here).

The sandbox (a temp folder) holds a guide-shaped repository, a bare "remote" it pushes to, an
answers file with example answers and, when ``sops`` and ``age-keygen`` are found, a fresh age key
(in the sandbox, never in ``~/.config``) with a ``.sops.yaml`` rule for it. Without them the
external-dns step is unavailable, visibly: no plaintext Secret is ever written.

The flow is the real one (:mod:`wizard.flow`) with the demo's services injected
(:mod:`wizard.demo.services`): the DNS token (:data:`DEMO_TOKEN`) is never checked with a provider
and the demo opens no network connection; the watch stage replays a recorded event timeline
(``assets/replay/edge.yaml``) and says so ("replay"). ``--script`` drives the TUI by itself in a
pseudo-terminal (:mod:`wizard.demo.script`), for unattended recordings.
"""

from wizard.demo.box import NEEDS_SOPS, NO_SOPS_NOTE, Sandbox, find_tool, make_sandbox, open_sandbox, tool_dirs
from wizard.demo.captions import CAPTIONS, captioned
from wizard.demo.replay import (
    REPLAY_LABEL,
    ReplayWatcher,
    Timeline,
    areplay,
    load_timeline,
    replay,
    replay_plan,
    timeline_path,
)
from wizard.demo.services import DEMO_TOKEN, TOKEN_NOTE, AutoDecisions, demo_services, run_unattended

__all__ = [
    "CAPTIONS",
    "DEMO_TOKEN",
    "NEEDS_SOPS",
    "NO_SOPS_NOTE",
    "REPLAY_LABEL",
    "TOKEN_NOTE",
    "AutoDecisions",
    "ReplayWatcher",
    "Sandbox",
    "Timeline",
    "areplay",
    "captioned",
    "demo_services",
    "find_tool",
    "load_timeline",
    "make_sandbox",
    "open_sandbox",
    "replay",
    "replay_plan",
    "run_unattended",
    "timeline_path",
    "tool_dirs",
]
