"""Building the SageMaker backend stays cheap: boto3 and the SageMaker SDK load only when used."""

from __future__ import annotations

import subprocess
import sys


def test_backend_construction_imports_neither_boto3_nor_the_sdk() -> None:
    code = (
        "import sys\n"
        "from hpo_tui.backends import make_backend\n"
        "b = make_backend('sagemaker', region='us-east-1')\n"
        "print(b.name, b.default_interval, 'boto3' in sys.modules, 'sagemaker' in sys.modules, 'textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["sagemaker", "15.0", "False", "False", "False"]
