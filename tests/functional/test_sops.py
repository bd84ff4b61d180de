"""The sops SecretWriter with the real sops and age binaries against guide-shaped repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wizard import yamlio
from wizard.engine import Engine
from wizard.errors import UserError
from wizard.frontends.cli import main
from wizard.sops import SopsSecretWriter, can_cluster_key_decrypt, resolve

from support.agekeys import AgeKey, make_age_key
from support.repos import make_guide_repo, snapshot
from support.tools import find_tool, require_tool

SECRET = "manifests/infrastructure/external-dns/hetzner-token.yaml"
KEY = "HETZNER_API_KEY"
TOKEN = "tok3n-Sup3rS3cretValue-0123456789abcdefXYZ"
# the test key is not this machine's sops key (the cluster holds it): the run accepts that explicitly
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch", "--skip-token-check", "--accept-foreign-recipients"]


@pytest.fixture
def sops_bin() -> str:
    require_tool("age-keygen")
    return require_tool("sops")


@pytest.fixture
def age_key(tmp_path: Path, sops_bin: str) -> AgeKey:
    return make_age_key(tmp_path / "keys")


@pytest.fixture(params=["2023", "2024"])
def repo(request: pytest.FixtureRequest, tmp_path: Path, age_key: AgeKey) -> Path:
    return make_guide_repo(tmp_path / f"repo-{request.param}", style=request.param, age_recipient=age_key.recipient)


def run(repo: Path, answers: Path, token: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("T", token)
    return main(["run", "external-dns", "--repo", str(repo), "--answers", str(answers), "--token-env", "T", *RUN])


def decrypt(repo: Path, key: AgeKey, rel: str = SECRET) -> dict:
    out = subprocess.run(
        [require_tool("sops"), "decrypt", rel],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "SOPS_AGE_KEY_FILE": str(key.path)},
        check=True,
    ).stdout
    return yamlio.load_plain(out)[0]


def write_sops_yaml(repo: Path, text: str, name: str = ".sops.yaml") -> None:
    (repo / ".sops.yaml").unlink(missing_ok=True)
    (repo / name).write_text(text, encoding="utf-8")


# -- the done-when scenario ---------------------------------------------------------------------
def test_secret_decrypts_to_the_token_and_keeps_metadata_readable(
    repo: Path, answers_file: Path, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    text = (repo / SECRET).read_text()
    doc = yamlio.load_plain(text)[0]
    # kustomize/Flux can read it: one Secret, plaintext apiVersion/kind/metadata/type
    assert (doc["apiVersion"], doc["kind"], doc["type"]) == ("v1", "Secret", "Opaque")
    assert doc["metadata"] == {"name": "hetzner-token", "namespace": "external-dns"}
    assert doc["stringData"][KEY].startswith("ENC[AES256_GCM,")
    assert "data" not in doc
    assert [a["recipient"] for a in doc["sops"]["age"]] == [age_key.recipient]
    assert doc["sops"]["encrypted_regex"] == "^(data|stringData)$"
    assert TOKEN not in text
    # the real sops with the test key gives back exactly the token
    plain = decrypt(repo, age_key)
    assert plain["stringData"] == {KEY: TOKEN}
    assert plain["metadata"]["name"] == "hetzner-token"


def test_rerun_is_byte_identical_and_a_new_token_changes_the_file(
    repo: Path, answers_file: Path, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    first = (repo / SECRET).read_bytes()
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key.path))
    capsys.readouterr()
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    assert (repo / SECRET).read_bytes() == first
    assert run(repo, answers_file, TOKEN + "-new", monkeypatch) == 0
    assert (repo / SECRET).read_bytes() != first
    assert decrypt(repo, age_key)["stringData"] == {KEY: TOKEN + "-new"}


def test_without_a_local_key_the_file_is_kept_with_a_warning(
    repo: Path, answers_file: Path, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    first = (repo / SECRET).read_bytes()
    capsys.readouterr()
    assert run(repo, answers_file, TOKEN + "-other", monkeypatch) == 0  # no SOPS_AGE_KEY_FILE
    out = capsys.readouterr()
    assert "cannot decrypt it here" in out.out + out.err
    assert (repo / SECRET).read_bytes() == first
    assert "--replace-token" in out.out + out.err
    # without a token at all it is kept too
    monkeypatch.delenv("T")
    assert main(["run", "external-dns", "--repo", str(repo), "--answers", str(answers_file), *RUN]) == 0
    assert (repo / SECRET).read_bytes() == first
    # --replace-token writes the given token even though it cannot compare
    monkeypatch.setenv("T", TOKEN + "-other")
    assert (
        main(
            [
                "run",
                "external-dns",
                "--repo",
                str(repo),
                "--answers",
                str(answers_file),
                *RUN,
                "--token-env",
                "T",
                "--replace-token",
            ]
        )
        == 0
    )
    assert (repo / SECRET).read_bytes() != first
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key.path))
    assert decrypt(repo, age_key)["stringData"] == {KEY: TOKEN + "-other"}


def test_sops_age_key_also_counts_as_a_local_key(
    repo: Path, answers_file: Path, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    first = (repo / SECRET).read_bytes()
    monkeypatch.setenv("SOPS_AGE_KEY", age_key.identity)
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    assert (repo / SECRET).read_bytes() == first
    # the default keys file under the (isolated) HOME as well
    monkeypatch.delenv("SOPS_AGE_KEY")
    default = Path(os.environ["HOME"]) / ".config/sops/age/keys.txt"
    default.parent.mkdir(parents=True)
    shutil.copy(age_key.path, default)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(Path(os.environ["HOME"]) / ".config"))
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    assert (repo / SECRET).read_bytes() == first


def test_the_token_is_nowhere_but_in_the_ciphertext(
    tmp_path: Path,
    answers_file: Path,
    age_key: AgeKey,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=age_key.recipient)
    children: list[tuple[list[str], dict[str, str] | None, bytes | None]] = []
    real_popen = subprocess.Popen

    class Recording(real_popen):  # type: ignore[misc,valid-type]
        def __init__(self, args, *a, **kw):  # type: ignore[no-untyped-def]
            children.append(([str(x) for x in args], kw.get("env"), None))
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key.path))
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0  # the decrypt path too
    assert run(repo, answers_file, TOKEN + "2", monkeypatch) == 0
    captured = capsys.readouterr()
    assert any(argv[0].endswith("sops") and "encrypt" in argv for argv, _, _ in children)
    assert any(argv[0].endswith("sops") and "decrypt" in argv for argv, _, _ in children)
    for argv, env, _ in children:
        assert not any(TOKEN in a for a in argv), argv
        assert env is not None, f"{argv[0]} inherited the whole environment (with T)"
        assert not any(TOKEN in v for v in env.values()), argv
        assert "T" not in env
    assert TOKEN not in captured.out and TOKEN not in captured.err
    assert TOKEN.encode() not in answers_file.read_bytes()
    hits = [p for p in repo.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert hits == []
    # no temp file with the plaintext either, next to the repo
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]


def test_writer_records_argv_without_the_token(
    repo: Path, answers_file: Path, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = SopsSecretWriter()
    engine = Engine(repo=repo, answers_file=str(answers_file), secret_writer=writer)
    plan = engine.plan(["external-dns"])
    from wizard.engine import RunOptions

    list(engine.run(plan, RunOptions(commit=False, push=False, token=TOKEN)))
    assert writer.spawned and all(TOKEN not in " ".join(argv) for argv in writer.spawned)
    assert any("--filename-override" in argv for argv in writer.spawned)


def test_kustomize_builds_the_folder_with_the_encrypted_secret(
    repo: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kustomize = find_tool("kustomize")
    if not kustomize:
        pytest.skip("kustomize not built")
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    out = subprocess.run(
        [kustomize, "build", str(repo / "manifests/infrastructure/external-dns")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    secret = yamlio.find_doc(yamlio.load_plain(out), "Secret", "hetzner-token")
    assert secret is not None and secret["stringData"][KEY].startswith("ENC[")
    flux = yamlio.load_plain((repo / "manifests/cluster/flux-system/external-dns.yaml").read_text())
    dec = yamlio.find_doc(flux, "Kustomization")["spec"]["decryption"]
    assert dec["provider"] == "sops"
    assert dec["secretRef"]["name"] == ("sops-age" if "2024" in repo.name else "sops-gpg")


# -- rule checks: exit 2, nothing written --------------------------------------------------------
RULE = "creation_rules:\n  - path_regex: {path}\n    encrypted_regex: {regex}\n    age: {age}\n"
BAD_RULES = {
    "glob": (
        RULE.format(path="manifests/*.yaml", regex="^(data|stringData)$", age="{r}"),
        ["shell glob written as a regex", "never matches nested paths", SECRET, r"path_regex: manifests/.*\.yaml$"],
    ),
    "no-match": (
        RULE.format(path=r"clusters/.*\.yaml$", regex="^(data|stringData)$", age="{r}"),
        ["No creation rule", "matches " + SECRET],
    ),
    "no-recipients": (
        "creation_rules:\n  - path_regex: manifests/.*\n    encrypted_regex: ^(data|stringData)$\n",
        ["lists no recipients"],
    ),
    "missing-comma": (
        "creation_rules:\n  - path_regex: manifests/.*\n    encrypted_regex: ^(data|stringData)$\n"
        "    age: >-\n      {r}\n      {r2}\n",
        ["without a comma", "{r},{r2}"],
    ),
    "regex-covers-metadata": (
        RULE.format(path="manifests/.*", regex="^(data|stringData|metadata)$", age="{r}"),
        ["also matches metadata", "^(data|stringData)$"],
    ),
    "regex-misses-stringData": (
        RULE.format(path="manifests/.*", regex="^data$", age="{r}"),
        ["does not cover stringData"],
    ),
    "no-encrypted-regex": (
        "creation_rules:\n  - path_regex: manifests/.*\n    age: {r}\n",
        ["has no encrypted_regex", "including apiVersion, kind and metadata"],
    ),
    "unknown-key-type": (
        RULE.format(path="manifests/.*", regex="^(data|stringData)$", age="AGE-SECRET-KEY-1XYZ"),
        ["unknown key type"],
    ),
    "kms-only": (
        "creation_rules:\n  - path_regex: manifests/.*\n    encrypted_regex: ^(data|stringData)$\n"
        "    kms: arn:aws:kms:eu-west-1:111:key/abc\n",
        ["only has kms keys"],
    ),
    "missing": (None, ["has no .sops.yaml at its root"]),
    "yml": ("yml", ["ignores .sops.yml", "rename it"]),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_bad_rules_exit_2_and_write_nothing(
    case: str,
    tmp_path: Path,
    answers_file: Path,
    age_key: AgeKey,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = make_age_key(tmp_path / "keys2")
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=age_key.recipient)
    text, expected = BAD_RULES[case]
    if text is None:
        (repo / ".sops.yaml").unlink()
    elif text == "yml":
        (repo / ".sops.yaml").rename(repo / ".sops.yml")
    else:
        write_sops_yaml(repo, text.replace("{r}", age_key.recipient).replace("{r2}", other.recipient))
    before = snapshot(repo)
    capsys.readouterr()
    assert run(repo, answers_file, TOKEN, monkeypatch) == 2
    err = capsys.readouterr().err
    for piece in expected:
        assert piece.replace("{r}", age_key.recipient).replace("{r2}", other.recipient) in err, (piece, err)
    assert TOKEN not in err
    assert snapshot(repo) == before


def test_missing_sops_binary(
    repo: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(repo)
    monkeypatch.setenv("SOPS", str(repo / "no-such-sops"))
    assert run(repo, answers_file, TOKEN, monkeypatch) == 2
    assert "SOPS environment variable" in capsys.readouterr().err
    monkeypatch.delenv("SOPS")
    git = shutil.which("git")
    assert git
    bare = repo.parent / "bare-bin"
    bare.mkdir()
    (bare / "git").symlink_to(git)
    monkeypatch.setenv("PATH", str(bare))
    assert run(repo, answers_file, TOKEN, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "sops was not found on PATH" in err and "tests/tools/build.sh basic" in err
    assert snapshot(repo) == before


def test_sops_env_var_selects_the_binary(
    repo: Path, answers_file: Path, age_key: AgeKey, sops_bin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = repo.parent / "bare-bin"
    bare.mkdir()
    (bare / "git").symlink_to(shutil.which("git") or "git")
    monkeypatch.setenv("PATH", str(bare))
    monkeypatch.setenv("SOPS", sops_bin)
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    monkeypatch.setenv("PATH", f"{Path(sops_bin).parent}{os.pathsep}{bare}")
    assert decrypt(repo, age_key)["stringData"] == {KEY: TOKEN}


# -- details ---------------------------------------------------------------------------------------
def test_legacy_sops_path_passes_the_rule_explicitly(
    repo: Path, answers_file: Path, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sops < 3.10: --encrypt /dev/stdin with --age/--encrypted-regex (the real 3.13 still accepts it)."""
    writer = SopsSecretWriter()
    monkeypatch.setattr(writer, "version", lambda secrets=(): (3, 9, 4))
    engine = Engine(repo=repo, answers_file=str(answers_file), secret_writer=writer)
    from wizard.engine import RunOptions

    list(engine.run(engine.plan(["external-dns"]), RunOptions(commit=False, push=False, token=TOKEN)))
    enc = [a for a in writer.spawned if "--encrypt" in a]
    assert enc and enc[0][-1] == "/dev/stdin" and age_key.recipient in enc[0]
    assert "^(data|stringData)$" in enc[0]
    assert decrypt(repo, age_key)["stringData"] == {KEY: TOKEN}


def test_existing_plaintext_secret_gets_encrypted(
    repo: Path, answers_file: Path, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = repo / SECRET
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: hetzner-token\n  namespace: external-dns\n"
        f"stringData:\n  {KEY}: {TOKEN}\n"
    )
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key.path))
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    assert TOKEN not in p.read_text()
    assert decrypt(repo, age_key)["stringData"] == {KEY: TOKEN}


def test_new_recipient_in_the_rule_reencrypts_the_same_token(
    repo: Path, answers_file: Path, age_key: AgeKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key.path))
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    first = (repo / SECRET).read_bytes()
    other = make_age_key(tmp_path / "keys2")
    write_sops_yaml(
        repo,
        RULE.format(
            path=r"manifests/.*\.yaml$", regex="^(data|stringData)$", age=f"{age_key.recipient},{other.recipient}"
        ),
    )
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    assert (repo / SECRET).read_bytes() != first
    doc = yamlio.load_plain((repo / SECRET).read_text())[0]
    assert {a["recipient"] for a in doc["sops"]["age"]} == {age_key.recipient, other.recipient}
    assert decrypt(repo, other)["stringData"] == {KEY: TOKEN}


def test_number_like_token_stays_a_string(
    repo: Path, answers_file: Path, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(repo, answers_file, "0123456789", monkeypatch) == 0
    doc = yamlio.load_plain((repo / SECRET).read_text())[0]
    assert "type:str]" in doc["stringData"][KEY]
    assert decrypt(repo, age_key)["stringData"] == {KEY: "0123456789"}


def test_can_cluster_key_decrypt(
    repo: Path, answers_file: Path, age_key: AgeKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(repo, answers_file, TOKEN, monkeypatch) == 0
    other = make_age_key(tmp_path / "keys2")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(other.path))  # a local key must not help
    assert can_cluster_key_decrypt(repo, SECRET, age_key.path.read_text()) is True
    assert can_cluster_key_decrypt(repo, SECRET, age_key.identity) is True
    assert can_cluster_key_decrypt(repo, SECRET, other.identity) is False
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key.path))
    assert can_cluster_key_decrypt(repo, SECRET, other.identity) is False


def test_rule_matching_first_match_wins_relative_to_the_config(tmp_path: Path, age_key: AgeKey) -> None:
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=age_key.recipient, commit=False)
    write_sops_yaml(
        repo,
        "creation_rules:\n"
        "  - path_regex: ^manifests/infrastructure/external-dns/\n"
        "    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {age_key.recipient}\n"
        "  - encrypted_regex: ^data$\n"
        f"    age: {age_key.recipient}\n",
    )
    assert resolve(repo, SECRET).rule.index == 1
    assert resolve(repo, SECRET).rel == SECRET
    with pytest.raises(UserError, match="does not cover stringData"):
        resolve(repo, "manifests/other/x.yaml")  # falls to the catch-all rule #2
