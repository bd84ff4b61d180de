"""wizard.sops.rules: a glob written where .sops.yaml wants a regular expression, as the regular expression meant."""

from __future__ import annotations

from wizard.sops import glob_to_regex


def test_glob_to_regex() -> None:
    assert glob_to_regex("manifests/*.yaml") == r"manifests/.*\.yaml$"
    assert glob_to_regex("**/*.enc.yaml") == r".*/.*\.enc\.yaml$"
