"""Handlers of the interactive commands: `hpo-tui [--spec FILE]`, `attach NAME`, `jobs --tui`."""

from __future__ import annotations

import argparse
from pathlib import Path


def _run(app) -> int:
    import gc

    # Everything imported so far lives as long as the app: leave it out of the collector's
    # full passes (a 40-90 ms pause each, one of them before the first frame).
    gc.freeze()
    app.run()
    if app.exit_hint and not app.served:
        # e.g. how to reattach to the tuning job that keeps running. Served in a browser
        # (`hpo-tui serve`), the tab showed it in the quit dialog already; printed, it would
        # land in the server's log (textual-serve copies each tab's stderr there), once per tab.
        print(app.exit_hint)
    return int(app.return_code or 0)


def cmd_configure(args: argparse.Namespace) -> int:
    """Open the configure screen (with --spec FILE loaded; a bad file is reported, no TUI)."""
    spec = None
    spec_path = None
    if getattr(args, "spec", None):
        from hpo_tui.spec import load_spec

        spec_path = Path(args.spec)
        spec = load_spec(spec_path)  # SpecError is a UserError: the CLI prints it, exit 1
        if args.backend:
            spec.backend = args.backend
    backend_name, notice = _pick_backend(args.backend, spec)
    from hpo_tui.app.app import make_app

    return _run(make_app(backend_name=backend_name, spec=spec, spec_path=spec_path, interval=args.interval,
                         region=args.region, profile=args.profile, notice=notice))


def _pick_backend(explicit: str | None, spec) -> tuple[str, str | None]:
    """The backend the configure screen opens on, and a line to show when local training
    cannot run here: with nothing asked for, it opens on SageMaker instead of on a backend
    whose every training job would fail."""
    name = explicit or (spec.backend if spec is not None else "local")
    if name != "local":
        return name, None
    from hpo_tui.engine.support import local_training_problem

    problem = local_training_problem()
    if problem is None:
        return name, None
    if explicit is None and spec is None:
        return "sagemaker", f"Opened on SageMaker because {problem}"
    return name, problem[:1].upper() + problem[1:]


def cmd_attach(args: argparse.Namespace) -> int:
    """Open the dashboard of a tuning job; one the backend says does not exist is an error
    (exit 1) before any screen opens."""
    from hpo_tui.backends import make_backend
    from hpo_tui.backends.base import TuningJobNotFound, poll_rows

    backend_name = args.backend or "local"
    backend = make_backend(backend_name, region=args.region, profile=args.profile, interactive=True)
    session_of = getattr(backend, "boto_session", None)
    if session_of is not None:
        session_of()  # a mistyped --region or a missing profile: exit 1 now, not a screen of retries
    first = None
    try:
        first = poll_rows(backend, args.name)  # rows only: the dashboard's first frame shows it
    except TuningJobNotFound:
        _close(backend)
        raise  # a UserError: the CLI prints it, exit 1
    except Exception:  # noqa: BLE001 -- any other failure: the dashboard shows it and retries
        pass
    from hpo_tui.app.app import make_app

    app = make_app(backend_name=backend_name, attach=args.name, start="dashboard",
                   interval=getattr(args, "interval", None), region=args.region, profile=args.profile)
    app.adopt_backend(backend, first_poll=first)
    if first is not None:
        app.watched.add(args.name, backend_name, first.tuning_job.status)
    return _run(app)


def _close(backend) -> None:
    close = getattr(backend, "close", None)
    if close is not None:
        close()


def cmd_jobs_tui(args: argparse.Namespace) -> int:
    """Open the tuning jobs screen."""
    from hpo_tui.app.app import make_app

    return _run(make_app(backend_name=args.backend or "local", start="jobs",
                         interval=getattr(args, "interval", None), region=args.region, profile=args.profile))
