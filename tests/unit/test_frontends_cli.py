"""The command line's parser: the options several commands share are declared once (argparse
parents) and mean the same wherever they are given."""

from __future__ import annotations

import argparse

import pytest

from wizard.frontends.cli import parser

COMMANDS = ("steps", "plan", "run", "watch", "verify", "doctor", "demo")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    [sub] = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_common_options_are_taken_before_or_after_the_command(command: str) -> None:
    given = ["--repo", "r", "--answers", "a.yaml", "--json", "--debug"]
    for argv in ([*given, command], [command, *given]):
        args = parser().parse_args(argv)
        assert (args.repo, args.answers, args.json, args.debug) == ("r", "a.yaml", True, True), argv
    plain = parser().parse_args([command])
    assert (plain.repo, plain.answers, plain.json, plain.debug) == (None, None, False, False)


@pytest.mark.parametrize("command", ["run", "watch", "verify", "doctor"])
def test_the_cluster_options_are_taken_before_or_after_the_command(command: str) -> None:
    for argv in (["--context", "c", "--kubeconfig", "k", command], [command, "--context", "c", "--kubeconfig", "k"]):
        args = parser().parse_args(argv)
        assert (args.context, args.kubeconfig) == ("c", "k"), argv


def test_no_watch_before_run_is_kept() -> None:
    assert parser().parse_args(["--no-watch", "run"]).no_watch is True
    assert parser().parse_args(["run", "--no-watch"]).no_watch is True
    assert parser().parse_args(["run"]).no_watch is False


def test_each_shared_option_says_one_thing() -> None:
    """An option several commands take has one help text: it is one declaration, not copies."""
    helps: dict[str, set[str]] = {}
    for sub in _subparsers().values():
        for action in sub._actions:
            for flag in action.option_strings:
                helps.setdefault(flag, set()).add(f"{action.help}")
    shared = {flag: texts for flag, texts in helps.items() if flag not in ("-h", "--help")}
    # --no-cluster, --token-env and --timeout differ on purpose: verify's are other options of the same name
    different = {flag for flag, texts in shared.items() if len(texts) > 1}
    assert different == {"--no-cluster", "--token-env", "--timeout"}, different
    assert {"--repo", "--resolver", "--ca-bundle", "--split-flux-files", "--context"} <= set(shared)
