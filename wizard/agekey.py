"""The age key sops uses on this machine: find it, read its public keys, create it. UI-free.

Rules this module keeps (tests check them):

* The private key is never printed, logged, put in argv or in a child's environment (children get
  wizard.childenv's environment, without ``SOPS_AGE_KEY*``; the variables are read through
  :func:`wizard.childenv.environ`, which sees them while they are held out of ``os.environ``). ``age-keygen
  -o FILE`` writes it straight to the file; public keys are read back with ``age-keygen -y``
  (a path in argv, or an identity through a pipe on stdin).
* A key file is never created inside the repository (:func:`assert_outside_repo`), and it is
  created with mode 0600 (age-keygen does that; the mode is checked and forced afterwards). An
  existing key file inside the repository that git ignores (:func:`git_ignored`; cluster-template
  keeps its ``age.key`` at the root, listed in ``.gitignore``) is no leak: the commit carries only
  the wizard's own files, and the leak guard refuses any staged file holding an age identity.
* Where sops looks (age/keysource.go): ``SOPS_AGE_KEY`` (the key itself), ``SOPS_AGE_KEY_FILE``,
  and the user config dir's ``sops/age/keys.txt`` (Linux: ``$XDG_CONFIG_HOME`` or ``~/.config``;
  macOS: ``$XDG_CONFIG_HOME`` if set, else ``~/Library/Application Support``); sops 3.10+ loads all
  of them (:func:`sources`). ``SOPS_AGE_KEY_CMD`` is not run here.
* The repository's own key (:func:`repo_key`): a git-ignored ``age.key``/``age.agekey`` at the
  repository root, or the file its mise config points ``SOPS_AGE_KEY_FILE`` at, counts as this
  machine's key for a rule only when it holds the private key of one of that rule's recipients.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wizard import childenv, redact
from wizard.errors import StepFailed, UserError

KEYS_SUBPATH = ("sops", "age", "keys.txt")
ENV_KEY_FILE = "SOPS_AGE_KEY_FILE"
ENV_KEY = "SOPS_AGE_KEY"
REPO_KEY = "repository"  # origin of the repository's own git-ignored key file (repo_key)
TIMEOUT = 30.0
INSTALL_HINT = (
    "Install age (it ships age-keygen: a release from https://github.com/FiloSottile/age/releases "
    "or your package manager) and put it on PATH. Developers: `bash tests/tools/build.sh basic`."
)

_RECIPIENT_RE = re.compile(r"^age1[02-9ac-hj-np-z]+$")
_PUBLIC_COMMENT = re.compile(r"^#\s*public key:\s*(age1[02-9ac-hj-np-z]+)\s*$")


class PrivateKey:
    """Identity text (``# public key: age1...`` + ``AGE-SECRET-KEY-1...``) that never shows in a repr."""

    __slots__ = ("recipient", "text")

    def __init__(self, text: str, recipient: str) -> None:
        self.text = text
        self.recipient = recipient

    def __repr__(self) -> str:
        return f"PrivateKey(recipient={self.recipient!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class AgeKey:
    """The key sops would use. ``path`` is None when it comes from the SOPS_AGE_KEY variable."""

    path: Path | None
    origin: str  # "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY" or "default"
    exists: bool
    recipients: tuple[str, ...] = ()
    problem: str | None = None  # why the recipients could not be read

    def describe(self) -> str:
        if self.origin == ENV_KEY:
            return "the age key in the SOPS_AGE_KEY environment variable"
        if self.origin == ENV_KEY_FILE:
            return f"the age key file {self.path} (SOPS_AGE_KEY_FILE)"
        if self.origin == REPO_KEY:
            return f"the repository's age key file {self.path} (git-ignored)"
        return f"the age key file {self.path} (sops' default location)"


# -- where ----------------------------------------------------------------------------------
def user_config_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path | None:
    """Go's os.UserConfigDir as sops uses it (see the module docstring)."""
    env = childenv.environ() if env is None else env
    platform = platform or sys.platform
    xdg = env.get("XDG_CONFIG_HOME", "")
    home = env.get("HOME", "")
    if platform == "darwin":
        if xdg:
            return Path(xdg)
        return Path(home) / "Library" / "Application Support" if home else None
    if platform.startswith("win"):
        app = env.get("AppData") or env.get("APPDATA")
        return Path(app) if app else None
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    return Path(home) / ".config" if home else None


def default_keys_file(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path | None:
    base = user_config_dir(env, platform)
    return base.joinpath(*KEYS_SUBPATH) if base else None


def locate(env: Mapping[str, str] | None = None, *, age_keygen: str | None = None) -> AgeKey:
    """The key sops would use (SOPS_AGE_KEY_FILE, else SOPS_AGE_KEY, else the default file).

    Reads public keys only. Never creates anything.
    """
    env = childenv.environ() if env is None else env
    if env.get(ENV_KEY_FILE):
        path, origin = Path(os.path.expanduser(env[ENV_KEY_FILE])), ENV_KEY_FILE
    elif env.get(ENV_KEY, "").strip():
        try:
            recipients = _recipients_of_text(env[ENV_KEY], age_keygen)
            return AgeKey(path=None, origin=ENV_KEY, exists=True, recipients=recipients)
        except (UserError, StepFailed) as exc:
            return AgeKey(path=None, origin=ENV_KEY, exists=True, problem=str(exc))
    else:
        default = default_keys_file(env)
        if default is None:
            return AgeKey(
                path=None,
                origin="default",
                exists=False,
                problem="HOME is not set, so sops has no default age key location.",
            )
        path, origin = default, "default"
    path = path if path.is_absolute() else Path.cwd() / path
    if not path.is_file():
        return AgeKey(path=path, origin=origin, exists=False)
    try:
        return AgeKey(path=path, origin=origin, exists=True, recipients=recipients_of(path, age_keygen))
    except (UserError, StepFailed) as exc:
        return AgeKey(path=path, origin=origin, exists=True, problem=str(exc))


def sources(env: Mapping[str, str] | None = None, *, age_keygen: str | None = None) -> list[AgeKey]:
    """Every age key sops 3.10+ loads (it reads all of them, not only the first): ``SOPS_AGE_KEY``,
    ``SOPS_AGE_KEY_FILE`` and the default file, those that are set or exist. Public keys only."""
    env = childenv.environ() if env is None else env
    out: list[AgeKey] = []
    if env.get(ENV_KEY, "").strip():
        out.append(locate({ENV_KEY: env[ENV_KEY]}, age_keygen=age_keygen))
    if env.get(ENV_KEY_FILE):
        out.append(locate({ENV_KEY_FILE: env[ENV_KEY_FILE]}, age_keygen=age_keygen))
    default = default_keys_file(env)
    if default is not None and default.is_file() and all(k.path != default for k in out):
        key = locate({k: v for k, v in env.items() if k not in (ENV_KEY, ENV_KEY_FILE)}, age_keygen=age_keygen)
        out.append(key)
    return [k for k in out if k.exists]


# -- the repository's own key ---------------------------------------------------------------
REPO_KEY_NAMES = ("age.key", "age.agekey")
MISE_CONFIGS = (".mise/config.toml", ".mise.toml", "mise.toml", ".config/mise/config.toml")
_CONFIG_ROOT = re.compile(r"\{\{\s*config_root\s*\}\}")


def git_ignored(path: Path, root: Path) -> bool:
    """Does git ignore ``path`` (inside the repository ``root``)? A tracked file is never ignored
    (``git check-ignore`` without ``--no-index``), nor is anything when git cannot answer."""
    try:
        rel = Path(os.path.realpath(path)).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return False
    import git  # GitPython; only when a key file lies inside the repository

    try:
        git.Git(os.fspath(root)).check_ignore("-q", "--", rel, env=childenv.env())
    except (git.GitCommandError, OSError):
        return False
    return True


def _mise_key_files(root: Path) -> list[Path]:
    """Files the repository's mise config points SOPS_AGE_KEY_FILE at (``{{config_root}}`` is the root)."""
    import tomllib

    out: list[Path] = []
    for rel in MISE_CONFIGS:
        p = root / rel
        if p.is_symlink() or not p.is_file() or p.stat().st_size > 256 * 1024:
            continue
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        value = (data.get("env") or {}).get(ENV_KEY_FILE) if isinstance(data.get("env"), dict) else None
        if isinstance(value, str) and value.strip():
            out.append(Path(_CONFIG_ROOT.sub(lambda m: os.fspath(root), value.strip())))
    return out


def repo_key(root: Path, wanted: Iterable[str], *, age_keygen: str | None = None) -> AgeKey | None:
    """The repository's own age key, when it holds the private key of one of ``wanted``.

    Candidates: ``age.key`` and ``age.agekey`` at the root, and the file the repository's mise config
    sets ``SOPS_AGE_KEY_FILE`` to (cluster-template: ``{{config_root}}/age.key``). Each must be a
    regular file (not a link) inside the repository that git ignores. Used only when the keys sops
    finds by itself (:func:`sources`) hold none of ``wanted``.
    """
    want = set(wanted)
    if not want:
        return None
    root = root.absolute()
    seen: list[Path] = []
    for p in [root / n for n in REPO_KEY_NAMES] + _mise_key_files(root):
        if p in seen or p.is_symlink() or not p.is_file() or not is_inside(p, root):
            continue
        seen.append(p)
        if not git_ignored(p, root):
            continue
        try:
            found = recipients_of(p, age_keygen)
        except (UserError, StepFailed):
            continue
        if want & set(found):
            return AgeKey(path=p, origin=REPO_KEY, exists=True, recipients=found)
    return None


# -- reading public keys --------------------------------------------------------------------
def find_age_keygen() -> str:
    env = os.environ.get("AGE_KEYGEN")
    found = shutil.which(env) if env else shutil.which("age-keygen")
    if found:
        return found
    raise UserError(
        "age-keygen was not found on PATH, so edge-wizard cannot create or read an age key. " + INSTALL_HINT
    )


def recipients_of(path: Path, age_keygen: str | None = None) -> tuple[str, ...]:
    """The public keys (age1...) of the identities in a key file, in file order."""
    binary = age_keygen
    if binary is None:
        try:
            binary = find_age_keygen()
        except UserError:
            binary = None
    if binary is None:  # fall back on the "# public key:" comments age-keygen writes
        found = tuple(m.group(1) for line in _read_lines(path) if (m := _PUBLIC_COMMENT.match(line.strip())))
        if found:
            return found
        raise UserError(
            f"{path} has no '# public key:' comment and age-keygen is not installed to read it. " + INSTALL_HINT
        )
    res = _run([binary, "-y", str(path)])
    if res.returncode != 0:
        raise UserError(
            f"age-keygen could not read the age key file {path}: {_first_line(res.stderr)}. "
            "Check that it holds AGE-SECRET-KEY-1... lines (as age-keygen writes them)."
        )
    return _parse_recipients(res.stdout, str(path))


def _recipients_of_text(text: str, age_keygen: str | None) -> tuple[str, ...]:
    res = _run([age_keygen or find_age_keygen(), "-y"], stdin=text)
    if res.returncode != 0:
        raise UserError(f"age-keygen could not read the key in {ENV_KEY}: {_first_line(res.stderr)}.")
    return _parse_recipients(res.stdout, ENV_KEY)


def recipients_of_text(text: str, age_keygen: str | None = None) -> tuple[str, ...]:
    """Public keys of identity text held in memory (through age-keygen's stdin, never argv)."""
    return _recipients_of_text(text, age_keygen)


def _parse_recipients(out: str, where: str) -> tuple[str, ...]:
    found = tuple(line.strip() for line in out.splitlines() if line.strip())
    bad = [r for r in found if not _RECIPIENT_RE.match(r)]
    if not found or bad:
        raise UserError(
            f"{where} holds no plain age identity (AGE-SECRET-KEY-1...); edge-wizard works with those only."
        )
    return found


def identity_for(key: AgeKey, recipient: str, age_keygen: str | None = None) -> PrivateKey:
    """The one identity of ``key`` whose public key is ``recipient`` (for the cluster Secret).

    Only that identity leaves the machine, not the other keys a keys file may hold.
    """
    if key.origin == ENV_KEY:
        text = childenv.get(ENV_KEY) or ""
        where = ENV_KEY
    else:
        assert key.path is not None
        text = "\n".join(_read_lines(key.path))
        where = str(key.path)
    binary = age_keygen or find_age_keygen()
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("AGE-SECRET-KEY-1"):
            continue
        res = _run([binary, "-y"], stdin=line + "\n")
        if res.returncode == 0 and res.stdout.strip() == recipient:
            redact.remember(line)
            return PrivateKey(f"# public key: {recipient}\n{line}\n", recipient)
    raise UserError(f"{where} holds no identity for the age public key {recipient}.")


# -- creating -------------------------------------------------------------------------------
def is_inside(path: Path, root: Path) -> bool:
    """Does ``path`` (once symlinks are resolved, also of its missing tail) fall under ``root``?"""
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(root))
        return True
    except ValueError:
        return False


def assert_outside_repo(path: Path, repo_root: Path) -> None:
    if is_inside(path, repo_root):
        raise UserError(
            f"The age key file {path} is inside the repository {repo_root}. edge-wizard never writes a private "
            "key into a repository (it would end up in git history and on the git server). Point "
            "SOPS_AGE_KEY_FILE outside the repository (or unset it to use ~/.config/sops/age/keys.txt)."
        )


def create_key(path: Path, repo_root: Path, *, age_keygen: str | None = None) -> str:
    """Create a new age key file at ``path`` with age-keygen (mode 0600); return its public key.

    Refuses when ``path`` exists or lies inside ``repo_root``. Missing parent folders are created
    with mode 0700.
    """
    path = Path(os.path.expanduser(str(path)))
    assert_outside_repo(path, repo_root)
    if path.exists():
        raise UserError(f"{path} already exists; edge-wizard never overwrites an age key file.")
    binary = age_keygen or find_age_keygen()
    _mkdirs(path.parent)
    res = _run([binary, "-o", str(path)])
    if res.returncode != 0:
        raise StepFailed(f"age-keygen could not create {path}: {_first_line(res.stderr)}")
    os.chmod(path, 0o600)
    if path.stat().st_mode & 0o077:
        raise StepFailed(f"{path} was created but is readable by others; fix with chmod 600 {shlex.quote(str(path))}.")
    recipients = recipients_of(path, binary)
    return recipients[0]


def _mkdirs(folder: Path) -> None:
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700)
        os.chmod(d, 0o700)


# -- helpers --------------------------------------------------------------------------------
def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"The age key file {path} cannot be read ({exc.strerror}).") from None


if TYPE_CHECKING:
    import subprocess


def _run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    import subprocess  # here: importing it costs every command ~10 ms, and only runs need it

    env = childenv.env()  # age-keygen reads identities from argv paths or stdin, never SOPS_AGE_KEY*
    try:
        return subprocess.run(
            argv,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=env,
            timeout=TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise UserError(f"{argv[0]} could not be started. {INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{Path(argv[0]).name} did not finish within {TIMEOUT:.0f}s.") from None


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and "report unexpected" not in ln]
    return (lines[0] if lines else "no error message").removeprefix("age-keygen: ").rstrip(".")


__all__ = [
    "REPO_KEY",
    "AgeKey",
    "PrivateKey",
    "assert_outside_repo",
    "create_key",
    "default_keys_file",
    "find_age_keygen",
    "git_ignored",
    "identity_for",
    "is_inside",
    "locate",
    "recipients_of",
    "repo_key",
    "sources",
    "user_config_dir",
]
