"""The engine and the backends work without the UI: importing them never loads textual."""

from __future__ import annotations

import json
import subprocess
import sys


def test_engine_and_backends_do_not_import_textual_or_heavy_clients():
    code = (
        "import sys, json\n"
        "import hpo_tui.backends.local, hpo_tui.engine.store, hpo_tui.engine.runner, hpo_tui.engine.executor\n"
        "import hpo_tui.commands.jobs\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'optuna', 'mxnet', 'boto3', 'sagemaker'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
