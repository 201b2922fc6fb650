"""`hpo-tui delete NAME...` and `hpo-tui prune --older-than 30d`: remove ended local tuning
jobs (store rows and folders), after saying what goes and asking (default: no)."""

from __future__ import annotations

import argparse
import sys

from hpo_tui.errors import UserError


def _confirm(plans: list, args: argparse.Namespace, verb: str) -> bool:
    from hpo_tui.backends.local_housekeeping import fmt_bytes

    total = sum(p.folder_bytes for p in plans)
    print(f"{verb} {len(plans)} tuning job{'s' if len(plans) != 1 else ''} ({fmt_bytes(total)} on disk):")
    for p in plans:
        print(f"  {p.describe()}")
    return _asked(args, verb.lower(), "Delete them? [y/N] ")


def _asked(args: argparse.Namespace, command: str, question: str) -> bool:
    """--yes, or a y typed at the question (anything else, or no terminal, keeps everything)."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise UserError(f"{command}: not asked on a terminal; add --yes to delete without asking")
    try:
        answer = input(question)
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("Cancelled: nothing was deleted.")
        return False
    return True


def _delete(plans: list) -> int:
    from hpo_tui.backends import local_housekeeping as hk

    for p in plans:
        hk.delete(p.name)
        print(f"Deleted {p.name} ({hk.fmt_bytes(p.folder_bytes)} freed).")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    if (args.backend or "local") != "local":
        if not args.in_account:
            from hpo_tui.backends.local_housekeeping import SAGEMAKER_NOTE

            raise UserError(SAGEMAKER_NOTE + "; --in-account deletes the tuning job's own record there")
        return _delete_in_account(args)
    if args.in_account:
        raise UserError("--in-account is for --backend sagemaker; local tuning jobs live on this machine only")
    from hpo_tui.backends import local_housekeeping as hk

    names = list(dict.fromkeys(args.names))
    plans = hk.plan(names)
    refused = [p.refused for p in plans if p.refused]
    if refused:
        raise UserError("; ".join(refused) + ". Nothing was deleted")
    if not _confirm(plans, args, "Delete"):
        return 1
    return _delete(plans)


def cmd_prune(args: argparse.Namespace) -> int:
    from hpo_tui.backends import local_housekeeping as hk

    seconds = hk.parse_age(args.older_than)
    plans = hk.plan_older_than(seconds)
    if not plans:
        print(f"No ended local tuning job is older than {args.older_than}: nothing to prune.")
        return 0
    if args.dry_run:
        for p in plans:
            print(f"  {p.describe()}")
        print(f"(dry run: {len(plans)} tuning jobs would be deleted)")
        return 0
    if not _confirm(plans, args, "Prune"):
        return 1
    return _delete(plans)


def _delete_in_account(args: argparse.Namespace) -> int:
    """DeleteHyperParameterTuningJob for each name, after saying what goes and asking."""
    from hpo_tui.backends import make_backend

    backend = make_backend("sagemaker", region=args.region, profile=args.profile)
    names = list(dict.fromkeys(args.names))
    print(f"Delete {len(names)} SageMaker tuning job record{'s' if len(names) != 1 else ''} in your AWS account "
          "(DeleteHyperParameterTuningJob): " + ", ".join(names))
    print("  Their training jobs, the models in S3 and the CloudWatch logs stay; this cannot be undone.")
    if not _asked(args, "delete --in-account", "Delete them in the account? [y/N] "):
        return 1
    for name in names:
        backend.delete_in_account(name)  # type: ignore[attr-defined]
        print(f"Deleted the SageMaker tuning job {name} (its record; training jobs, models and logs stay).")
    return 0
