"""How fast every SageMaker command answers a mistyped --region (issue 27: it used to take
23 s of retries and then blame the AWS service health). Runs the installed `hpo-tui` as a
subprocess per command, with fake credentials and every AWS endpoint pointed at a closed
loopback port (so nothing leaves the machine), and prints the wall time and the first words.

    .venv/bin/python bench/region_typo.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [["status", "hpo-x"], ["jobs"], ["stop", "hpo-x"], ["logs", "hpo-x-001-abc"], ["export", "hpo-x"],
            ["attach", "hpo-x"], ["doctor"], ["launch", "SPEC"]]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("hpo-tui"))
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HPO_TUI_HOME": home, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
               "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}", "AWS_EC2_METADATA_DISABLED": "true",
               "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/SageMakerTuning"}
        env.pop("AWS_PROFILE", None)
        spec = Path(home) / "t.toml"
        subprocess.run([exe, "spec", "init", str(spec)], env=env, check=True, capture_output=True)
        print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs per command, median (max)")
        for command in COMMANDS:
            argv = [exe, *[str(spec) if c == "SPEC" else c for c in command], "--backend", "sagemaker",
                    "--region", "us-esat-1"]
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
                times.append(time.perf_counter() - start)
            said = (done.stderr + done.stdout).strip().splitlines()
            hint = next((line for line in said if "did you mean" in line), said[0] if said else "")
            mark = "--region us-east-1" if "did you mean --region us-east-1" in hint else "NO HINT"
            print(f"{command[0]:<8} exit {done.returncode}  {statistics.median(times):.2f} s ({max(times):.2f})  {mark}")


if __name__ == "__main__":
    main()
