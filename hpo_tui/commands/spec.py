"""`hpo-tui spec init | validate | render`: create, check and render tuning specs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hpo_tui.errors import UserError
from hpo_tui.sanitize import sanitize
from hpo_tui.spec import (
    PLACEHOLDER_ROLE_ARN,
    SpecError,
    TuningSpec,
    load_spec,
    role_arn_for,
    save_spec,
    spec_warnings,
    summary_text,
)


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists() and not args.force:
        raise UserError(f"{path} already exists; pass --force to overwrite it, or give another path")
    if path.is_dir():
        raise UserError(f"{path} is a directory; give a file name such as {path / 'tuning.toml'}")
    save_spec(TuningSpec(), path)
    print(f"Wrote {path}: the reference workflow (optimizer sgd/Adam, learning_rate 0.01-0.2, "
          "num_epoch 10-50; 9 jobs, 3 in parallel, Bayesian).")
    print(f"Edit it, then check it with: hpo-tui spec validate {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        spec = load_spec(args.path)
    except SpecError as err:
        n = len(err.issues)
        print(f"{args.path}: {n} problem{'s' if n != 1 else ''}")
        for issue in err.issues:
            print(f"  {sanitize(str(issue))}")
        return 1
    print(f"{args.path}: valid")
    for warning in spec_warnings(spec):
        print(sanitize(f"  warning: {warning}"))
    print(sanitize(summary_text(spec)))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from hpo_tui.spec.sdk_config import render_request_as_sent

    spec = load_spec(args.path)
    # As launched: what a SageMaker SDK config file adds is in the request, and said below.
    request, added = render_request_as_sent(spec)
    json.dump(request, sys.stdout, indent=2)
    sys.stdout.write("\n")
    if added:
        print(sanitize(added), file=sys.stderr)
    if role_arn_for(spec) is None:
        print(f"note: no role ARN in the spec or SAGEMAKER_ROLE_ARN; the request shows "
              f"{PLACEHOLDER_ROLE_ARN}", file=sys.stderr)
    return 0
