"""Test access to the guide-shaped repository builder (it lives in wizard.demo.sandbox for the demo)."""

from wizard.demo.sandbox import ANSWERS, GIT_ENV, git, gotk_sync, make_guide_repo, snapshot

__all__ = ["ANSWERS", "GIT_ENV", "git", "gotk_sync", "make_guide_repo", "snapshot"]
