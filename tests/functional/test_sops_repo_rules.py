"""sops by the repository's rules (issue 27, part 6), whole commands on real repositories.

* the real fixtures (../shared/fixtures/real-repos): cluster-template, whose rules encrypt only
  ``(bootstrap|kubernetes)/.*\\.sops\\.ya?ml`` with ``mac_only_encrypted``, keeps its ``.sops.yaml``
  byte for byte and gets the token as ``<name>.sops.yaml``, decryptable with its own ``age.key``;
  the official example has no ``.sops.yaml`` and gets one (unchanged behaviour);
* hand-made repositories with an age rule for ``*.secret.yaml`` and a PGP rule for ``*.enc.yaml``
  (real gpg keyrings), each with and without the private key on this machine.

Real sops, age, gpg and git throughout; no cluster (``--no-cluster``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from wizard import yamlio
from wizard.engine import Engine
from wizard.errors import StepFailed
from wizard.frontends.cli import main
from wizard.plan import SecretChange

from support.adopt_repos import make_pgp_key
from support.agekeys import make_age_key
from support.realrepos import (
    CLUSTER_TEMPLATE,
    CLUSTER_TEMPLATE_KEY,
    CLUSTER_TEMPLATE_RECIPIENT,
    OFFICIAL_NEW,
    OFFICIAL_OLD,
    copy_real_repo,
    fixture,
)
from support.repos import git, make_guide_repo
from support.tools import require_tool

TOKEN = "cfT0kenAbcdefghijklmnopqrstuvwxyz0123456789"  # a fake Cloudflare API token (40 characters)
HCLOUD = "hcloudT0kenAbcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop"  # a fake Hetzner token
RUN = ["--yes", "--no-watch", "--no-cluster", "--skip-token-check", "--token-env", "T"]
FLAG = "--accept-foreign-recipients"
# cluster-template's layout until discovery finds it alone: the components are its kubernetes/apps
CT_ANSWERS = (
    "domain: k8s.example.com\nemail: ops@example.com\ndns_provider: cloudflare\n"
    "paths:\n  flux: kubernetes/apps/flux-system\n  components: kubernetes/apps\n"
)
ED = "manifests/infrastructure/external-dns"


@pytest.fixture(autouse=True)
def _tools(monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("sops")
    require_tool("age-keygen")
    monkeypatch.delenv("SOPS_CONFIG", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)


def run(repo: Path, answers: Path, *extra: str, token: str = TOKEN, steps: tuple[str, ...] = ()) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("T", token)  # the CLI takes it out of the environment itself
        return main(["run", *steps, "--repo", str(repo), "--answers", str(answers), *RUN, *extra])


def sops_decrypt(repo: Path, rel: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [require_tool("sops"), "decrypt", rel],
        cwd=repo,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return yamlio.load_plain(out)[0]


def sops_meta(repo: Path, rel: str) -> dict:
    return yamlio.load_plain((repo / rel).read_text(encoding="utf-8"))[0]["sops"]


def committed(repo: Path, rev: str = "HEAD") -> set[str]:
    return set(git(repo, "show", "--name-only", "--format=", rev).splitlines())


def planned_secret(repo: Path, answers: Path, steps: list[str]) -> SecretChange:
    """The token's SecretChange in the plan (where the external-dns step puts it is the layout's business)."""
    plan = Engine(repo=repo, answers_file=str(answers)).plan(steps)
    assert len(plan.secrets) == 1
    return plan.secrets[0]


# -- cluster-template ------------------------------------------------------------------------------
def without_its_external_dns(repo: Path) -> Path:
    """cluster-template as a user has it before enabling external-dns: no network/cloudflare-dns app
    (so the external-dns step writes a new token file instead of adopting the Secret it reads)."""
    import shutil

    shutil.rmtree(repo / "kubernetes/apps/network/cloudflare-dns")
    ks = repo / "kubernetes/apps/network/kustomization.yaml"
    ks.write_text(ks.read_text().replace("  - ./cloudflare-dns/ks.yaml\n", ""))
    git(repo, "commit", "-qam", "no external-dns yet")
    git(repo, "push", "-q", "origin", "main")
    return repo


@pytest.fixture
def ct(tmp_path: Path) -> tuple[Path, Path]:
    """cluster-template with its age.key at the root (git-ignored), as upstream keeps it."""
    repo = copy_real_repo(CLUSTER_TEMPLATE, tmp_path / "cluster-template")
    assert (repo / "age.key").is_file() and git(repo, "check-ignore", "age.key") == "age.key"
    answers = tmp_path / "answers.yaml"
    answers.write_text(CT_ANSWERS, encoding="utf-8")
    return repo, answers


@pytest.fixture
def ct_new(ct: tuple[Path, Path]) -> tuple[Path, Path]:
    return without_its_external_dns(ct[0]), ct[1]


def test_cluster_template_new_token_file_by_its_own_rule_and_key(
    ct_new: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """No SOPS_AGE_KEY_FILE (a user outside mise's shell): the git-ignored age.key at the root is found."""
    repo, answers = ct_new
    sops_yaml = (fixture(CLUSTER_TEMPLATE) / ".sops.yaml").read_bytes()
    rel = planned_secret(repo, answers, ["prerequisites", "external-dns"]).path
    assert rel.endswith("/cloudflare-api-token.sops.yaml") and rel.startswith("kubernetes/")
    before = git(repo, "rev-parse", "HEAD")

    assert run(repo, answers, steps=("prerequisites", "external-dns")) == 0, capsys.readouterr()
    out = capsys.readouterr()
    text = out.out + out.err
    # the rules that were there: same bytes, same order, same options
    assert (repo / ".sops.yaml").read_bytes() == sops_yaml
    # encrypted by rule #2: mac_only_encrypted, data/stringData only, for the fixture's recipient
    meta = sops_meta(repo, rel)
    assert meta["mac_only_encrypted"] is True and meta["encrypted_regex"] == "^(data|stringData)$"
    assert [a["recipient"] for a in meta["age"]] == [CLUSTER_TEMPLATE_RECIPIENT]
    doc = sops_decrypt(repo, rel, {"SOPS_AGE_KEY_FILE": str(repo / "age.key")})
    assert doc["stringData"] == {"CF_API_TOKEN": TOKEN}
    # one commit of the wizard's files: the key stays out of git, and was no leak warning
    assert git(repo, "rev-list", "--count", f"{before}..HEAD") == "1"
    assert rel in committed(repo) and "age.key" not in committed(repo)
    assert git(repo, "ls-files", "age.key") == "" and git(repo, "status", "--porcelain") == ""
    assert "inside the repository" not in text and "AGE-SECRET-KEY" not in text
    # the cluster's Secret comes from the repository: never created, never a replacing command
    assert "bootstrap/sops-age.sops.yaml" in text and "create secret generic" not in text
    commands = [line for line in text.splitlines() if "kubectl" in line]
    assert commands and not [c for c in commands if any(w in c for w in ("apply", "replace", "--dry-run", "delete"))]
    assert "sops --decrypt bootstrap/sops-age.sops.yaml | kubectl create -f -" in text

    # a re-run with the same token: decrypted with the repository's key, compared, nothing changes
    head = git(repo, "rev-parse", "HEAD")
    encrypted = (repo / rel).read_bytes()
    assert run(repo, answers, steps=("prerequisites", "external-dns")) == 0
    assert "already holds this token" in capsys.readouterr().out
    assert git(repo, "rev-parse", "HEAD") == head and (repo / rel).read_bytes() == encrypted


def test_cluster_template_adopted_token_secret_keeps_its_rule(
    ct: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As published: external-dns (network/cloudflare-dns) is adopted with the Secret it reads; the token
    given is compared through the repository's key and re-encrypted by the rule that matches that file."""
    repo, answers = ct
    sops_yaml = (repo / ".sops.yaml").read_bytes()
    secret = planned_secret(repo, answers, ["prerequisites", "external-dns"])
    assert secret.path == "kubernetes/apps/network/cloudflare-dns/app/secret.sops.yaml" and secret.exists
    assert run(repo, answers, steps=("prerequisites", "external-dns")) == 0, capsys.readouterr()
    assert (repo / ".sops.yaml").read_bytes() == sops_yaml  # no rule added for a guessed file
    assert sops_meta(repo, secret.path)["mac_only_encrypted"] is True
    doc = sops_decrypt(repo, secret.path, {"SOPS_AGE_KEY_FILE": str(repo / "age.key")})
    assert doc["stringData"] == {secret.key: TOKEN}
    assert "age.key" not in committed(repo)
    # without the key here, the Secret cannot be compared: it is kept, never re-encrypted blindly
    (repo / "age.key").rename(tmp_path / "elsewhere.key")
    head, encrypted = git(repo, "rev-parse", "HEAD"), (repo / secret.path).read_bytes()
    assert run(repo, answers, token=TOKEN[::-1], steps=("prerequisites", "external-dns")) == 0
    assert "--replace-token" in capsys.readouterr().err
    assert (repo / secret.path).read_bytes() == encrypted and git(repo, "rev-parse", "HEAD") == head


def test_cluster_template_plan_names_the_rule_and_the_key(ct_new: tuple[Path, Path], monkeypatch) -> None:
    repo, answers = ct_new
    plan = Engine(repo=repo, answers_file=str(answers)).plan(["prerequisites", "external-dns"])
    assert [c.path for c in plan.pending if c.path == ".sops.yaml"] == []
    notes: dict[str, str] = {}
    for step, note in plan.notes:  # every note of a step (a step may say several things)
        notes[step] = notes.get(step, "") + " " + note
    assert "named cloudflare-api-token.sops.yaml, not cloudflare-api-token.yaml" in notes["external-dns"]
    assert "creation rule #2" in notes["external-dns"]
    assert "age.key (git-ignored) holds the key of" in notes["prerequisites"]
    assert not plan.attention and not any("inside the repository" in w for w in plan.warnings)
    # SOPS_AGE_KEY_FILE pointing at it, as cluster-template's mise config sets it: sops finds it itself
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(repo / "age.key"))
    plan = Engine(repo=repo, answers_file=str(answers)).plan(["prerequisites", "external-dns"])
    assert "prerequisites" not in dict(plan.notes) and not plan.attention
    assert not any("inside the repository" in w for w in plan.warnings), plan.warnings


def test_cluster_template_without_its_key_asks_first_and_writes_only_when_accepted(
    ct_new: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, answers = ct_new
    key = tmp_path / "kept-elsewhere.key"
    (repo / "age.key").rename(key)
    head = git(repo, "rev-parse", "HEAD")
    rc = run(repo, answers, steps=("prerequisites", "external-dns"))
    err = capsys.readouterr().err
    assert rc == 2
    refusal = next(line for line in err.splitlines() if FLAG in line)
    assert "creation rule #2 (path_regex '(bootstrap|kubernetes)/.*\\\\.sops\\\\.ya?ml')" in refusal
    assert CLUSTER_TEMPLATE_RECIPIENT in refusal and "nothing was written" in refusal
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""

    assert run(repo, answers, FLAG, steps=("prerequisites", "external-dns")) == 0, capsys.readouterr()
    rel = next(p for p in committed(repo) if p.endswith("cloudflare-api-token.sops.yaml"))
    doc = sops_decrypt(repo, rel, {"SOPS_AGE_KEY_FILE": str(key)})
    assert doc["stringData"] == {"CF_API_TOKEN": TOKEN}


def test_cluster_template_decryption_secret_is_found_where_the_repository_sets_it(ct: tuple[Path, Path]) -> None:
    from wizard.outside import prerequisite_actions
    from wizard.sops.provision import decryption_secret

    repo, answers = ct
    e = Engine(repo=repo, answers_file=str(answers))
    layout, ans = e.load()
    found = decryption_secret(layout, ans)
    assert found is not None and found.name == "sops-age"
    assert "--sops-age-secret" in found.found_by and "flux-instance" in found.found_by
    assert found.provisioned_in == "bootstrap/sops-age.sops.yaml"
    assert "kubernetes/apps/network/cloudflare-dns/app/secret.sops.yaml" in found.others
    assert found.provisioned_in not in found.others
    (action,) = prerequisite_actions(layout, ans, cluster=False).cluster
    assert "never create or replace it" in action.describe() and "bootstrap/sops-age.sops.yaml" in action.describe()


def test_the_leak_guard_keeps_the_key_out_and_still_blocks_a_tracked_identity(ct: tuple[Path, Path]) -> None:
    from wizard.gitops import GitOps

    repo, _ = ct
    head = git(repo, "rev-parse", "HEAD")
    ops = GitOps(repo)
    # the ignored key itself: git will not stage it, nothing is committed
    with pytest.raises(StepFailed, match="git refused to stage"):
        ops.commit(["age.key"], ["prerequisites"])
    # the same identity in a file git does not ignore: the guard refuses it
    (repo / "kubernetes" / "notes.yaml").write_text((repo / "age.key").read_text(encoding="utf-8"))
    with pytest.raises(StepFailed, match="holds an age private key"):
        ops.commit(["kubernetes/notes.yaml"], ["prerequisites"])
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "ls-files", "age.key", "kubernetes/notes.yaml") == ""


def test_a_tracked_key_file_inside_the_repository_is_still_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = without_its_external_dns(copy_real_repo(CLUSTER_TEMPLATE, tmp_path / "ct"))
    (repo / ".gitignore").write_text((repo / ".gitignore").read_text().replace("/age.key\n", "").replace("*.key\n", ""))
    git(repo, "add", ".gitignore", "age.key")
    git(repo, "commit", "-qm", "oops")
    answers = tmp_path / "a.yaml"
    answers.write_text(CT_ANSWERS)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(repo / "age.key"))
    plan = Engine(repo=repo, answers_file=str(answers)).plan(["prerequisites"])
    assert any("is inside the repository" in w for w in plan.warnings)
    # and it is not taken as the repository's own key either (only a git-ignored file is)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    plan = Engine(repo=repo, answers_file=str(answers)).plan(["prerequisites", "external-dns"])
    assert plan.attention and plan.attention[0].attention_flag == FLAG


# -- the official example: no .sops.yaml, the wizard creates one ------------------------------------
@pytest.mark.parametrize("name", [OFFICIAL_NEW, OFFICIAL_OLD])
def test_official_example_gets_a_new_sops_yaml(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = copy_real_repo(name, tmp_path / "example")
    assert not (repo / ".sops.yaml").exists()
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "domain: k8s.example.com\nemail: ops@example.com\ndns_provider: hetzner\n"
        "paths:\n  flux: clusters/staging/flux-system\n",
        encoding="utf-8",
    )
    assert run(repo, answers, token=HCLOUD, steps=("prerequisites", "external-dns")) == 0, capsys.readouterr()
    rules = yamlio.load_plain((repo / ".sops.yaml").read_text())[0]["creation_rules"]
    assert len(rules) == 1 and rules[0]["encrypted_regex"] == "^(data|stringData)$"
    rel = next(p for p in committed(repo) if p.endswith("/hetzner-token.yaml"))  # the conventional name
    key = Path(os.environ["HOME"]) / ".config/sops/age/keys.txt"  # created by the run
    assert sops_decrypt(repo, rel, {"SOPS_AGE_KEY_FILE": str(key)})["stringData"] == {"HETZNER_API_KEY": HCLOUD}


# -- hand-made: an age rule for *.secret.yaml -------------------------------------------------------
AGE_RULES = """\
# this repository's rules: talos files whole, Kubernetes secrets named *.secret.yaml
creation_rules:
  - path_regex: ^talos/.*\\.ya?ml$
    mac_only_encrypted: true
    age: {talos}
  - path_regex: \\.secret\\.ya?ml$
    encrypted_regex: ^(data|stringData)$
    age: {k8s}
"""


@pytest.mark.parametrize("held", [True, False])
def test_age_rule_for_secret_yaml(
    held: bool, tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    talos, k8s = make_age_key(tmp_path / "talos"), make_age_key(tmp_path / "k8s")
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=k8s.recipient)
    text = AGE_RULES.format(talos=talos.recipient, k8s=k8s.recipient)
    (repo / ".sops.yaml").write_text(text)
    git(repo, "commit", "-qam", "rules for *.secret.yaml")
    if held:
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(k8s.path))
    else:  # this machine holds only the talos key
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(talos.path))
    rc = run(repo, answers_file, "--no-push", token=HCLOUD, steps=("prerequisites", "external-dns"))
    out = capsys.readouterr()
    rel = f"{ED}/hetzner-token.secret.yaml"
    if held:
        assert rc == 0, out
        assert (repo / ".sops.yaml").read_text() == text
        assert sops_decrypt(repo, rel, {"SOPS_AGE_KEY_FILE": str(k8s.path)})["stringData"] == {
            "HETZNER_API_KEY": HCLOUD
        }
        assert [a["recipient"] for a in sops_meta(repo, rel)["age"]] == [k8s.recipient]
        return
    assert rc == 2 and FLAG in out.err and k8s.recipient in out.err and "creation rule #2" in out.err
    assert "this machine holds the private key of none of them" in out.err and talos.recipient in out.err
    assert not (repo / rel).exists() and git(repo, "status", "--porcelain") == ""


# -- hand-made: a PGP rule for *.enc.yaml, real gpg keyrings ----------------------------------------
PGP_RULES = """\
creation_rules:
  - path_regex: .*\\.enc\\.yaml$
    encrypted_regex: ^(data|stringData)$
    pgp: {fpr}
"""


@pytest.mark.parametrize("keyring", ["secret", "public"])
def test_pgp_rule_for_enc_yaml(
    keyring: str, tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    require_tool("gpg")
    made = make_pgp_key(tmp_path / "gnupg-maker")
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    text = PGP_RULES.format(fpr=made.fingerprint)
    (repo / ".sops.yaml").write_text(text)
    git(repo, "add", ".sops.yaml")
    git(repo, "commit", "-qm", "pgp rules")
    home = made.home
    if keyring == "public":  # the public key only, as a colleague who can encrypt but not decrypt
        home = tmp_path / "gnupg-public"
        home.mkdir(mode=0o700)
        subprocess.run(
            ["gpg", "--batch", "--import"],
            input=made.public,
            text=True,
            env={**os.environ, "GNUPGHOME": str(home)},
            check=True,
            capture_output=True,
        )
    monkeypatch.setenv("GNUPGHOME", str(home))
    rel = f"{ED}/hetzner-token.enc.yaml"
    rc = run(repo, answers_file, "--no-push", token=HCLOUD, steps=("external-dns",))
    out = capsys.readouterr()
    if keyring == "public":
        assert rc == 2 and FLAG in out.err and made.fingerprint in out.err and "no gpg secret key" in out.err
        assert not (repo / rel).exists() and git(repo, "status", "--porcelain") == ""
        rc = run(repo, answers_file, "--no-push", FLAG, token=HCLOUD, steps=("external-dns",))
        assert rc == 0, capsys.readouterr()
        monkeypatch.setenv("GNUPGHOME", str(made.home))  # decrypt where the secret key is
    else:
        assert rc == 0, out
    assert (repo / ".sops.yaml").read_text() == text
    assert [p["fp"] for p in sops_meta(repo, rel)["pgp"]] == [made.fingerprint]
    assert sops_decrypt(repo, rel, {"GNUPGHOME": os.environ["GNUPGHOME"]})["stringData"] == {"HETZNER_API_KEY": HCLOUD}
    assert rel in committed(repo)


def test_fixture_key_is_cluster_templates_recipient() -> None:
    from wizard import agekey

    assert agekey.recipients_of(fixture(CLUSTER_TEMPLATE_KEY)) == (CLUSTER_TEMPLATE_RECIPIENT,)


# -- the question in plain mode (the same Review/Confirm as the CLI's flag) -------------------------
@pytest.mark.parametrize("accept", [False, True])
def test_plain_mode_asks_before_encrypting_for_keys_this_machine_does_not_hold(
    accept: bool, tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.flow import Options
    from wizard.frontends.plain import run_plain

    from support.prompts import Lines, Script

    k8s = make_age_key(tmp_path / "k8s")  # the cluster's key; this machine has none
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=k8s.recipient)
    script = Script(
        answers={
            "DNS provider token": HCLOUD,
            "Steps to run": ["cert-manager", "external-dns"],
            "Write these changes": True,
            "for those keys anyway": accept,
            "Commit and push": False,
        }
    ).install(monkeypatch)
    out = Lines()
    opts = Options(repo=str(repo), answers_file=str(answers_file), skip_token_check=True, watch=False)
    rc = run_plain(opts, out=out)
    assert rc == 0, out.text
    asked = script.messages()
    assert "Encrypt the DNS token for those keys anyway? (no: leave out external-dns)" in asked
    assert asked.index("Write these changes?") < asked.index(
        "Encrypt the DNS token for those keys anyway? (no: leave out external-dns)"
    )
    assert "‼ The DNS token would be encrypted only for keys this machine does not hold" in out.text
    assert k8s.recipient in out.text
    secret = repo / ED / "hetzner-token.yaml"
    assert secret.exists() is accept, out.text  # written only once accepted
    assert git(repo, "status", "--porcelain", "--", "manifests/infrastructure/cert-manager")  # the rest is written
    if not accept:
        assert "Left out external-dns" in out.text
    else:
        assert sops_decrypt(repo, f"{ED}/hetzner-token.yaml", {"SOPS_AGE_KEY_FILE": str(k8s.path)})["stringData"] == {
            "HETZNER_API_KEY": HCLOUD
        }


def test_a_rule_appended_to_cluster_templates_names_its_own_key_and_creates_none(tmp_path: Path) -> None:
    """A folder none of its rules covers: one rule appended after them, for the recipient the repository
    already uses (its git-ignored age.key holds it), so no new key is made and the cluster's sops-age
    Secret can decrypt the token."""
    from wizard.outside import prerequisite_actions

    repo = without_its_external_dns(copy_real_repo(CLUSTER_TEMPLATE, tmp_path / "ct"))
    (repo / "platform").mkdir()
    answers = tmp_path / "a.yaml"
    answers.write_text(CT_ANSWERS.replace("components: kubernetes/apps", "components: platform"))
    e = Engine(repo=repo, answers_file=str(answers))
    plan = e.plan(["prerequisites", "external-dns"])
    old = (repo / ".sops.yaml").read_text()
    new = next(c.new for c in plan.pending if c.path == ".sops.yaml")
    assert new.startswith(old[: old.index("stores:")])  # the existing rules, byte for byte, first
    rules = yamlio.load_plain(new)[0]["creation_rules"]
    assert rules[:2] == yamlio.load_plain(old)[0]["creation_rules"]
    assert rules[2]["path_regex"] == r"^platform/.*\.ya?ml$" and rules[2]["age"] == CLUSTER_TEMPLATE_RECIPIENT
    assert plan.secrets[0].path == "platform/external-dns/cloudflare-api-token.yaml" and not plan.attention
    assert e.layout is not None and e.answers is not None
    assert prerequisite_actions(e.layout, e.answers, cluster=False).prepare == []  # no key to create
    assert not (Path(os.environ["HOME"]) / ".config/sops/age/keys.txt").exists()


def test_no_cluster_command_fails_rather_than_replaces_and_says_the_key_is_needed(tmp_path: Path) -> None:
    """A repository with encrypted secrets whose decryption Secret it does not provision: the printed
    command is `kubectl create` (it fails on an existing Secret), and it says why an existing one stays."""
    from wizard.events import Hint
    from wizard.outside import prerequisite_actions

    from support.adopt_repos import make_part_iv_repo

    key = make_age_key(Path(os.environ["HOME"]) / ".config/sops/age", "keys.txt")
    repo = make_part_iv_repo(tmp_path / "repo", sops=require_tool("sops"), age_recipient=key.recipient)
    answers = tmp_path / "a.yaml"
    answers.write_text("domain: k8s.example.com\nemail: ops@example.com\ndns_provider: hetzner\n")
    e = Engine(repo=repo, answers_file=str(answers))
    layout, ans = e.load()
    (action,) = prerequisite_actions(layout, ans, cluster=False).cluster
    assert action.provisioned_in is None
    events: list = []
    action.apply(events.append)
    (hint,) = [ev for ev in events if isinstance(ev, Hint)]
    assert f"If it exists, keep it: the repository's 1 sops-encrypted file ({ED}/hetzner-token.yaml)" in hint.message
    (command,) = [line.strip() for line in hint.message.splitlines() if line.strip().startswith("kubectl")]
    assert command.startswith("kubectl -n flux-system create secret generic sops-age --from-file=age.agekey=")
    assert not any(w in command for w in ("apply", "replace", "--dry-run"))
