"""`hpo-tui` entry point: argument parsing and dispatch.

Kept light so `hpo-tui --help` is instant: every handler lives in
hpo_tui/commands/ and is imported only when its subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

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


class _Version(argparse.Action):
    """--version, looking the version up only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        import hpo_tui

        print(f"hpo-tui {hpo_tui.__version__}")  # on stdout, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    backend = _backend_options()
    interval = _interval_option()
    parser = argparse.ArgumentParser(
        prog="hpo-tui",
        description="Launch and watch hyperparameter tuning jobs of the MXNet MNIST script, "
        "locally or on Amazon SageMaker. With no command, opens the configure screen.",
        parents=[backend, interval],
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
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

    p = sub.add_parser("doctor", parents=[backend],
                       help="check an AWS account before a SageMaker launch (read-only): credentials, "
                            "region, role, quotas, image, data, bucket")
    p.add_argument("spec_path", metavar="SPEC", nargs="?", help="spec file (TOML; default: the reference spec)")
    p.set_defaults(handler="hpo_tui.commands.doctor:cmd_doctor")

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

    p = sub.add_parser("export", parents=[backend], help="export one row per training job, or an Optuna study")
    p.add_argument("name")
    p.add_argument("--format", choices=("csv", "json", "optuna"), default="csv",
                   help="csv or json: one row per training job; optuna: an Optuna JournalStorage "
                        "file (one study; open it with optuna.load_study or optuna-dashboard FILE)")
    p.add_argument("--output", "-o", help="file to write (default: standard output; required for optuna)")
    p.set_defaults(handler="hpo_tui.commands.jobs:cmd_export")

    p = sub.add_parser("delete", parents=[backend],
                       help="delete ended local tuning jobs: store rows and folders (models, logs); asks first")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask (needed when not on a terminal)")
    p.add_argument("--in-account", action="store_true",
                   help="sagemaker: delete the tuning job's record in the AWS account (DeleteHyperParameterTuningJob; "
                        "its training jobs, models and logs stay); never done without this flag")
    p.set_defaults(handler="hpo_tui.commands.housekeeping:cmd_delete")

    p = sub.add_parser("prune", help="delete local tuning jobs that ended longer ago than --older-than; asks first")
    p.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 30d, 12h, 2w")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask (needed when not on a terminal)")
    p.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    p.set_defaults(handler="hpo_tui.commands.housekeeping:cmd_prune")

    p = sub.add_parser("compare", parents=[backend],
                       help="2-4 tuning jobs side by side, or 2-4 training jobs of one tuning job",
                       description="Tuning jobs: best so far against jobs and wall time, each one's best "
                       "training job and its hyperparameters, the warm-start lineage. Training jobs (of one "
                       "tuning job): every metric per epoch, and the hyperparameters that differ.")
    p.add_argument("names", nargs="+", metavar="NAME", help="2 to 4 tuning jobs, or training jobs of one tuning job")
    p.add_argument("--tuning-job", metavar="NAME",
                   help="the tuning job of the training jobs named (default: read from their names)")
    p.set_defaults(handler="hpo_tui.commands.compare:cmd_compare")

    p = sub.add_parser("attach", parents=[backend, interval], help="open the dashboard of a tuning job")
    p.add_argument("name")
    p.set_defaults(handler="hpo_tui.commands.tui:cmd_attach")

    p = sub.add_parser(
        "serve", parents=[backend, interval],
        help="serve the app to a web browser (one app per tab; loopback and a URL token by default)",
        description="Serve the TUI as a web page with textual-serve. START picks the screen each tab opens "
        "with, as for the TUI: nothing (configure), `attach NAME` or `jobs`. From another machine, tunnel: "
        "ssh -L 8000:127.0.0.1:8000 HOST, then open the printed URL.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host: anyone who reaches it can launch jobs with your credentials")
    p.add_argument("--no-token", action="store_true", help="serve without the URL token (not recommended)")
    p.add_argument("--max-tabs", type=int, default=4,
                   help="browser tabs served at once; each is an app that polls (default: 4)")
    p.add_argument("--spec", metavar="FILE", help="open the configure screen with this spec (TOML)")
    # "*", not REMAINDER: the serve options may come after the start screen too
    # (`serve attach NAME --port 0`), as they may after any other command's arguments.
    p.add_argument("app_args", nargs="*", metavar="START",
                   help="configure (default), attach NAME, or jobs")
    p.set_defaults(handler="hpo_tui.commands.serve:cmd_serve")

    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Every failure ends in one clear line on stderr and a non-zero exit,
    never a traceback: the full traceback of an unexpected error goes to the debug log."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from hpo_tui.crash import debug_log, explain
    from hpo_tui.errors import UserError
    from hpo_tui.sanitize import sanitize

    try:
        module_name, func_name = args.handler.split(":")
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except UserError as err:
        # Messages may quote AWS or spec text: never let it drive the terminal.
        print(f"hpo-tui: {sanitize(str(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`, which closed early: not an error. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:  # noqa: BLE001 - the last resort: one line, traceback to a file
        where = debug_log(err, argv if argv is not None else sys.argv[1:])
        print(f"hpo-tui: {sanitize(explain(err))}" + (f" (details in {where})" if where else ""),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
