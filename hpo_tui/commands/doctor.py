"""`hpo-tui doctor [SPEC] --backend sagemaker`: the read-only pre-flight checks of an AWS
account for a launch, one line each, with what to do. Exits 1 when a check failed."""

from __future__ import annotations

import argparse
from pathlib import Path

from hpo_tui.errors import UserError
from hpo_tui.sanitize import sanitize


def cmd_doctor(args: argparse.Namespace) -> int:
    from hpo_tui.backends.sagemaker.checks import summary_lines
    from hpo_tui.commands.jobs import _absolutize_local_paths, _backend
    from hpo_tui.spec import TuningSpec, load_spec

    if args.spec_path:
        spec = load_spec(Path(args.spec_path), check=False)
        _absolutize_local_paths(spec, Path(args.spec_path).resolve().parent)
    else:
        spec = TuningSpec()  # the reference workflow; the role from SAGEMAKER_ROLE_ARN
        spec.backend = "sagemaker"
    if args.backend:
        spec.backend = args.backend
    if spec.backend != "sagemaker":
        raise UserError("doctor checks an AWS account for a SageMaker launch: add --backend sagemaker "
                        "(the local backend needs no account, so there is nothing to check)")
    backend = _backend(args, spec)
    checks = backend.preflight(spec)  # type: ignore[attr-defined]
    for line in summary_lines(checks):
        print(sanitize(line))  # AWS text (ARNs, messages) is untrusted
    failed = [c for c in checks if c.failed]
    unknown = [c for c in checks if c.status == "could not check"]
    print()
    if failed:
        print(f"{len(failed)} of {len(checks)} checks failed: a launch would fail. Fix them and run doctor again.")
        return 1
    if unknown:
        print(f"no check failed; {len(unknown)} of {len(checks)} could not be checked (they do not block a "
              "launch; the IAM policy's optional doctor block lets them run).")
    else:
        print(f"all {len(checks)} checks passed: ready for `hpo-tui launch SPEC --backend sagemaker`.")
    return 0
