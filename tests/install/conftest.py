"""Install smoke tests (`make smoke`, run by CI after the suite): they build fresh venvs, so
they run only when HPO_TUI_INSTALL_SMOKE=1. The SageMaker fixtures (a moto server on
127.0.0.1, the loopback guard) are the SageMaker area's own."""

from __future__ import annotations

import os

from tests.sagemaker.conftest import (  # noqa: F401 - fixtures, registered by import
    _moto_server,
    boto_session,
    cli_session,
    fake_aws,
    loopback_only,
    moto_endpoint,
)

if os.environ.get("HPO_TUI_INSTALL_SMOKE") != "1":
    collect_ignore_glob = ["test_*.py"]
