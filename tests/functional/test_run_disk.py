"""Issue 16 item 8 (disk part): a read-only repository or a disk that fills up during the write ends
in one clear sentence, the right exit code and a ``Failed`` JSON record, with every file as it was.

The repository lives on a small tmpfs mounted for the test (real ENOSPC / EROFS from the kernel,
not a mock); without the right to mount, the tests are skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wizard
from wizard.frontends.cli import main

from support.repos import make_guide_repo, snapshot
from support.steplists import PLAIN_STEPS

ROOT = Path(wizard.__file__).resolve().parents[1]
PAGE = 4096


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if ".git" not in p.parts)


@pytest.fixture
def small_fs(tmp_path: Path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)


def _fill(mnt: Path, leave_pages: int) -> None:
    """Fill the file system so that only ``leave_pages`` pages stay free."""
    st = os.statvfs(mnt)
    free = st.f_bavail * st.f_frsize
    filler = mnt / "filler"
    with filler.open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave_pages * PAGE))
    assert os.statvfs(mnt).f_bavail <= leave_pages + 1


def _run_json(repo: Path, answers: Path, *extra: str) -> tuple[int, list[dict], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-m", "wizard", "run", *PLAIN_STEPS, "--repo", str(repo), "--answers", str(answers),
         "--yes", "--no-watch", "--no-push", "--json", *extra],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    records = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    return res.returncode, records, res.stderr


def test_full_disk_during_the_write_leaves_every_file_as_it_was(small_fs: Path, answers_file: Path) -> None:
    repo = make_guide_repo(small_fs / "repo")
    files, tree = snapshot(repo), _tree(repo)
    _fill(small_fs, leave_pages=6)  # the lock and the first temp files fit; the rest do not
    rc, records, err = _run_json(repo, answers_file)
    assert rc == 1, err[-3000:]
    assert "Traceback" not in err
    failed = records[-1]
    assert failed["event"] == "Failed" and failed["exit_code"] == 1
    assert "No space left on device" in failed["message"] and "Every file was left as it was" in failed["message"]
    assert not [r for r in records if r.get("event") == "FileWritten"]
    assert snapshot(repo) == files
    assert _tree(repo) == tree, "temp files or new folders were left behind"
    (small_fs / "filler").unlink()
    rc, records, err = _run_json(repo, answers_file)  # with space again the same run just works
    assert rc == 0, err[-3000:]


def test_full_disk_when_replacing_existing_files_puts_them_back(small_fs: Path, answers_file: Path) -> None:
    """Files that exist get new versions: hard links keep the old ones until all renames succeeded."""
    repo = make_guide_repo(small_fs / "repo")
    assert main(["run", *PLAIN_STEPS, "--repo", str(repo), "--answers", str(answers_file), "--yes", "--no-watch",
                 "--no-push"]) == 0  # fmt: skip
    changed = answers_file.parent / "changed.yaml"
    changed.write_text(answers_file.read_text().replace("ops@example.com", "team@example.com") + "txt_owner_id: c2\n")
    files, tree = snapshot(repo), _tree(repo)
    _fill(small_fs, leave_pages=2)  # the run lock and one temp file fit, the second temp file does not
    rc, records, err = _run_json(repo, changed, "--no-commit")
    assert rc == 1, err[-3000:]
    assert records[-1]["event"] == "Failed" and "left as it was" in records[-1]["message"]
    assert snapshot(repo) == files and _tree(repo) == tree


def test_read_only_repository_exits_2_and_writes_nothing(small_fs: Path, answers_file: Path) -> None:
    repo = make_guide_repo(small_fs / "repo")
    files = snapshot(repo)
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True, capture_output=True)
    for extra in ((), ("--no-commit",)):
        rc, records, err = _run_json(repo, answers_file, *extra)
        assert rc == 2, err[-3000:]
        assert "Traceback" not in err
        failed = records[-1]
        assert failed["event"] == "Failed" and failed["exit_code"] == 2
        assert "not writable" in failed["message"] and "Nothing was written" in failed["message"]
    assert snapshot(repo) == files
