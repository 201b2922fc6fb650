"""`hpo-tui` entry point: argument parsing and dispatch.

Kept light so `hpo-tui --help` is instant: every handler lives in
hpo_tui/commands/ and is imported only when its subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from hpo_tui import __version__

BACKENDS = ("local", "sagemaker")


def _backend_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="where tuning jobs run (default: local, or the spec's backend)")
    p.add_argument("--region", help="AWS region (sagemaker backend; default: the AWS config chain)")
    p.add_argument("--profile", help="AWS profile (sagemaker backend)")
    return p


def _interval_option() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--interval", type=float, default=None,
                   help="seconds between polls (default: 1 locally, 15 on SageMaker)")
    return p


def build_parser() -> argparse.ArgumentParser:
    backend = _backend_options()
    interval = _interval_option()
    parser = argparse.ArgumentParser(
        prog="hpo-tui",
        description="Launch and watch hyperparameter tuning jobs of the MXNet MNIST script, "
        "locally or on Amazon SageMaker. With no command, opens the configure screen.",
        parents=[backend, interval],
    )
    parser.add_argument("--version", action="version", version=f"hpo-tui {__version__}")
    parser.add_argument("--spec", metavar="FILE", help="open the configure screen with this spec (TOML)")
    parser.set_defaults(handler="hpo_tui.commands.tui:cmd_configure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    spec = sub.add_parser("spec", help="create, check and render tuning specs (TOML)")
    spec_sub = spec.add_subparsers(dest="spec_command", metavar="ACTION", required=True)
    p = spec_sub.add_parser("init", help="write the default spec (the reference workflow)")
    p.add_argument("path", nargs="?", default="tuning.toml", help="where to write it (default: tuning.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler="hpo_tui.commands.spec:cmd_init")
    p = spec_sub.add_parser("validate", help="list every problem in a spec, or summarise it")
    p.add_argument("path")
    p.set_defaults(handler="hpo_tui.commands.spec:cmd_validate")
    p = spec_sub.add_parser("render", help="print the CreateHyperParameterTuningJob request JSON")
    p.add_argument("path")
    p.set_defaults(handler="hpo_tui.commands.spec:cmd_render")

    data = sub.add_parser("data", help="local MNIST channels")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    p = data_sub.add_parser("prepare", help="write MNIST train/test channels in IDX gzip format")
    p.add_argument("--dest", help="target directory (default: the data directory)")
    p.set_defaults(handler="hpo_tui.commands.data:cmd_prepare")

    p = sub.add_parser("launch", parents=[backend], help="launch a tuning job from a spec, without the TUI")
    p.add_argument("spec_path", metavar="SPEC", help="spec file (TOML)")
    p.add_argument("--wait", action="store_true", help="print progress until the tuning job ends")
    p.set_defaults(handler="hpo_tui.commands.jobs:cmd_launch")

    p = sub.add_parser("jobs", parents=[backend], help="list tuning jobs, newest first")
    p.add_argument("--tui", action="store_true", help="open the tuning jobs screen")
    p.add_argument("--name-contains", metavar="TEXT", help="only tuning jobs whose name contains TEXT")
    p.add_argument("--status", choices=("InProgress", "Completed", "Failed", "Stopping", "Stopped", "Deleting",
                                        "DeleteFailed"), help="only tuning jobs with this status")
    p.set_defaults(handler="hpo_tui.commands.jobs:cmd_jobs")

    p = sub.add_parser("status", parents=[backend], help="show a tuning job and its training jobs")
    p.add_argument("name")
    p.add_argument("--links", action="store_true",
                   help="also print each training job's console and CloudWatch Logs links (SageMaker)")
    p.add_argument("--price-per-hour", type=float, metavar="DOLLARS",
                   help="price of one instance-hour, for a cost estimate (SageMaker)")
    p.set_defaults(handler="hpo_tui.commands.jobs:cmd_status")

    p = sub.add_parser("stop", parents=[backend], help="stop a tuning job (idempotent)")
    p.add_argument("name")
    p.set_defaults(handler="hpo_tui.commands.jobs:cmd_stop")

    p = sub.add_parser("resume", help="restart the runner of a local tuning job whose runner died")
    p.add_argument("name")
    p.set_defaults(handler="hpo_tui.commands.jobs:cmd_resume")

    p = sub.add_parser("logs", parents=[backend], help="print a training job's log")
    p.add_argument("job", metavar="JOB", help="training job name")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the job ends")
    p.set_defaults(handler="hpo_tui.commands.jobs:cmd_logs")

    p = sub.add_parser("export", parents=[backend], help="export one row per training job")
    p.add_argument("name")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    p.set_defaults(handler="hpo_tui.commands.jobs:cmd_export")

    p = sub.add_parser("attach", parents=[backend, interval], help="open the dashboard of a tuning job")
    p.add_argument("name")
    p.set_defaults(handler="hpo_tui.commands.tui:cmd_attach")

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module_name, func_name = args.handler.split(":")
    handler = getattr(importlib.import_module(module_name), func_name)
    # Errors the user can act on carry their own message; print it without a traceback.
    from hpo_tui.errors import UserError

    try:
        return int(handler(args) or 0)
    except UserError as err:
        print(f"hpo-tui: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`, which closed early: not an error. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
