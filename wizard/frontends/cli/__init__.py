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

SPLIT_HELP = (
    "move each step's Flux Kustomization out of a file it shares with others (the guide's ingress.yaml) into "
    "its own file (a migration shown in the plan; by default it is managed where it is)"
)
STEP_NAMES = ("prerequisites", "ingress", "firewall", "external-dns", "cert-manager", "cluster-issuers", "smoke-test")


def _common(p: argparse.ArgumentParser, *, sub: bool = True) -> None:
    # Subcommands repeat the global options; SUPPRESS keeps a value given before the command.
    d: dict[str, Any] = {"default": argparse.SUPPRESS} if sub else {}
    p.add_argument("--repo", metavar="PATH", help="the Flux repository (default: the git top level of the cwd)", **d)
    p.add_argument("--answers", metavar="FILE", help="answers file (YAML; see README)", **d)
    p.add_argument(
        "--cluster", metavar="NAME", help="the cluster to set up, in a repository holding several (clusters/NAME)", **d
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per line (schema: README)", **d)
    p.add_argument("--debug", action="store_true", help="show tracebacks", **d)


def _cluster(p: argparse.ArgumentParser, *, sub: bool = True) -> None:
    d: dict[str, Any] = {"default": argparse.SUPPRESS} if sub else {}
    p.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)", **d)
    p.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)", **d)


def _timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", default="20m", help="how long to wait for Flux (e.g. 90s, 20m)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edge-wizard",
        description="Set up the edge of a Flux GitOps cluster repository: ingress controller, "
        "external-dns, cert-manager with Let's Encrypt, the host firewall rule for 80/443 "
        "and a smoke-test app with TLS.",
        epilog="Run without a command in a terminal for the interactive wizard. Exit codes: 0 done, "
        "1 failed, 2 bad input (nothing written), 3 timed out.",
    )
    from wizard import __version__

    p.add_argument("--version", action="version", version=f"edge-wizard {__version__}")
    p.add_argument("--plain", action="store_true", help="interactive prompts without the full-screen UI")
    p.add_argument("--no-watch", action="store_true", help="push without following Flux")
    p.add_argument(
        "--record",
        metavar="FILE.cast",
        help="record the interactive session (asciicast v2; typed keys are never recorded)",
    )
    p.add_argument(
        "--size", default="100x30", metavar="COLSxROWS", help="terminal size of a recorded session (default 100x30)"
    )
    _cluster(p, sub=False)
    _common(p, sub=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("steps", help="list the steps and their state")
    _common(s)

    pl = sub.add_parser("plan", help="show the diff of what would be written")
    _common(pl)
    pl.add_argument("steps", nargs="*", metavar="STEP", help=f"steps ({', '.join(STEP_NAMES)}); default all")
    pl.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes, 0 when none")
    pl.add_argument("--split-flux-files", action="store_true", help=SPLIT_HELP)

    r = sub.add_parser("run", help="write the plan, encrypt, commit, push and watch Flux")
    _common(r)
    r.add_argument("steps", nargs="*", metavar="STEP", help=f"steps ({', '.join(STEP_NAMES)}); default all")
    r.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    r.add_argument("--no-commit", action="store_true", help="write files only")
    r.add_argument("--no-push", action="store_true", help="commit but do not push")
    r.add_argument("--no-watch", action="store_true", help="do not wait for Flux")
    tok = r.add_mutually_exclusive_group()
    tok.add_argument("--token-env", metavar="VAR", help="read the DNS provider token from this environment variable")
    tok.add_argument("--token-stdin", action="store_true", help="read the DNS provider token from standard input")
    r.add_argument("--skip-token-check", action="store_true", help="do not check the token with the DNS provider's API")
    r.add_argument("--split-flux-files", action="store_true", help=SPLIT_HELP)
    r.add_argument(
        "--accept-controller-changes",
        action="store_true",
        help="apply the listed value changes to an ingress controller that already serves other apps",
    )
    r.add_argument(
        "--replace-token",
        action="store_true",
        help="write the given token even when the existing Secret cannot be decrypted to compare",
    )
    _cluster(r)
    r.add_argument(
        "--no-cluster",
        action="store_true",
        help="never write to the cluster (prerequisites: print the kubectl command for the sops Secret)",
    )
    _timeout(r)
    r.add_argument(
        "--skip-staging", action="store_true", help="write the smoke test with letsencrypt-production at once"
    )
    r.add_argument("--no-prove", action="store_true", help="do not prove the edge after Flux is ready")
    r.add_argument(
        "--remove",
        action="store_true",
        help="remove the named step (smoke-test): delete its files, commit, push, wait until Flux pruned it",
    )
    r.add_argument("--resolver", metavar="IP[:PORT]", help="the proof asks this nameserver (see verify)")
    r.add_argument("--ca-bundle", metavar="FILE", help="the proof verifies HTTPS against these roots (see verify)")

    w = sub.add_parser("watch", help="follow Flux reconciling the stage at the current HEAD (no push)")
    _common(w)
    _cluster(w)
    _timeout(w)

    v = sub.add_parser(
        "verify",
        help="prove the edge: DNS record, addresses, port 80, the certificate, HTTPS 200",
        description="Check the smoke test's host from outside (DNS, port 80, HTTPS with a verified chain) and in "
        "the cluster (node addresses, the Certificate and its Secret). Exit codes: 0 proven, 1 a check failed, "
        "2 bad input, 3 timed out.",
    )
    _common(v)
    _cluster(v)
    v.add_argument("--host", metavar="H", help="the host to prove (default: the smoke test's host)")
    v.add_argument("--no-cluster", action="store_true", help="only the checks from outside (DNS, 80, HTTPS)")
    v.add_argument(
        "--resolver", metavar="IP[:PORT]", help="ask this nameserver (instead of the zone's and the system's)"
    )
    v.add_argument("--ca-bundle", metavar="FILE", help="verify the chain against these roots (PEM), not the system's")
    v.add_argument(
        "--token-env",
        metavar="VAR",
        help="read the DNS provider token from this variable: the record is then checked at the provider",
    )
    v.add_argument("--timeout", default="60s", help="how long to keep checking while a check can still pass (60s)")
    v.add_argument("--http-port", type=int, default=80, help=argparse.SUPPRESS)  # tests: a server on a high port
    v.add_argument("--https-port", type=int, default=443, help=argparse.SUPPRESS)

    dr = sub.add_parser("doctor", help="check the repository (and the cluster) for known pitfalls")
    _common(dr)
    _cluster(dr)
    dr.add_argument("--offline", action="store_true", help="repository checks only; do not contact the cluster")

    d = sub.add_parser(
        "demo",
        help="run the whole flow on a throwaway sandbox repository",
        description="Run the wizard on a throwaway sandbox (a guide-shaped repository with a "
        "local bare remote, example answers and a fake DNS token). The reconcile "
        "stage replays a recorded event timeline, labelled 'replay'. Without a "
        "terminal it prints plain lines instead of opening the UI.",
    )
    _common(d)
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
        "--record",
        metavar="FILE.cast",
        default=argparse.SUPPRESS,
        help="record the session (asciicast v2; typed keys are never recorded)",
    )
    d.add_argument(
        "--size",
        metavar="COLSxROWS",
        default=argparse.SUPPRESS,
        help="terminal size of a recorded session (default 100x30)",
    )
    d.add_argument("--sandbox", metavar="DIR", help=argparse.SUPPRESS)  # a recorded child's sandbox
    return p


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
