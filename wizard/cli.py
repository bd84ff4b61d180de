"""Command line: ``edge-wizard [steps|plan|run|...]``. Imports stay lazy so ``--help`` is instant.

Exit codes: 0 done or nothing to do; 1 a step or later stage failed; 2 bad input or usage
(nothing written); 3 timed out waiting; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

STEP_NAMES = ("prerequisites", "ingress", "firewall", "external-dns", "cert-manager", "cluster-issuers", "smoke-test")


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
        "1 failed, 2 bad input (nothing written), 3 timed out.",
    )
    from wizard import __version__

    p.add_argument("--version", action="version", version=f"edge-wizard {__version__}")
    p.add_argument("--plain", action="store_true", help="interactive prompts without the full-screen UI")
    p.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)")
    p.add_argument(
        "--record",
        metavar="FILE.cast",
        help="record the interactive session (asciicast v2; typed keys are never recorded)",
    )
    p.add_argument(
        "--size", default="100x30", metavar="COLSxROWS", help="terminal size of a recorded session (default 100x30)"
    )
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
    r.add_argument(
        "--replace-token",
        action="store_true",
        help="write the given token even when the existing Secret cannot be decrypted to compare",
    )
    r.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)")
    r.add_argument(
        "--no-cluster",
        action="store_true",
        help="never write to the cluster (prerequisites: print the kubectl command for the sops Secret)",
    )
    r.add_argument("--timeout", default="20m", help="how long to wait for Flux (e.g. 90s, 20m)")

    w = sub.add_parser("watch", help="follow Flux reconciling the stage at the current HEAD (no push)")
    _common(w)
    w.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)")
    w.add_argument("--timeout", default="20m", help="how long to wait for Flux (e.g. 90s, 20m)")

    dr = sub.add_parser("doctor", help="check the repository (and the cluster) for known pitfalls")
    _common(dr)
    dr.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)")
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
    out = Out(getattr(args, "json", False))
    from wizard.errors import WizardError

    try:
        if args.command is None:
            return _interactive(args, out)
        handler = {
            "steps": cmd_steps,
            "plan": cmd_plan,
            "run": cmd_run,
            "demo": cmd_demo,
            "doctor": cmd_doctor,
            "watch": cmd_watch,
        }[args.command]
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
    from wizard.steptable import step_table

    layout, answers = _engine(args).load()
    rows = [row.to_json() for row in step_table(layout, answers)]
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
            out.obj(
                {
                    "event": "FileChange",
                    "path": change.path,
                    "status": change.status,
                    "steps": list(change.steps),
                    "diff": change.diff(),
                }
            )
        else:
            out.line(change.diff().rstrip("\n"))
    for secret in plan.secrets:
        state = "exists" if secret.exists else "new"
        if out.json:
            out.obj({"event": "SecretChange", "path": secret.path, "status": state})
        else:
            out.line(
                f"# {secret.path}: sops-encrypted Secret {secret.namespace}/{secret.name} ({state}; "
                "written at run time, its value is never shown)"
            )


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
            raise UserError(
                f"--token-env {args.token_env}: that environment variable is not set or empty. "
                f"Export it first (e.g. read -s {args.token_env}; export {args.token_env})."
            )
    elif args.token_stdin:
        token = sys.stdin.read()
    elif needed and sys.stdin.isatty():
        import getpass

        token = getpass.getpass("DNS provider token (input hidden): ")
    if token is None:
        return None
    token = token.strip()
    if not token or any(c.isspace() for c in token) or not token.isprintable():
        raise UserError(
            "The DNS token is empty or has spaces or control characters inside, so it was "
            "probably pasted wrong. Copy it again from the provider's console."
        )
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
            raise UserError(
                "edge-wizard run needs --yes when it is not attached to a terminal (it will not "
                "guess or wait for an answer on standard input). Review with `edge-wizard plan` "
                "first, then run again with --yes."
            )
        _print_plan(plan, out)
        actions = _prerequisite_actions(engine, plan, args)
        for line in actions:
            out.line(f"► will {line}")
        if plan.pending or plan.secrets or actions:
            reply = input("Write these changes? [y/N] ").strip().lower()
            if reply not in ("y", "yes"):
                out.line("No changes were made.")
                return 0
    options = RunOptions(
        commit=not args.no_commit,
        push=not (args.no_push or args.no_commit),
        watch=not args.no_watch,
        token=token,
        skip_token_check=args.skip_token_check,
        replace_token=args.replace_token,
        context=args.context,
        cluster=not args.no_cluster,
    )
    watcher = None
    if options.watch and options.push:
        from wizard.flux import FluxWatcher, parse_duration, preflight_sync

        options.timeout = parse_duration(args.timeout)  # a bad --timeout fails before anything is written
        watcher = FluxWatcher(context=args.context)
        for event in preflight_sync(watcher):  # UserError (exit 2) before writing: no cluster, old Flux
            out.event(event)
    for event in engine.run(plan, options):
        out.event(event)
    if watcher is not None and engine.pushed_sha:
        from wizard.flux import follow_sync

        with _diagnosed(engine.layout, args.context, out):
            follow_sync(watcher, engine.layout, plan, engine.pushed_sha, timeout=options.timeout, on_event=out.event)
    return 0


@contextlib.contextmanager
def _diagnosed(layout: Any, context: str | None, out: Out) -> Iterator[None]:
    """When following Flux fails or times out, add doctor's diagnosis (with fixes) before the error."""
    from wizard.errors import StepFailed, WaitTimeout

    try:
        yield
    except (StepFailed, WaitTimeout):
        try:
            from wizard import doctor

            findings = doctor.diagnose(layout, context=context)
            for event in doctor.as_events(findings):
                out.event(event)
        except Exception:  # the diagnosis is a bonus; never hide the real failure behind it
            pass
        raise


def cmd_watch(args: argparse.Namespace, out: Out) -> int:
    """Follow the stage's objects at the current HEAD, without writing or pushing anything."""
    import git  # GitPython

    from wizard.errors import UserError
    from wizard.flux import FluxWatcher, follow_sync, parse_duration

    timeout = parse_duration(args.timeout)
    engine = _engine(args)
    layout, _ = engine.load()
    try:
        sha = git.Repo(layout.root).head.commit.hexsha
    except ValueError:
        raise UserError(f"{layout.root} has no commits yet, so there is nothing for Flux to reconcile.") from None
    with _diagnosed(layout, args.context, out):
        follow_sync(
            FluxWatcher(context=args.context), layout, None, sha, timeout=timeout, on_event=out.event, preflight=True
        )
    return 0


def _prerequisite_actions(engine: Any, plan: Any, args: argparse.Namespace) -> list[str]:
    """What the prerequisites step will do outside the repository (age key, cluster Secret)."""
    if not any(s.step == "prerequisites" for s in plan.steps):
        return []
    from wizard.steps.prerequisites import prerequisite_actions

    return prerequisite_actions(
        engine.layout, engine.answers, cluster=not args.no_cluster, context=args.context
    ).describe()


def cmd_doctor(args: argparse.Namespace, out: Out) -> int:
    from wizard.doctor import cmd_doctor as doctor

    return doctor(args, out)


def cmd_demo(args: argparse.Namespace, out: Out) -> int:
    """A sandbox, then: the UI (a terminal), the UI driven by a script in a pty (--script), or
    plain lines (no terminal: `make demo` in a pipe or CI never waits for a key)."""
    from pathlib import Path

    from wizard import demo
    from wizard.errors import UserError

    pace = max(0.0, args.pace)
    if args.sandbox:  # the child of a recorded/scripted run: the UI only
        box = demo.open_sandbox(Path(args.sandbox))
    else:
        box = demo.make_sandbox()
        out.line(f"► demo sandbox {box.root}")
        out.line(f"  repository {box.repo} (pushes to the bare remote {box.remote})")
        for note in box.notes:
            out.line(f"  {note}")
    os.environ.update(box.env())
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    record_to = getattr(args, "record", None)
    if not args.sandbox and (args.script or record_to):
        from wizard.record import parse_size, record

        argv = [sys.executable, "-m", "wizard", "demo", "--sandbox", str(box.root), "--pace", str(pace)]
        feeder = demo.script_feeder(pace) if args.script else None
        if feeder is None and not tty:
            raise UserError("--record without --script needs a terminal to type in; add --script.")
        cast = Path(record_to) if record_to else Path(os.devnull)
        code = record(
            argv,
            cast,
            size=parse_size(getattr(args, "size", None) or "100x30"),
            env={**os.environ, "EDGE_WIZARD_RECORDING": "1"},
            feeder=feeder,
            title="edge-wizard demo",
            passthrough=sys.stdout.isatty(),
        )
        _demo_summary(box, out, code, record_to)
        return code
    if args.sandbox or tty:
        from wizard.ui.app import make_app

        if not args.sandbox:
            out.line(
                f"  Type any token at 'DNS provider token', e.g. {demo.DEMO_TOKEN}: it is never checked "
                "or sent anywhere."
            )
            input("  Press Enter to start the wizard… ")
        app = make_app(
            box.engine_factory(),
            repo=str(box.repo),
            answers_file=str(box.answers),
            reconcile_source=demo.replay_source(pace),
            reconcile_label=demo.REPLAY_LABEL,
            repo_name="demo cluster",
        )
        app.run()
        code = 130 if app.return_code is None else app.return_code
        if not args.sandbox:
            _demo_summary(box, out, code, None)
        return code
    out.line("► no terminal: the demo runs unattended and prints what the wizard does")
    sha = demo.run_plain(box, out.event, pace=0.0)
    _demo_summary(box, out, 0 if sha else 1, None)
    return 0 if sha else 1


def _demo_summary(box: Any, out: Out, code: int, cast: str | None) -> None:
    if code == 0:
        out.line(f"✔ demo done: the sandbox is {box.root} (git -C {box.repo} log --stat; the remote is {box.remote})")
    else:
        out.line(f"✗ demo stopped (exit {code}); the sandbox is {box.root}")
    if cast:
        out.line(f"  recording: {cast} (asciicast v2; play it with asciinema play {cast})")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
