"""Command line: ``edge-wizard [steps|plan|run|...]``. Imports stay lazy so ``--help`` is instant.

Exit codes: 0 done or nothing to do; 1 a step or later stage failed; 2 bad input or usage
(nothing written); 3 timed out waiting; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Sequence

STEP_NAMES = ("ingress", "firewall", "external-dns", "cert-manager", "cluster-issuers", "smoke-test")


class Out:
    """Plain text (no colour, no spinners) or one JSON object per line."""

    def __init__(self, json_mode: bool) -> None:
        self.json = json_mode

    def line(self, text: str = "") -> None:
        if not self.json:
            print(text, flush=True)

    def obj(self, data: dict[str, Any]) -> None:
        if self.json:
            print(json.dumps(data, sort_keys=True), flush=True)

    def warn(self, text: str) -> None:
        if self.json:
            self.obj({"event": "Warning", "message": text})
        else:
            print(f"⚠ {text}", file=sys.stderr, flush=True)

    def error(self, text: str, code: int) -> None:
        if self.json:
            self.obj({"event": "Failed", "message": text, "exit_code": code})
        else:
            print(f"✗ {text}", file=sys.stderr, flush=True)

    def event(self, ev: Any) -> None:
        from wizard.render import plain_line

        if self.json:
            self.obj(ev.to_json())
        else:
            text = plain_line(ev)
            if text:
                self.line(text)


def _common(p: argparse.ArgumentParser, *, sub: bool = True) -> None:
    # Subcommands repeat the global options; SUPPRESS keeps a value given before the command.
    d: dict[str, Any] = {"default": argparse.SUPPRESS} if sub else {}
    p.add_argument("--repo", metavar="PATH", help="the Flux repository (default: the git top level of the cwd)", **d)
    p.add_argument("--answers", metavar="FILE", help="answers file (YAML; see README)", **d)
    p.add_argument("--json", action="store_true", help="print one JSON object per line", **d)
    p.add_argument("--debug", action="store_true", help="show tracebacks", **d)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edge-wizard",
        description="Set up the edge of a Flux GitOps cluster repository: ingress controller, "
                    "external-dns, cert-manager with Let's Encrypt, the host firewall rule for 80/443 "
                    "and a smoke-test app with TLS.",
        epilog="Run without a command in a terminal for the interactive wizard. Exit codes: 0 done, "
               "1 failed, 2 bad input (nothing written), 3 timed out.")
    from wizard import __version__

    p.add_argument("--version", action="version", version=f"edge-wizard {__version__}")
    p.add_argument("--plain", action="store_true", help="interactive prompts without the full-screen UI")
    p.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)")
    p.add_argument("--record", metavar="FILE.cast", help="record the interactive session (asciicast v2; typed keys are never recorded)")
    p.add_argument("--size", default="100x30", metavar="COLSxROWS", help="terminal size of a recorded session (default 100x30)")
    _common(p, sub=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("steps", help="list the steps and their state")
    _common(s)

    pl = sub.add_parser("plan", help="show the diff of what would be written")
    _common(pl)
    pl.add_argument("steps", nargs="*", metavar="STEP", help=f"steps ({', '.join(STEP_NAMES)}); default all")
    pl.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes, 0 when none")

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
    r.add_argument("--replace-token", action="store_true",
                   help="write the given token even when the existing Secret cannot be decrypted to compare")
    r.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)")
    r.add_argument("--timeout", default="20m", help="how long to wait for Flux (e.g. 90s, 20m)")

    dr = sub.add_parser("doctor", help="check the repository (and the cluster) for known pitfalls")
    _common(dr)
    dr.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)")
    dr.add_argument("--offline", action="store_true", help="repository checks only; do not contact the cluster")

    d = sub.add_parser("demo", help="run the whole flow on a throwaway sandbox repository")
    _common(d)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Out(getattr(args, "json", False))
    from wizard.errors import WizardError

    try:
        if args.command is None:
            return _interactive(args, out)
        handler = {"steps": cmd_steps, "plan": cmd_plan, "run": cmd_run, "demo": cmd_demo,
                   "doctor": cmd_doctor}[args.command]
        return handler(args, out)
    except WizardError as exc:
        if args.debug:
            raise
        out.error(str(exc), exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        out.error("Interrupted.", 130)
        return 130


def _interactive(args: argparse.Namespace, out: Out) -> int:
    """No subcommand: the Textual UI in a terminal, plain prompts with --plain or when only stdin
    is a terminal (ssh -T, serial consoles, piped output); usage otherwise."""
    if not sys.stdin.isatty():
        parser().print_help(sys.stderr)
        return 2
    if args.record and not os.environ.get("EDGE_WIZARD_RECORDING"):
        return _record_self(args)
    if args.plain or not sys.stdout.isatty():
        from wizard.plain import run_plain

        return run_plain(repo=args.repo, answers_file=args.answers, context=args.context, debug=args.debug)
    from wizard.ui.app import run_tui

    return run_tui(repo=args.repo, answers_file=args.answers, context=args.context, debug=args.debug)


def _record_self(args: argparse.Namespace) -> int:
    """Re-run this same command in a pty of --size and record what it prints."""
    from pathlib import Path

    from wizard.record import parse_size, record

    argv = [sys.executable, "-m", "wizard", *sys.argv[1:]]
    env = {**os.environ, "EDGE_WIZARD_RECORDING": "1"}
    return record(argv, Path(args.record), size=parse_size(args.size), env=env)


def _engine(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Any:
    from wizard.engine import Engine

    return Engine(repo=args.repo, answers_file=args.answers, overrides=overrides)


def cmd_steps(args: argparse.Namespace, out: Out) -> int:
    from wizard import steps as steps_mod

    engine = _engine(args)
    engine.load()
    rows = []
    for step in steps_mod.select(None):
        try:
            plan = engine.plan([step.name])
            state = plan.step_state(step.name)
            problem = ""
        except Exception as exc:  # a step that cannot plan yet (missing answer, no policy)
            from wizard.errors import WizardError

            if not isinstance(exc, WizardError):
                raise
            state, problem = "blocked", str(exc)
        rows.append({"step": step.name, "title": step.title, "state": state, "summary": step.summary,
                     "problem": problem})
    if out.json:
        for row in rows:
            out.obj({"event": "Step", **row})
    else:
        for row in rows:
            out.line(f"{row['step']:<16} {row['state']:<11} {row['summary']}")
            if row["problem"]:
                out.line(f"{'':<16} {row['problem']}")
    return 0


def _print_plan(plan: Any, out: Out) -> None:
    for w in plan.warnings:
        out.warn(w)
    for change in plan.pending:
        if out.json:
            out.obj({"event": "FileChange", "path": change.path, "status": change.status,
                     "steps": list(change.steps), "diff": change.diff()})
        else:
            out.line(change.diff().rstrip("\n"))
    for secret in plan.secrets:
        state = "exists" if secret.exists else "new"
        if out.json:
            out.obj({"event": "SecretChange", "path": secret.path, "status": state})
        else:
            out.line(f"# {secret.path}: sops-encrypted Secret {secret.namespace}/{secret.name} ({state}; "
                     "written at run time, its value is never shown)")


def cmd_plan(args: argparse.Namespace, out: Out) -> int:
    engine = _engine(args)
    plan = engine.plan(args.steps)
    _print_plan(plan, out)
    if not plan.pending and not out.json:
        out.line("Nothing to change: the repository is up to date.")
    return 1 if (args.exit_code and plan.pending) else 0


def _read_token(args: argparse.Namespace, needed: bool) -> str | None:
    from wizard.errors import UserError

    token: str | None = None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise UserError(f"--token-env {args.token_env}: that environment variable is not set or empty. "
                            f"Export it first (e.g. read -s {args.token_env}; export {args.token_env}).")
    elif args.token_stdin:
        token = sys.stdin.read()
    elif needed and sys.stdin.isatty():
        import getpass

        token = getpass.getpass("DNS provider token (input hidden): ")
    if token is None:
        return None
    token = token.strip()
    if not token or any(c.isspace() for c in token) or not token.isprintable():
        raise UserError("The DNS token is empty or has spaces or control characters inside, so it was "
                        "probably pasted wrong. Copy it again from the provider's console.")
    return token


def cmd_run(args: argparse.Namespace, out: Out) -> int:
    from wizard.engine import RunOptions
    from wizard.errors import UserError

    engine = _engine(args)
    plan = engine.plan(args.steps)
    needs_token = any(not s.exists for s in plan.secrets)
    token = _read_token(args, needs_token) if plan.secrets else None
    if token is not None:
        for event in engine.check_token(token, skip=args.skip_token_check):
            out.event(event)
        plan = engine.plan(args.steps)  # the provider may have named a longer zone
    if not args.yes:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UserError("edge-wizard run needs --yes when it is not attached to a terminal (it will not "
                            "guess or wait for an answer on standard input). Review with `edge-wizard plan` "
                            "first, then run again with --yes.")
        _print_plan(plan, out)
        if plan.pending or plan.secrets:
            reply = input("Write these changes? [y/N] ").strip().lower()
            if reply not in ("y", "yes"):
                out.line("No changes were made.")
                return 0
    options = RunOptions(commit=not args.no_commit, push=not (args.no_push or args.no_commit),
                         watch=not args.no_watch, token=token, skip_token_check=args.skip_token_check,
                         replace_token=args.replace_token,
                         context=args.context)
    for event in engine.run(plan, options):
        out.event(event)
    return 0


def cmd_doctor(args: argparse.Namespace, out: Out) -> int:
    from wizard.doctor import cmd_doctor as doctor

    return doctor(args, out)


def cmd_demo(args: argparse.Namespace, out: Out) -> int:
    from wizard.demo import make_sandbox
    from wizard.engine import Engine, RunOptions

    box = make_sandbox()
    out.line(f"► sandbox: a guide-shaped repository in {box.repo} (remote {box.remote})")
    engine = Engine(repo=box.repo, answers_file=str(box.answers))
    names = ["ingress", "firewall", "cert-manager", "cluster-issuers", "smoke-test"]
    plan = engine.plan(names)
    _print_plan(plan, out)
    for event in engine.run(plan, RunOptions(commit=False, push=False, watch=False)):
        out.event(event)
    out.line(f"✔ demo done: inspect {box.repo} (git status, git diff)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
