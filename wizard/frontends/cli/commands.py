"""The subcommands: each builds the flow's options from its flags, runs one flow and renders its
events (one ``asyncio.run`` per command). The exit code is the last event's: Done 0, Failed its own."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from wizard import events as ev
from wizard.frontends.cli.output import Out


def drive(events: AsyncIterator[ev.Event], out: Out) -> int:
    """Render every event of a flow; the exit code is the last Done (0) or Failed (its code)."""

    async def go() -> int:
        async for e in events:
            out.event(e)
        return out.exit_code

    return asyncio.run(go())


def options(args: argparse.Namespace, **extra: Any) -> Any:
    from wizard.flow import Options

    cluster = getattr(args, "cluster", None)
    if cluster and "overrides" not in extra:
        extra["overrides"] = {"cluster": cluster}
    if getattr(args, "skip", None):
        extra.setdefault("skip", tuple(args.skip))
    return Options(
        repo=getattr(args, "repo", None),
        answers_file=getattr(args, "answers", None),
        kubeconfig=getattr(args, "kubeconfig", None),
        context=getattr(args, "context", None),
        debug=getattr(args, "debug", False),
        **extra,
    )


def cmd_steps(args: argparse.Namespace, out: Out) -> int:
    from wizard.flow import Services, steps_flow

    return drive(steps_flow(Services(), options(args)), out)


def cmd_plan(args: argparse.Namespace, out: Out) -> int:
    from wizard.flow import Services, plan_flow

    changes = 0

    class Counting(Out):
        def event(self, e: ev.Event) -> None:
            nonlocal changes
            changes += isinstance(e, ev.FileChange)
            super().event(e)

    counted = Counting(out.json)
    code = drive(
        plan_flow(Services(), options(args, steps=tuple(args.steps), split_flux_files=args.split_flux_files)), counted
    )
    if code == 0 and args.exit_code and changes:
        return 1
    return code


def _timeout(args: argparse.Namespace) -> float:
    from wizard.flux import parse_duration

    return parse_duration(args.timeout)  # a bad --timeout fails before anything is read or written


def cmd_run(args: argparse.Namespace, out: Out) -> int:
    from wizard.flow import Services, run_flow
    from wizard.frontends.cli.decisions import FlagDecisions

    opts = options(
        args,
        steps=tuple(args.steps),
        commit=not args.no_commit,
        push=not (args.no_push or args.no_commit),
        watch=not (args.no_watch or args.no_push or args.no_commit),
        cluster=not args.no_cluster,
        timeout=_timeout(args),
        skip_token_check=args.skip_token_check,
        replace_token=args.replace_token,
        prove=not args.no_prove,
        skip_staging=args.skip_staging,
        proof=_run_proof(args),
        split_flux_files=args.split_flux_files,
        remove=args.remove,
    )
    # a person at the prompt sees the diff; the preflight's findings are in --json and in the end
    shown = Out(out.json, show_plan=not args.yes, show_checks=False)
    return drive(run_flow(Services(), FlagDecisions(args, shown), opts), shown)


def _run_proof(args: argparse.Namespace) -> Any:
    """run's proof options: None (the defaults) unless --resolver or --ca-bundle is given."""
    if not (args.resolver or args.ca_bundle):
        return None
    from wizard.prove import ProveOptions
    from wizard.prove.net import parse_resolver

    _check_bundle(args.ca_bundle)
    resolver = parse_resolver(args.resolver) if args.resolver else None
    return ProveOptions(
        resolver=resolver, ca_bundle=args.ca_bundle, cluster=not args.no_cluster, timeout=_timeout(args)
    )


def _check_bundle(path: str | None) -> None:
    from wizard.errors import UserError

    if path and not Path(path).is_file():
        raise UserError(
            f"--ca-bundle {path} is not a file. The HTTPS check verifies the chain against the roots in "
            "it: pass a PEM file (e.g. the ACME server's root certificate), or leave it out for the system trust store."
        )


def cmd_watch(args: argparse.Namespace, out: Out) -> int:
    from wizard.flow import Services, watch_flow

    return drive(watch_flow(Services(), options(args, timeout=_timeout(args))), out)


def cmd_verify(args: argparse.Namespace, out: Out) -> int:
    from wizard.errors import UserError
    from wizard.flow import Services, verify_flow
    from wizard.prove import ProveOptions
    from wizard.prove.net import parse_resolver

    timeout = _timeout(args)
    resolver = parse_resolver(args.resolver) if args.resolver else None
    _check_bundle(args.ca_bundle)
    for port in (args.http_port, args.https_port):
        if not 0 < port < 65536:
            raise UserError(f"The port {port} is not a number from 1 to 65535.")
    token = None
    if args.token_env:
        from wizard.childenv import take

        token = take(args.token_env)  # out of os.environ (cli.main already took it): no child inherits it
        if not token:
            raise UserError(
                f"--token-env {args.token_env}: that environment variable is not set or empty. Export it first, or "
                "leave --token-env out (the record is then not read at the provider)."
            )
    proof = ProveOptions(
        resolver=resolver,
        ca_bundle=args.ca_bundle,
        cluster=not args.no_cluster,
        timeout=timeout,
        http_port=args.http_port,
        https_port=args.https_port,
        token=token.strip() if token else None,
    )
    opts = options(args, cluster=not args.no_cluster, host=args.host, proof=proof)
    return drive(verify_flow(Services(), opts), out)


def cmd_doctor(args: argparse.Namespace, out: Out) -> int:
    from wizard.flow import Services, doctor_flow

    return drive(doctor_flow(Services(), options(args), offline=args.offline), out)


# -- the interactive front ends ---------------------------------------------------------------------
def interactive(args: argparse.Namespace, out: Out) -> int:
    """No subcommand: the Textual UI in a terminal, plain prompts with --plain or when only stdin
    is a terminal (ssh -T, serial consoles, piped output); usage otherwise."""
    from wizard.frontends.cli import parser

    if not sys.stdin.isatty():
        parser().print_help(sys.stderr)
        return 2
    if args.record and not os.environ.get("EDGE_WIZARD_RECORDING"):
        return _record_self(args)
    opts = options(args, watch=not args.no_watch)
    if args.plain or not sys.stdout.isatty():
        from wizard.frontends.plain import run_plain

        return run_plain(opts, debug=args.debug)
    from wizard.frontends.tui.app import run_tui

    return run_tui(opts, debug=args.debug)


def _record_self(args: argparse.Namespace) -> int:
    """Re-run this same command in a pty of --size and record what it prints."""
    from wizard.childenv import environ
    from wizard.demo.record import parse_size, record

    argv = [sys.executable, "-m", "wizard", *sys.argv[1:]]
    env = {**environ(), "EDGE_WIZARD_RECORDING": "1"}  # the recorded wizard needs the age key variables
    return record(argv, Path(args.record), size=parse_size(args.size), env=env)


# -- the demo ----------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace, out: Out) -> int:
    """A sandbox, then: the UI (a terminal), the UI driven by a script in a pty (--script), the plain
    prompts (--plain in a terminal), or plain lines (no terminal: `make demo` in a pipe or CI never
    waits for a key). Every one shows the demo's captions (why each stage is there)."""
    from wizard import childenv, demo

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
        code = _demo_recorded(args, box, pace, tty, dict(childenv.environ()))
        _demo_summary(box, out, code, record_to)
        return code
    if args.sandbox or (tty and not getattr(args, "plain", False)):
        return _demo_tui(args, box, pace, out)
    if tty:  # --plain in a terminal: the plain prompts
        from wizard.frontends.plain import run_plain

        out.line(f"  At 'DNS provider token' type any token, e.g. {demo.DEMO_TOKEN}: it is never checked or sent.")
        code = run_plain(box.options(), services=box.services(pace), wrap=demo.captioned)
    else:
        out.line("► no terminal: the demo runs unattended and prints what the wizard does")
        code = drive(demo.captioned(demo.run_unattended(box, pace=0.0)), Out(out.json, show_plan=False))
    _demo_summary(box, out, code, None)
    return code


def _demo_recorded(args: argparse.Namespace, box: Any, pace: float, tty: bool, env: dict[str, str]) -> int:
    """The demo's UI in a pty of --size, typed by the script (--script) or by you, recorded (--record)
    with a marker per stage."""
    from wizard.demo.record import parse_size, record
    from wizard.demo.script import script_feeder
    from wizard.errors import UserError

    if getattr(args, "plain", False):
        raise UserError("--plain cannot be recorded or scripted here: --script and --record drive the full-screen UI.")
    argv = [sys.executable, "-m", "wizard", "demo", "--sandbox", str(box.root), "--pace", str(pace)]
    feeder = script_feeder(pace) if args.script else None
    if feeder is None and not tty:
        raise UserError("--record without --script needs a terminal to type in; add --script.")
    record_to = getattr(args, "record", None)
    return record(
        argv,
        Path(record_to) if record_to else Path(os.devnull),
        size=parse_size(getattr(args, "size", None) or "100x30"),
        env={**env, "EDGE_WIZARD_RECORDING": "1", "COLORTERM": "truecolor"},  # the theme's own colours
        feeder=feeder,
        title="edge-wizard demo",
        passthrough=sys.stdout.isatty(),
        marks=True,
    )


def _demo_tui(args: argparse.Namespace, box: Any, pace: float, out: Out) -> int:
    from wizard import demo
    from wizard.frontends.tui.app import make_app

    if not args.sandbox:
        out.line(
            f"  Type any token at 'DNS provider token', e.g. {demo.DEMO_TOKEN}: it is never checked or sent anywhere."
        )
        input("  Press Enter to start the wizard… ")
    app = make_app(
        box.options(),
        services=box.services(pace),
        repo_name="demo cluster",
        label=demo.REPLAY_LABEL,
        wrap=demo.captioned,
    )
    app.run()
    code = 130 if app.return_code is None else app.return_code
    if not args.sandbox:
        _demo_summary(box, out, code, None)
    return code


def _demo_summary(box: Any, out: Out, code: int, cast: str | None) -> None:
    if code == 0:
        out.line(f"✔ demo done: the sandbox is {box.root} (git -C {box.repo} log --stat; the remote is {box.remote})")
    else:
        out.line(f"✗ demo stopped (exit {code}); the sandbox is {box.root}")
    if cast:
        out.line(f"  recording: {cast} (asciicast v2; play it with asciinema play {cast})")
