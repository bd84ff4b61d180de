"""The answers schema: every error names the key and what is accepted; the token never goes in."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard import answers
from wizard.errors import UserError

from support.repos import make_guide_repo


@pytest.mark.parametrize(
    "domain, fragment",
    [
        ("Example.com", "lower case: example.com"),
        ("example.com.", "without the trailing dot"),
        ("localhost", "single label"),
        ("https://example.com", "looks like a URL"),
        ("-bad.example.com", "'-bad'"),
        ("a_b.example.com", "'a_b'"),
        ("10.0.0.1", "IP address"),
        ("x" * 64 + ".com", "1 to 63"),
    ],
)
def test_bad_domain_names_the_key_and_the_fix(domain: str, fragment: str) -> None:
    with pytest.raises(UserError) as exc:
        answers.build({"domain": domain})
    assert "domain" in str(exc.value)
    assert fragment in str(exc.value)


@pytest.mark.parametrize("domain", ["example.com", "k8s.example.com", "a-b.c-d.example.co.uk", "xn--bcher-kva.example"])
def test_good_domains(domain: str) -> None:
    assert answers.build({"domain": domain}).domain == domain


def test_zone_must_be_a_suffix_of_the_domain() -> None:
    with pytest.raises(UserError, match="zone 'example.org' is not a suffix of domain 'k8s.example.com'"):
        answers.build({"domain": "k8s.example.com", "zone": "example.org"})


def test_zone_defaults_to_the_registrable_domain() -> None:
    a = answers.build({"domain": "apps.k8s.example.co.uk"})
    assert a.resolved_zone == "example.co.uk"
    assert a.resolved_host == "podinfo.apps.apps.k8s.example.co.uk"


@pytest.mark.parametrize("email", ["ops", "ops@", "@example.com", "ops@example", "o p@example.com"])
def test_bad_email(email: str) -> None:
    with pytest.raises(UserError, match="email .* is not an e-mail address"):
        answers.build({"email": email})


def test_provider_lists_accepted_values() -> None:
    with pytest.raises(UserError, match="dns_provider is 'route53'. Accepted: hetzner, cloudflare"):
        answers.build({"dns_provider": "route53"})


def test_smoke_test_host_outside_zone_is_refused() -> None:
    with pytest.raises(UserError, match="outside the zone"):
        answers.build({"domain": "k8s.example.com", "zone": "example.com", "smoke_test_host": "podinfo.other.net"})


def test_token_in_answers_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("domain: example.com\ntoken: abc\n")
    with pytest.raises(UserError, match="must never be written to a file") as exc:
        answers.read_file(f)
    assert "abc" not in str(exc.value)


def test_unknown_key_lists_accepted(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("domian: example.com\n")
    with pytest.raises(UserError, match="unknown key 'domian'. Accepted keys: domain"):
        answers.read_file(f)


def test_invalid_yaml_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("domain: [unclosed\n")
    with pytest.raises(UserError, match="is not valid YAML"):
        answers.read_file(f)


def test_state_file_round_trip_keeps_user_comments(guide_repo: Path) -> None:
    a = answers.build({"domain": "k8s.example.com", "email": "ops@example.com"})
    text = answers.render_state(a, None)
    assert "token" not in text.split("sops-encrypted Secret.")[1]
    edited = text.replace("email: ops@example.com", "email: ops@example.com  # keep me")
    assert answers.render_state(a, edited) == edited
    b = answers.build({"domain": "k8s.example.com", "email": "new@example.com"})
    changed = answers.render_state(b, edited)
    assert "new@example.com" in changed and "domain: k8s.example.com" in changed


def test_public_suffix_domain_is_refused() -> None:
    with pytest.raises(UserError, match="co.uk is a public suffix"):
        answers.build({"domain": "co.uk"})


def test_zone_question_default_survives_a_public_suffix() -> None:
    from wizard import questions

    zone_q = next(q for q in questions.QUESTIONS if q.key == "zone")
    assert zone_q.default_for({"domain": "co.uk"}) is None
    assert zone_q.default_for({"domain": "k8s.example.co.uk"}) == "example.co.uk"
    domain_q = next(q for q in questions.QUESTIONS if q.key == "domain")
    assert "public suffix" in domain_q.check("co.uk", {})


def test_ingress_controller_lists_both_and_has_no_fixed_default() -> None:
    with pytest.raises(UserError) as exc:
        answers.build({"ingress_controller": "nginx"})
    assert "ingress_controller is 'nginx'. Accepted: traefik, ingress-nginx." in str(exc.value)
    assert answers.build({}).ingress_controller is None  # the repository decides (wizard.controllers)
    assert answers.build({"ingress_controller": "traefik"}).to_mapping()["ingress_controller"] == "traefik"


@pytest.mark.parametrize("value", ["203.0.113.10", "2001:db8::10", "nodes.k8s.example.com"])
def test_ingress_address_accepts_ips_and_names(value: str) -> None:
    assert answers.build({"ingress_address": value}).ingress_address == value


@pytest.mark.parametrize("value", ["0.0.0.0", "http://203.0.113.10", "nodes", "203.0.113.10:80"])
def test_ingress_address_refuses_what_no_client_can_reach(value: str) -> None:
    with pytest.raises(UserError) as exc:
        answers.build({"ingress_address": value})
    assert "ingress_address" in str(exc.value) and "public IP" in str(exc.value)


def test_relative_paths_are_normalised(guide_repo: Path, tmp_path: Path) -> None:
    from wizard import answers

    a = answers.build(answers._flatten({"paths": {"components": "./manifests/infrastructure/"}}, "f"))
    assert a.paths == {"components": "manifests/infrastructure"}


def test_email_at_the_limits_is_accepted() -> None:
    from wizard import answers

    email = "o" * 64 + "@" + "e" * 60 + ".example.com"
    assert answers.build({"email": email}).email == email


def test_changed_answers_are_checked_like_the_answers_file() -> None:
    given = answers.build({"domain": "k8s.example.com", "email": "ops@example.com"})
    assert given.changed(zone="example.com").zone == "example.com"
    assert given.changed(zone=None) == given  # None changes nothing, as in the file
    assert given.changed(zone="example.com") is not given and given.zone is None
    with pytest.raises(UserError, match="not a suffix of domain"):
        given.changed(zone="example.org")
    with pytest.raises(TypeError, match="not an answer: zoen"):
        given.changed(zoen="example.com")


# -- said once: the zone rule, the host rule, the answer keys ---------------------------------------
@pytest.mark.parametrize(
    ("domain", "zone", "host", "zone_ok", "host_ok"),
    [
        ("k8s.example.com", "example.com", "podinfo.apps.k8s.example.com", True, True),
        ("example.com", "example.com", "example.com", True, True),
        ("k8s.example.com", "example.org", "podinfo.example.org", False, True),
        ("k8s.example.com", "ample.com", "podinfo.example.com", False, False),  # a suffix, not a zone
    ],
)
def test_the_answers_file_and_the_questions_apply_one_zone_rule(
    domain: str, zone: str, host: str, zone_ok: bool, host_ok: bool
) -> None:
    from wizard import questions

    ask = {q.key: q for q in questions.QUESTIONS}
    said_by_question = ask["zone"].check(zone, {"domain": domain})
    assert (said_by_question is None) == zone_ok
    try:
        answers.build({"domain": domain, "zone": zone})
        said_by_file = None
    except UserError as exc:
        said_by_file = exc.message
    assert said_by_file == said_by_question  # the same rule, the same words
    if zone_ok:
        said = ask["smoke_test_host"].check(host, {"domain": domain, "zone": zone})
        assert (said is None) == host_ok
        try:
            answers.build({"domain": domain, "zone": zone, "smoke_test_host": host})
        except UserError as exc:
            assert exc.message == said
        else:
            assert said is None


@pytest.mark.parametrize(
    ("host", "proven"),
    [
        (" Podinfo.Apps.Example.com. ", "podinfo.apps.example.com"),
        ("not a host", None),
        ("10.0.0.1", None),  # an address: the proof asks for a name's certificate
        ("podinfo", None),  # one label
    ],
)
def test_the_proofs_host_follows_the_domain_rule(tmp_path: Path, host: str, proven: str | None) -> None:
    from wizard.flow.prove import target_of
    from wizard.repo import discover

    layout = discover(make_guide_repo(tmp_path / "repo"))
    ans = answers.build({"domain": "k8s.example.com"})
    if proven is None:
        with pytest.raises(UserError, match="is not a DNS name"):
            target_of(layout, ans, host, None)
    else:
        assert target_of(layout, ans, host, None).host == proven


def test_the_answer_keys_are_the_fields_of_answers(tmp_path: Path) -> None:
    from dataclasses import fields

    names = {f.name for f in fields(answers.Answers)}
    assert set(answers.ACCEPTED_KEYS) == names - {"webhook_rule"} | {"firewall"}
    assert set(answers.STATE_TEXT_KEYS) < set(answers.TEXT_KEYS) < names
    f = tmp_path / "a.yaml"
    f.write_text("domian: example.com\n")
    with pytest.raises(UserError, match="unknown key 'domian'. Accepted keys: domain, zone, email"):
        answers.read_file(f)
