"""Command line: ``edge-wizard [steps|plan|run|watch|verify|doctor|demo]``. Imports stay lazy so ``--help``
is instant (no textual, lightkube, git or httpx).

Exit codes: 0 done or nothing to do; 1 a step or later stage failed; 2 bad input or usage
(nothing written); 3 timed out waiting; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from wizard import stepnames

SPLIT_HELP = (
    "move each step's Flux Kustomization out of a file it shares with others (the guide's ingress.yaml) into "
    "its own file (a migration shown in the plan; by default it is managed where it is)"
)
STEP_NAMES = stepnames.NAMES  # a leaf module: --help stays cheap


class _Shared:
    """The options several commands share, each declared once, as argparse parents. The global ones
    (``common``, ``cluster``, ``watch``, ``recording``) are declared on the top-level parser too; on a
    subcommand their default is SUPPRESS, so a value given before the command is kept."""

    def __init__(self, *, sub: bool) -> None:
        d: dict[str, Any] = {"default": argparse.SUPPRESS} if sub else {}
        self.common = _parent()
        self.common.add_argument(
            "--repo", metavar="PATH", help="the Flux repository (default: the git top level of the cwd)", **d
        )
        self.common.add_argument("--answers", metavar="FILE", help="answers file (YAML; see README)", **d)
        self.common.add_argument(
            "--cluster",
            metavar="NAME",
            help="the cluster to set up, in a repository holding several (clusters/NAME)",
            **d,
        )
        self.common.add_argument(
            "--json", action="store_true", help="print one JSON object per line (schema: README)", **d
        )
        self.common.add_argument("--debug", action="store_true", help="show tracebacks", **d)
        self.cluster = _parent()
        self.cluster.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)", **d)
        self.cluster.add_argument(
            "--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)", **d
        )
        self.watch = _parent()
        self.watch.add_argument("--no-watch", action="store_true", help="push without following Flux", **d)
        self.recording = _parent()
        self.recording.add_argument(
            "--record",
            metavar="FILE.cast",
            help="record the session (asciicast v2; typed keys are never recorded)",
            **d,
        )
        self.recording.add_argument(
            "--size",
            metavar="COLSxROWS",
            help="terminal size of a recorded session (default 100x30)",
            **(d or {"default": "100x30"}),
        )
        # the subcommands' own shared options
        self.steps = _parent()
        self.steps.add_argument(
            "steps", nargs="*", metavar="STEP", help=f"steps ({', '.join(STEP_NAMES)}); default all"
        )
        self.steps.add_argument("--split-flux-files", action="store_true", help=SPLIT_HELP)
        self.steps.add_argument(
            "--skip",
            action="append",
            default=[],
            metavar="STEP",
            help="leave this step out of a run of all steps (repeatable)",
        )
        self.follow = _parent()
        self.follow.add_argument("--timeout", default="20m", help="how long to wait for Flux (e.g. 90s, 20m)")
        self.proof = _parent()
        self.proof.add_argument(
            "--resolver", metavar="IP[:PORT]", help="the proof asks this nameserver (not the zone's and the system's)"
        )
        self.proof.add_argument(
            "--ca-bundle", metavar="FILE", help="the proof verifies HTTPS against these roots (PEM), not the system's"
        )


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


def parser() -> argparse.ArgumentParser:
    top, shared = _Shared(sub=False), _Shared(sub=True)
    p = argparse.ArgumentParser(
        prog="edge-wizard",
        description="Set up the edge of a Flux GitOps cluster repository: ingress controller, "
        "external-dns, cert-manager with Let's Encrypt, the host firewall rule for 80/443 "
        "and a smoke-test app with TLS.",
        epilog="Run without a command in a terminal for the interactive wizard. Exit codes: 0 done, "
        "1 failed, 2 bad input (nothing written), 3 timed out.",
        parents=[top.common, top.cluster, top.watch, top.recording],
    )
    from wizard import __version__

    p.add_argument("--version", action="version", version=f"edge-wizard {__version__}")
    p.add_argument("--plain", action="store_true", help="interactive prompts without the full-screen UI")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    common = [shared.common]

    sub.add_parser("steps", help="list the steps and their state", parents=common)

    pl = sub.add_parser("plan", help="show the diff of what would be written", parents=[*common, shared.steps])
    pl.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes, 0 when none")

    r = sub.add_parser(
        "run",
        help="write the plan, encrypt, commit, push and watch Flux",
        parents=[*common, shared.cluster, shared.steps, shared.watch, shared.follow, shared.proof],
    )
    _run_options(r)

    sub.add_parser(
        "watch",
        help="follow Flux reconciling the stage at the current HEAD (no push)",
        parents=[*common, shared.cluster, shared.follow],
    )

    v = sub.add_parser(
        "verify",
        help="prove the edge: DNS record, addresses, port 80, the certificate, HTTPS 200",
        description="Check the smoke test's host from outside (DNS, port 80, HTTPS with a verified chain) and in "
        "the cluster (node addresses, the Certificate and its Secret). Exit codes: 0 proven, 1 a check failed, "
        "2 bad input, 3 timed out.",
        parents=[*common, shared.cluster, shared.proof],
    )
    _verify_options(v)

    dr = sub.add_parser(
        "doctor", help="check the repository (and the cluster) for known pitfalls", parents=[*common, shared.cluster]
    )
    dr.add_argument("--offline", action="store_true", help="repository checks only; do not contact the cluster")

    d = sub.add_parser(
        "demo",
        help="run the whole flow on a throwaway sandbox repository",
        description="Run the wizard on a throwaway sandbox (a guide-shaped repository with a "
        "local bare remote, example answers and a fake DNS token). The reconcile "
        "stage replays a recorded event timeline, labelled 'replay'. Without a "
        "terminal it prints plain lines instead of opening the UI.",
        parents=[*common, shared.recording],
    )
    _demo_options(d)
    return p


def _run_options(r: argparse.ArgumentParser) -> None:
    r.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    r.add_argument("--no-commit", action="store_true", help="write files only")
    r.add_argument("--no-push", action="store_true", help="commit but do not push")
    tok = r.add_mutually_exclusive_group()
    tok.add_argument("--token-env", metavar="VAR", help="read the DNS provider token from this environment variable")
    tok.add_argument("--token-stdin", action="store_true", help="read the DNS provider token from standard input")
    r.add_argument("--skip-token-check", action="store_true", help="do not check the token with the DNS provider's API")
    r.add_argument(
        "--accept-controller-changes",
        action="store_true",
        help="apply the listed value changes to an ingress controller that already serves other apps",
    )
    r.add_argument(
        "--accept-foreign-recipients",
        action="store_true",
        help="encrypt the DNS token even when this machine holds no private key of the sops rule's recipients",
    )
    r.add_argument(
        "--replace-token",
        action="store_true",
        help="write the given token even when the existing Secret cannot be decrypted to compare",
    )
    r.add_argument(
        "--no-cluster",
        action="store_true",
        help="never write to the cluster (prerequisites: print the kubectl command for the sops Secret)",
    )
    r.add_argument(
        "--skip-staging", action="store_true", help="write the smoke test with letsencrypt-production at once"
    )
    r.add_argument("--no-prove", action="store_true", help="do not prove the edge after Flux is ready")
    r.add_argument(
        "--remove",
        action="store_true",
        help="remove the named step (smoke-test): delete its files, commit, push, wait until Flux pruned it",
    )


def _verify_options(v: argparse.ArgumentParser) -> None:
    v.add_argument("--host", metavar="H", help="the host to prove (default: the smoke test's host)")
    v.add_argument("--no-cluster", action="store_true", help="only the checks from outside (DNS, 80, HTTPS)")
    v.add_argument(
        "--token-env",
        metavar="VAR",
        help="read the DNS provider token from this variable: the record is then checked at the provider",
    )
    v.add_argument("--timeout", default="60s", help="how long to keep checking while a check can still pass (60s)")
    v.add_argument("--http-port", type=int, default=80, help=argparse.SUPPRESS)  # tests: a server on a high port
    v.add_argument("--https-port", type=int, default=443, help=argparse.SUPPRESS)


def _demo_options(d: argparse.ArgumentParser) -> None:
    d.add_argument(
        "--script",
        action="store_true",
        help="drive the UI by itself (typed answers, pauses), for unattended recordings",
    )
    d.add_argument(
        "--pace",
        type=float,
        default=float(os.environ.get("EDGE_WIZARD_DEMO_PACE") or 1.0),
        metavar="X",
        help="scale the scripted typing pauses and the replayed reconcile (1.0 real speed, 0 no "
        "pauses; default $EDGE_WIZARD_DEMO_PACE or 1.0)",
    )
    d.add_argument(
        "--plain",
        action="store_true",
        default=argparse.SUPPRESS,  # `edge-wizard --plain demo` says the same
        help="the plain prompts instead of the full-screen UI (with the same captions)",
    )
    d.add_argument("--sandbox", metavar="DIR", help=argparse.SUPPRESS)  # a recorded child's sandbox


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from wizard.frontends.cli.output import Out, OutputClosed

    out = Out(getattr(args, "json", False))
    from wizard.childenv import isolated
    from wizard.errors import WizardError

    try:
        # SOPS_AGE_KEY* and the --token-env variable leave os.environ now: no child process ever sees them
        with isolated(token_var=getattr(args, "token_env", None)):
            return _dispatch(args, out)
    except WizardError as exc:
        if args.debug:
            raise
        out.error(str(exc), exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        out.error("Interrupted.", 130)
        return 130
    except OutputClosed:
        # like a program killed by SIGPIPE (git, grep): no message, 128 + 13; what is still
        # buffered for the closed pipe goes nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        return 141


def _dispatch(args: argparse.Namespace, out: Any) -> int:
    from wizard.frontends.cli import commands

    if args.command is None:
        return commands.interactive(args, out)
    handler = {
        "steps": commands.cmd_steps,
        "plan": commands.cmd_plan,
        "run": commands.cmd_run,
        "demo": commands.cmd_demo,
        "doctor": commands.cmd_doctor,
        "watch": commands.cmd_watch,
        "verify": commands.cmd_verify,
    }[args.command]
    return int(handler(args, out))


def entry() -> None:
    """The ``edge-wizard`` console script: :func:`main`, then the process ends at once.

    A normal interpreter exit tears down every module and object of the run one by one (about
    30 ms after ``steps`` on a guide repository, a tenth of the command). Nothing is left for it
    to do: every file is written and closed, child processes are waited for, and stdout/stderr
    are flushed here; so the process exits with ``os._exit``. A crash (a bug) still goes through
    the normal exit, traceback and all."""
    import sys

    try:
        code = main()
    except SystemExit as exc:  # argparse: --help, usage errors
        c = exc.code
        code = c if isinstance(c, int) else (0 if c is None else 2)
        if not isinstance(c, int) and c is not None:
            print(c, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`edge-wizard steps | head`): nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
