"""wizard.sops.naming: the token's file is named so the repository's own creation rule matches it.

Every expected name is also checked against the real sops (``sops encrypt --filename-override``
picks the rule the same way), so the matcher is not only checked against itself.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from wizard import yamlio
from wizard.errors import UserError
from wizard.sops import resolve
from wizard.sops.naming import candidates, first_rule, infixes, name_new_file, rules_of
from wizard.sopsconfig import PENDING_RECIPIENT, plan_sops_config

from support.agekeys import make_age_key
from support.realrepos import CLUSTER_TEMPLATE, fixture
from support.tools import require_tool

R1 = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
R2 = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"
FOLDER = "kubernetes/apps/network/external-dns/app"
REGEX = r"^kubernetes/.*\.ya?ml$"


def ct_sops_yaml() -> str:
    return (fixture(CLUSTER_TEMPLATE) / ".sops.yaml").read_text(encoding="utf-8")


def rules(text: str) -> list:
    found = rules_of(text)
    assert found is not None
    return found


# -- the naming ----------------------------------------------------------------------------------
def test_cluster_template_rules_name_the_token_sops_yaml() -> None:
    n = name_new_file(rules(ct_sops_yaml()), FOLDER, "cloudflare-api-token")
    assert n.path == f"{FOLDER}/cloudflare-api-token.sops.yaml" and n.problem is None
    assert n.rule is not None and n.rule.index == 2  # (bootstrap|kubernetes)/.*\.sops\.ya?ml
    assert "named cloudflare-api-token.sops.yaml, not cloudflare-api-token.yaml" in n.why
    assert "creation rule #2" in n.why and "mac_only_encrypted true" in n.why


@pytest.mark.parametrize(
    ("regex", "name"),
    [
        (r"\.secret\.yaml$", "hetzner-token.secret.yaml"),
        (r".*\.(sops|enc)\.ya?ml$", "hetzner-token.sops.yaml"),
        (r"^clusters/.*\.enc\.yaml$", "hetzner-token.enc.yaml"),
        (r"-vault\.yml$", "hetzner-token-vault.yml"),
        (r"_secrets\.yaml$", "hetzner-token_secrets.yaml"),
        (r"^clusters/.*\.yml$", "hetzner-token.yml"),
        (r"^clusters/", "hetzner-token.yaml"),  # the conventional name is matched: kept
        (None, "hetzner-token.yaml"),  # a rule without path_regex matches every file
    ],
)
def test_a_name_following_the_rule_is_found(regex: str | None, name: str) -> None:
    rule = f"  - path_regex: '{regex}'\n" if regex is not None else "  -"
    text = f"creation_rules:\n{rule}    encrypted_regex: ^(data|stringData)$\n    age: {R1}\n"
    if regex is None:
        text = f"creation_rules:\n  - encrypted_regex: ^(data|stringData)$\n    age: {R1}\n"
    n = name_new_file(rules(text), "clusters/prod/external-dns", "hetzner-token")
    assert n.path == f"clusters/prod/external-dns/{name}" and n.rule is not None and n.problem is None


def test_folder_names_in_a_regex_are_no_infixes() -> None:
    text = f"creation_rules:\n  - path_regex: talosconfig\n    age: {R1}\n  - path_regex: manifests/*.yaml\n    age: {R2}\n"
    assert infixes(rules(text)) == []
    assert candidates("t", rules(text)) == ["t.yaml", "t.yml"]


def test_the_first_matching_rule_wins_like_sops(tmp_path: Path) -> None:
    """The real sops picks the same rule for the chosen name (its --filename-override matching)."""
    sops = require_tool("sops")
    require_tool("age-keygen")
    a, b = make_age_key(tmp_path / "a"), make_age_key(tmp_path / "b")
    text = (
        "creation_rules:\n"
        f"  - path_regex: talos/.*\\.sops\\.ya?ml\n    age: {a.recipient}\n"
        f"  - path_regex: (bootstrap|kubernetes)/.*\\.sops\\.ya?ml\n    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {b.recipient}\n"
    )
    (tmp_path / ".sops.yaml").write_text(text)
    n = name_new_file(rules(text), FOLDER, "token")
    assert n.rule is not None and n.rule.age == [b.recipient]
    out = subprocess.run(
        [sops, "--config", ".sops.yaml", "encrypt", "--filename-override", n.path, "--input-type", "yaml"],
        input="apiVersion: v1\nkind: Secret\nstringData:\n  t: x\n",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert b.recipient in out and a.recipient not in out
    assert resolve(tmp_path, n.path).rule.index == n.rule.index


def test_an_existing_file_of_that_name_is_passed_over() -> None:
    taken = {f"{FOLDER}/cloudflare-api-token.sops.yaml"}
    n = name_new_file(rules(ct_sops_yaml()), FOLDER, "cloudflare-api-token", exists=taken.__contains__)
    assert n.path == f"{FOLDER}/cloudflare-api-token.sops.yml" and n.rule is not None and n.rule.index == 2
    taken.add(n.path)
    n = name_new_file(rules(ct_sops_yaml()), FOLDER, "cloudflare-api-token", exists=taken.__contains__)
    assert n.needs_rule  # no free name the rules match: a rule would be appended


def test_no_rule_for_any_name_needs_a_rule() -> None:
    n = name_new_file(rules(ct_sops_yaml()), "manifests/infrastructure/external-dns", "hetzner-token")
    assert n.needs_rule and n.path == "manifests/infrastructure/external-dns/hetzner-token.yaml"


def test_a_catch_all_rule_that_cannot_encrypt_the_token_is_a_problem_never_changed() -> None:
    # a working rule for the repository's own files (everything encrypted), first and matching everything
    text = f"creation_rules:\n  - path_regex: .*\n    age: {R1}\n  - path_regex: \\.sops\\.yaml$\n    age: {R2}\n"
    n = name_new_file(rules(text), FOLDER, "token")
    assert n.problem is not None and "no encrypted_regex" in n.problem and n.rule is not None and n.rule.index == 1
    edit = plan_sops_config(text, f"{FOLDER}/token.yaml", REGEX, R1)
    assert edit.text is None  # not changed, not appended (the catch-all would shadow a new rule)
    assert any("no encrypted_regex" in p for p in edit.problems)


def test_an_invalid_regex_before_any_match_stops_sops() -> None:
    text = f"creation_rules:\n  - path_regex: '(unclosed'\n    age: {R1}\n  - path_regex: .*\n    age: {R2}\n"
    rule, stop = first_rule(rules(text), "x.yaml")
    assert rule is None and stop is not None and "not a valid regular expression" in stop
    assert name_new_file(rules(text), "f", "x").problem is not None
    # a name that an earlier rule matches never reaches the invalid one, as in sops
    text = (
        f"creation_rules:\n  - path_regex: \\.sops\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {R2}\n"
        + text.removeprefix("creation_rules:\n")
    )
    n = name_new_file(rules(text), "f", "x")
    assert n.problem is None and n.path == "f/x.sops.yaml" and n.rule is not None and n.rule.index == 1


def test_the_placeholder_recipient_counts_as_a_recipient() -> None:
    text = f"creation_rules:\n  - path_regex: ^k/.*\n    encrypted_regex: ^(data|stringData)$\n    age: {PENDING_RECIPIENT}\n"
    assert name_new_file(rules(text), "k", "t").problem is not None  # not an age recipient as such
    n = name_new_file(rules(text), "k", "t", placeholder=PENDING_RECIPIENT)
    assert n.problem is None and n.path == "k/t.yaml" and "the age key created when you confirm" in n.why


# -- .sops.yaml keeps its rules --------------------------------------------------------------------
def test_cluster_template_sops_yaml_is_left_byte_identical() -> None:
    text = ct_sops_yaml()
    edit = plan_sops_config(text, f"{FOLDER}/cloudflare-api-token.yaml", REGEX, R1)
    assert edit.text is None and edit.edits == [] and edit.problems == []
    assert edit.path == f"{FOLDER}/cloudflare-api-token.sops.yaml" and "creation rule #2" in edit.why


def test_a_new_rule_is_appended_after_cluster_templates_rules() -> None:
    """Where no rule can match (a folder outside bootstrap/ and kubernetes/), the only change is an
    appended rule: the existing ones keep their order, options and bytes."""
    text = ct_sops_yaml()
    probe = "manifests/external-dns/cloudflare-api-token.yaml"
    edit = plan_sops_config(text, probe, r"^manifests/.*\.ya?ml$", R1)
    assert edit.text is not None and edit.path == probe
    old_rules = text[: text.index("stores:")]
    assert edit.text.startswith(old_rules)  # every byte of the rules before the new one
    new = yamlio.load_plain(edit.text)[0]
    assert new["creation_rules"][:2] == yamlio.load_plain(text)[0]["creation_rules"]
    assert new["creation_rules"][2] == {
        "path_regex": r"^manifests/.*\.ya?ml$",
        "encrypted_regex": "^(data|stringData)$",
        "age": R1,
    }
    assert new["stores"] == {"yaml": {"indent": 2}}
    assert "rule #3" in edit.why


def test_a_rule_without_keys_is_completed_but_a_rule_with_keys_is_never_changed() -> None:
    keyless = "creation_rules:\n  - path_regex: ^manifests/.*\\.yaml$\n"
    edit = plan_sops_config(keyless, "manifests/x/t.yaml", REGEX, R1)
    assert edit.text is not None and f"age: {R1}" in edit.text  # sops refuses a rule without keys
    keyed = f"creation_rules:\n  - path_regex: ^manifests/.*\\.yaml$\n    age: {R2}\n"
    edit = plan_sops_config(keyed, "manifests/x/t.yaml", REGEX, R1)
    assert edit.text is None  # no encrypted_regex added: that would change how its files are encrypted
    assert any("no encrypted_regex" in p for p in edit.problems)


def test_external_dns_refuses_a_rule_that_cannot_encrypt_the_token(tmp_path: Path) -> None:
    from wizard.plan import StepPlan, Workspace
    from wizard.sopsconfig import new_secret_file

    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: .*\n    age: {R1}\n")

    class Ctx:  # what new_secret_file reads: the workspace and the repository root
        ws = Workspace(tmp_path)

        class layout:
            root = tmp_path

    with pytest.raises(UserError) as err:
        new_secret_file(Ctx(), StepPlan("external-dns", "t"), "manifests/external-dns", "hetzner-token")  # type: ignore[arg-type]
    assert "no encrypted_regex" in err.value.message and "never changes the order or options" in err.value.message
