"""The prerequisites step: age key, .sops.yaml and the cluster's sops Secret (issue 12).

Real age-keygen and sops; no cluster here (tests/e2e/test_prerequisites_cluster.py has that).
``apply_prepare`` below is what the engine does (see the step's docstring): run the prepare
actions after confirmation, then plan again.
"""

from __future__ import annotations

import difflib
import os
import stat
import subprocess
from pathlib import Path

import pytest

from wizard import agekey, sops, yamlio
from wizard.engine import Engine, RunOptions
from wizard.errors import StepFailed, UserError
from wizard.events import Hint, Info, Warning
from wizard.kube import KubeConnector
from wizard.outside import CreateAgeKey, CreateClusterSecret, ensure_no_pending, kubectl_command, prerequisite_actions
from wizard.plan import Plan
from wizard.sopsconfig import PENDING_RECIPIENT, plan_sops_config
from wizard.steps import NAMES

from support.agekeys import default_key_path, make_age_key
from support.repos import git, make_guide_repo
from support.tools import require_tool

pytestmark = pytest.mark.usefixtures("_default_sops_locations")  # tests/conftest.py

PROBE = "manifests/infrastructure/external-dns/hetzner-token.yaml"
REGEX = r"^manifests/.*\.ya?ml$"
R1 = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
R2 = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"


def engine(repo: Path, answers: Path) -> Engine:
    return Engine(repo=repo, answers_file=str(answers))


def apply_prepare(e: Engine, steps: list[str]) -> tuple[Plan, list]:
    """What engine.run does first: the prepare actions, then a new plan."""
    events: list = []
    e.plan(steps)
    assert e.layout is not None and e.answers is not None
    for action in prerequisite_actions(e.layout, e.answers, cluster=False).prepare:
        action.apply(events.append)
    plan = e.plan(steps)
    ensure_no_pending(plan)
    return plan, events


def sops_yaml(plan: Plan) -> str | None:
    return next((c.new for c in plan.pending if c.path == ".sops.yaml"), None)


# -- 1. the age key -------------------------------------------------------------------------------
def test_no_key_plan_announces_it_and_prepare_creates_it_0600(tmp_path: Path, answers_file: Path) -> None:
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    e = engine(repo, answers_file)
    first = e.plan(["prerequisites"])
    key_file = default_key_path()
    assert not key_file.exists()  # plan wrote nothing
    assert any(str(key_file) in w and "Back that file up" in w for w in first.warnings)
    assert PENDING_RECIPIENT in (sops_yaml(first) or "")
    with pytest.raises(StepFailed, match="placeholder"):
        ensure_no_pending(first)  # the engine refuses to write this plan
    assert first.step_state("prerequisites") == "new"

    plan, events = apply_prepare(e, ["prerequisites"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    recipient = subprocess.run(
        [require_tool("age-keygen"), "-y", str(key_file)], capture_output=True, text=True, check=True
    ).stdout.strip()
    text = sops_yaml(plan)
    assert text is not None and f"age: {recipient}\n" in text
    assert any(isinstance(ev, Info) and str(key_file) in ev.message for ev in events)
    assert any(isinstance(ev, Warning) and "Back up" in ev.message for ev in events)
    secret_text = key_file.read_text()
    assert all("AGE-SECRET-KEY" not in getattr(ev, "message", "") for ev in events)
    assert secret_text.split("AGE-SECRET-KEY-")[1][:20] not in repr(events)


def test_existing_key_is_reused_and_not_touched(tmp_path: Path, answers_file: Path) -> None:
    key = make_age_key(default_key_path().parent, "keys.txt")
    before = key.path.read_bytes(), key.path.stat().st_mtime_ns
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    e = engine(repo, answers_file)
    plan = e.plan(["prerequisites"])
    assert not any("No age key" in w for w in plan.warnings)
    assert f"age: {key.recipient}\n" in (sops_yaml(plan) or "")
    assert prerequisite_actions(e.layout, e.answers).prepare == []
    assert (key.path.read_bytes(), key.path.stat().st_mtime_ns) == before


def test_sops_age_key_file_is_the_key_used(tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_age_key(default_key_path().parent, "keys.txt")  # present, but SOPS_AGE_KEY_FILE wins
    mine = make_age_key(tmp_path / "elsewhere", "flux.agekey")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(mine.path))
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    plan = engine(repo, answers_file).plan(["prerequisites"])
    assert f"age: {mine.recipient}\n" in (sops_yaml(plan) or "")


def test_missing_sops_age_key_file_is_created_where_it_points(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keys" / "deep" / "flux.agekey"
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(target))
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    plan, _ = apply_prepare(engine(repo, answers_file), ["prerequisites"])
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not default_key_path().exists()
    assert f"age: {agekey.recipients_of(target)[0]}\n" in (sops_yaml(plan) or "")


@pytest.mark.parametrize("inside", ["keys.txt", "sub/keys.txt", "link/keys.txt"])
def test_a_key_file_inside_the_repo_is_refused(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "link").symlink_to(repo)  # a path outside that resolves into the repository
    path = (outside / inside) if inside.startswith("link") else (repo / inside)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(path))
    e = engine(repo, answers_file)
    with pytest.raises(UserError, match="inside the repository"):
        e.plan(["prerequisites"])
    with pytest.raises(UserError, match="inside the repository"):
        CreateAgeKey(path, repo).apply(lambda ev: None)
    with pytest.raises(UserError, match="inside the repository"):
        agekey.create_key(path, repo)
    assert not path.exists() and not (repo / "keys.txt").exists()


def test_create_key_never_overwrites(tmp_path: Path) -> None:
    key = make_age_key(tmp_path / "k", "keys.txt")
    before = key.path.read_bytes()
    with pytest.raises(UserError, match="already exists"):
        agekey.create_key(key.path, tmp_path / "repo")
    assert key.path.read_bytes() == before


def test_default_location_follows_sops(tmp_path: Path) -> None:
    assert agekey.default_keys_file({"HOME": "/h"}, "linux") == Path("/h/.config/sops/age/keys.txt")
    assert agekey.default_keys_file({"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "linux") == Path("/x/sops/age/keys.txt")
    assert agekey.default_keys_file({"HOME": "/h", "XDG_CONFIG_HOME": "rel"}, "linux") == Path(
        "/h/.config/sops/age/keys.txt"
    )  # Go ignores a relative XDG_CONFIG_HOME
    assert agekey.default_keys_file({"HOME": "/h"}, "darwin") == Path(
        "/h/Library/Application Support/sops/age/keys.txt"
    )
    assert agekey.default_keys_file({"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "darwin") == Path("/x/sops/age/keys.txt")


def test_identity_for_picks_only_the_matching_key(tmp_path: Path) -> None:
    a = make_age_key(tmp_path / "a")
    b = make_age_key(tmp_path / "b")
    both = tmp_path / "both.txt"
    both.write_text(a.path.read_text() + b.path.read_text())
    key = agekey.locate({"SOPS_AGE_KEY_FILE": str(both)})
    assert key.recipients == (a.recipient, b.recipient)
    ident = agekey.identity_for(key, b.recipient)
    assert b.identity in ident.text and a.identity not in ident.text
    assert b.identity not in repr(ident) and b.identity not in str(ident)


# -- 2. .sops.yaml ---------------------------------------------------------------------------------
GUIDE_2023 = f"""\
creation_rules:
  # everything flux applies
  - path_regex: manifests/*.yaml           # blog version
    encrypted_regex: ^(data|stringData)$
    age: >-
      {R1},
      {R2}
  - path_regex: talosconfig   # talos client config
    encrypted_regex: ^key$
    age: {R2}
"""


def test_missing_sops_yaml_is_created_with_a_regex_that_matches_nested_paths(tmp_path: Path) -> None:
    edit = plan_sops_config(None, PROBE, REGEX, R1)
    assert edit.text is not None and not edit.problems
    rules = yamlio.load_plain(edit.text)[0]["creation_rules"]
    assert rules == [{"path_regex": REGEX, "encrypted_regex": "^(data|stringData)$", "age": R1}]
    assert edit.text.startswith("# sops creation rules")  # the commented template
    # wizard.sops (the same checks the external-dns step runs) accepts it for the nested path
    (tmp_path / ".sops.yaml").write_text(edit.text)
    res = sops.resolve(tmp_path, PROBE)
    assert res.rule.age == [R1] and res.rule.index == 1


FIXED_2023 = GUIDE_2023.replace("manifests/*.yaml           #", "manifests/.*\\.yaml$        #")


def test_glob_rule_is_fixed_in_place_keeping_other_rules_and_comments() -> None:
    edit = plan_sops_config(GUIDE_2023, PROBE, REGEX, R1)
    assert edit.text == FIXED_2023 != GUIDE_2023
    assert any("shell glob" in e for e in edit.edits) and not edit.problems


def test_dot_slash_glob_rule_is_fixed_too() -> None:
    text = GUIDE_2023.replace("manifests/*.yaml  ", "./manifests/*.yaml")
    edit = plan_sops_config(text, PROBE, REGEX, R1)
    assert edit.text == FIXED_2023


def test_missing_comma_between_recipients_is_fixed() -> None:
    broken = FIXED_2023.replace(f"{R1},", R1)
    edit = plan_sops_config(broken, PROBE, REGEX, R1)
    assert edit.text == FIXED_2023
    assert yamlio.load_plain(edit.text)[0]["creation_rules"][0]["age"] == f"{R1}, {R2}"
    assert any("comma" in e for e in edit.edits)


def test_missing_comma_in_a_plain_value_is_fixed() -> None:
    text = f"creation_rules:\n- path_regex: manifests/.*\\.yaml$\n  encrypted_regex: ^(data|stringData)$\n  age: {R1} {R2}\n"
    edit = plan_sops_config(text, PROBE, REGEX, R1)
    assert edit.text == text.replace(f"{R1} {R2}", f"{R1},{R2}")


def test_no_rule_for_the_manifests_appends_one_after_the_existing_ones() -> None:
    text = f"""\
# my rules
creation_rules:
  - path_regex: talosconfig   # talos
    encrypted_regex: ^key$
    age: {R2}
  - path_regex: ^secrets/.*\\.yaml$
    encrypted_regex: ^(data|stringData)$
    pgp: 0123456789ABCDEF0123456789ABCDEF01234567
"""
    edit = plan_sops_config(text, PROBE, REGEX, R1)
    assert edit.text is not None and edit.path == PROBE
    rules = yamlio.load_plain(edit.text)[0]["creation_rules"]
    # the existing rules first, in their order and with their options; the new one last
    assert rules[:2] == yamlio.load_plain(text)[0]["creation_rules"]
    assert rules[2] == {"path_regex": REGEX, "encrypted_regex": "^(data|stringData)$", "age": R1}
    assert edit.text.startswith(text)  # byte-identical up to the appended rule
    assert "# my rules\n" in edit.text and "# talos\n" in edit.text
    # no existing line was changed: only three were added, at the end
    delta = [ln for ln in difflib.ndiff(text.splitlines(), edit.text.splitlines()) if ln[:2] in ("+ ", "- ")]
    assert delta == [f"+   - path_regex: {REGEX}", "+     encrypted_regex: ^(data|stringData)$", f"+     age: {R1}"]
    assert "rule #3" in edit.why


def test_rule_without_recipients_gets_the_local_key_and_encrypted_regex() -> None:
    text = "creation_rules:\n  - path_regex: manifests/.*\\.yaml$\n"
    edit = plan_sops_config(text, PROBE, REGEX, R1)
    rule = yamlio.load_plain(edit.text or "")[0]["creation_rules"][0]
    assert rule == {"path_regex": r"manifests/.*\.yaml$", "age": R1, "encrypted_regex": "^(data|stringData)$"}


def test_good_config_is_left_alone_and_problems_are_reported_not_rewritten() -> None:
    good = FIXED_2023
    assert plan_sops_config(good, PROBE, REGEX, R1).text is None
    leaky = good.replace("^(data|stringData)$", "^(data|stringData|metadata)$", 1)
    edit = plan_sops_config(leaky, PROBE, REGEX, R1)
    assert edit.text is None and any("metadata" in p for p in edit.problems)


def test_all_good_is_up_to_date(tmp_path: Path, answers_file: Path) -> None:
    key = make_age_key(default_key_path().parent, "keys.txt")
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=key.recipient)
    plan = engine(repo, answers_file).plan(["prerequisites"])
    assert plan.step_state("prerequisites") == "up to date"
    assert [c.path for c in plan.pending] == [".edge-wizard.yaml"]
    assert plan.warnings == []


def test_fixed_glob_in_a_repo_shows_the_exact_edit(tmp_path: Path, answers_file: Path) -> None:
    key = make_age_key(default_key_path().parent, "keys.txt")
    repo = make_guide_repo(tmp_path / "repo", style="2024", sops_rule="manifests/*.yaml", age_recipient=key.recipient)
    plan = engine(repo, answers_file).plan(["prerequisites"])
    assert plan.step_state("prerequisites") == "changes"
    diff = next(c for c in plan.pending if c.path == ".sops.yaml").diff()
    assert "-  - path_regex: manifests/*.yaml\n+  - path_regex: manifests/.*\\.yaml$\n" in diff


def test_other_recipients_than_the_local_key_are_warned_about(tmp_path: Path, answers_file: Path) -> None:
    make_age_key(default_key_path().parent, "keys.txt")
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=R1)
    plan = engine(repo, answers_file).plan(["prerequisites"])
    assert any("holds no private key of the recipients" in w and R1 in w for w in plan.warnings)


# -- 3. the cluster Secret without a cluster -------------------------------------------------------
def test_no_cluster_prints_the_kubectl_command_reading_the_key_by_path(tmp_path: Path, answers_file: Path) -> None:
    key = make_age_key(default_key_path().parent, "keys.txt")
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=key.recipient)
    e = engine(repo, answers_file)
    e.plan(["prerequisites"])
    actions = prerequisite_actions(e.layout, e.answers, cluster=False, kube=KubeConnector(context="prod"))
    [action] = actions.cluster
    assert "--no-cluster" in action.describe()
    events: list = []
    action.apply(events.append)
    hints = [ev for ev in events if isinstance(ev, Hint)]
    assert len(hints) == 1
    assert hints[0].message.endswith(
        f"kubectl --context prod -n flux-system create secret generic sops-age --from-file=age.agekey={key.path}"
    )
    assert key.identity not in repr(events)


def test_unreachable_cluster_falls_back_to_the_command(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_age_key(default_key_path().parent, "keys.txt")
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=key.recipient)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: x}}]\ncontexts: [{name: dead, context: {cluster: c, user: u}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    action = CreateClusterSecret("sops-age", repo, PROBE, kube=KubeConnector(timeout=3))
    assert "https://127.0.0.1:9 (context dead" in action.describe()  # names the target before writing
    events: list = []
    action.apply(events.append)
    assert any(isinstance(ev, Warning) and "127.0.0.1:9" in ev.message for ev in events)
    assert any(isinstance(ev, Hint) and "kubectl --context dead -n flux-system" in ev.message for ev in events)


def test_kubectl_command_for_the_env_key_pipes_it() -> None:
    key = agekey.AgeKey(path=None, origin="SOPS_AGE_KEY", exists=True, recipients=(R1,))
    assert kubectl_command("sops-gpg", key, None) == (
        "printenv SOPS_AGE_KEY | kubectl -n flux-system create secret generic sops-gpg "
        "--from-file=age.agekey=/dev/stdin"
    )


# -- the whole flow: nothing private in the repository or its history ------------------------------
def test_first_time_flow_commits_no_private_key(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("sops")
    if "cluster" not in RunOptions.__dataclass_fields__:
        pytest.skip("needs the engine patch from the prerequisites report (sops must see the new .sops.yaml)")
    repo = make_guide_repo(tmp_path / "repo", style="2023")  # no .sops.yaml, decryption secret sops-gpg
    e = engine(repo, answers_file)
    steps = ["prerequisites", "external-dns"]
    plan, _ = apply_prepare(e, steps)
    monkeypatch.setenv("T", "tok3n-prereq-0123456789")
    events = list(
        e.run(
            plan,
            RunOptions(commit=True, push=False, token="tok3n-prereq-0123456789"),
        )
    )
    assert any(type(ev).__name__ == "Committed" for ev in events)
    assert git(repo, "status", "--porcelain") == ""
    assert ".sops.yaml" in git(repo, "show", "--name-only", "--format=", "HEAD").splitlines()

    key_file = default_key_path()
    identity = next(ln for ln in key_file.read_text().splitlines() if ln.startswith("AGE-SECRET-KEY-"))
    # the working tree
    for p in repo.rglob("*"):
        if p.is_file() and ".git" not in p.relative_to(repo).parts:
            data = p.read_bytes()
            assert b"AGE-SECRET-KEY" not in data and identity.encode() not in data, p
    # every blob of every commit
    objects = git(repo, "rev-list", "--all", "--objects").splitlines()
    for line in objects:
        sha = line.split()[0]
        if git(repo, "cat-file", "-t", sha) == "blob":
            assert "AGE-SECRET-KEY" not in git(repo, "cat-file", "-p", sha)
    assert "AGE-SECRET-KEY" not in git(repo, "log", "-p", "--all")
    # and the Secret really decrypts with the created key
    out = subprocess.run(
        [require_tool("sops"), "decrypt", PROBE],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "SOPS_AGE_KEY_FILE": str(key_file)},
        check=True,
    ).stdout
    assert yamlio.load_plain(out)[0]["stringData"] == {"HETZNER_API_KEY": "tok3n-prereq-0123456789"}


def test_step_is_registered_first() -> None:
    assert NAMES[0] == "prerequisites"


def test_no_key_is_created_when_sops_yaml_already_works(tmp_path: Path, answers_file: Path) -> None:
    """A set-up repository on a new machine: .sops.yaml names the team's keys; no local key is made."""
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=R1)
    e = engine(repo, answers_file)
    plan = e.plan(["prerequisites"])
    assert plan.step_state("prerequisites") == "up to date"
    assert not any("No age key" in w for w in plan.warnings)
    assert prerequisite_actions(e.layout, e.answers).prepare == []
    assert not default_key_path().exists()


def test_the_printed_command_never_names_a_key_file_that_is_not_there(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_age_key(tmp_path / "keys", "k.txt")
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=key.recipient)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", "~/nowhere/keys.txt")  # `~` as people write it
    e = engine(repo, answers_file)
    e.plan(["prerequisites"])
    [action] = prerequisite_actions(e.layout, e.answers, cluster=False, kube=KubeConnector()).cluster
    events: list = []
    action.apply(events.append)
    [hint] = [ev for ev in events if isinstance(ev, Hint)]
    home = os.environ["HOME"]
    assert f"There is no age key at {home}/nowhere/keys.txt" in hint.message
    assert "=~" not in hint.message and "nowhere/keys.txt\n" not in hint.message
    assert hint.message.endswith("--from-file=age.agekey=KEYFILE")
    # it says it did not look, and how to look
    assert "did not look in the cluster (--no-cluster)" in hint.message
    assert "kubectl -n flux-system get secret sops-age" in hint.message
    # an existing key file: its expanded path
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    events.clear()
    action.apply(events.append)
    [hint] = [ev for ev in events if isinstance(ev, Hint)]
    assert hint.message.endswith(f"--from-file=age.agekey={key.path}") and key.path.is_file()


def test_an_existing_cluster_secret_is_checked_for_a_key_of_the_rule(tmp_path: Path) -> None:
    import base64

    from wizard.outside import secret_key_verdict

    ours = make_age_key(tmp_path / "a")
    theirs = make_age_key(tmp_path / "b")
    b64 = lambda k: base64.b64encode(k.path.read_bytes()).decode()  # noqa: E731
    where = "flux-system/sops-age in cluster c"
    ok, msg = secret_key_verdict({"age.agekey": b64(ours)}, [ours.recipient], "sops-age", where, PROBE)
    assert ok and ours.recipient in msg and "kept as is" in msg
    ok, msg = secret_key_verdict({"age.agekey": b64(theirs)}, [ours.recipient], "sops-age", where, PROBE)
    assert not ok
    assert theirs.recipient in msg and ours.recipient in msg and "failed to decrypt" in msg
    assert "kubectl -n flux-system edit secret sops-age" in msg and "sops updatekeys" in msg
    assert ours.identity not in msg and theirs.identity not in msg
    ok, msg = secret_key_verdict({"sops.asc": "eA=="}, [ours.recipient], "sops-gpg", where, PROBE)
    assert ok and "not compared" in msg
