"""Copy the README screenshots from the snapshot tests' SVGs (run after --snapshot-update).

    .venv/bin/python tests/ui/make_screenshots.py

test_screenshots.py fails when docs/screenshots/ drifts from the snapshots.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).parents[2]
SNAPS = ROOT / "tests/ui/__snapshots__/test_snapshots"
SHOTS = {
    "review.svg": "test_review[100x30].svg",
    "reconcile.svg": "test_reconcile_live_tree[100x30].svg",
}


def main() -> None:
    out = ROOT / "docs/screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for name, snap in SHOTS.items():
        shutil.copyfile(SNAPS / snap, out / name)
        print(f"docs/screenshots/{name} <- {snap}")


if __name__ == "__main__":
    main()
