"""``python -m wizard.ui [--repo P] [--answers F] [--context C] [--debug]``: the TUI alone."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wizard.ui")
    p.add_argument("--repo")
    p.add_argument("--answers")
    p.add_argument("--context")
    p.add_argument("--debug", action="store_true")
    args = p.parse_args(argv)
    from wizard.ui.app import run_tui

    return run_tui(repo=args.repo, answers_file=args.answers, context=args.context, debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
