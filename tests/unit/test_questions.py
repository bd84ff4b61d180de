"""The question declarations (wizard.questions): validators shared with the answers file and the CLI."""

from __future__ import annotations


def test_questions_and_cli_share_the_token_validator() -> None:
    from wizard import questions
    from wizard.providers.tokens import token_problem

    q = next(q for q in questions.QUESTIONS if q.key == "token")
    for bad in ("tökén-12345678", "x" * 200, "short"):
        assert q.validate(bad, {"dns_provider": "hetzner"}) == token_problem(bad, "hetzner") is not None
    assert q.validate("A" * 64, {"dns_provider": "hetzner"}) is None
