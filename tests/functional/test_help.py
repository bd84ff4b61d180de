"""`edge-wizard --help` stays light: it imports neither the UI libraries nor the cluster, git or HTTP clients."""

from __future__ import annotations

from support.modules import UI_LIBS
from support.modules import loaded_after as _loaded_after


def test_help_imports_neither_textual_nor_lightkube() -> None:
    loaded = _loaded_after(
        "import sys\nfrom wizard.frontends import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass"
    )
    heavy = sorted(m for m in loaded if m.split(".")[0] in UI_LIBS + ("lightkube", "git", "httpx"))
    assert not heavy, heavy
