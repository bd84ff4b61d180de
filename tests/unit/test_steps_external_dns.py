"""The external-dns step against guide-shaped repositories: what it writes, valid and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.engine import Engine, RunOptions
from wizard.errors import UserError

from support.repos import snapshot


def test_external_dns_refuses_plaintext_without_a_secret_writer(guide_repo: Path, answers_file: Path) -> None:
    from wizard.secrets import RefusingSecretWriter

    engine = Engine(
        repo=guide_repo, answers_file=str(answers_file), secret_writer=RefusingSecretWriter("no sops here.")
    )
    plan = engine.plan(["external-dns"])
    before = snapshot(guide_repo)
    with pytest.raises(UserError, match="never writes a plaintext Secret"):
        list(engine.run(plan, RunOptions(token="s3cr3t-token-value")))
    assert snapshot(guide_repo) == before
