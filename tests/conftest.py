import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# A long profile for nightly runs: pytest --hypothesis-profile=long
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
except ImportError:  # pragma: no cover
    pass


def examples(count: int) -> int:
    """``count`` examples under the default profile, twenty times as many under --hypothesis-profile=long."""
    from hypothesis import settings

    return max(1, count * settings.default.max_examples // 100)


def run_spm(*args, cwd=ROOT, env=None) -> subprocess.CompletedProcess:
    """Run the spm command in a real subprocess, as a user would."""
    environment = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "spmlang.cli", *map(str, args)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def spm():
    return run_spm


AE_ARGS = [
    "examples/plans/account_executive.spm",
    "--deals",
    "examples/data/ae_deals.csv",
    "--quotas",
    "examples/data/ae_quotas.csv",
    "--targets",
    "examples/data/ae_targets.csv",
]
SDR_ARGS = [
    "examples/plans/sdr.spm",
    "--deals",
    "examples/data/sdr_activities.csv",
    "--quotas",
    "examples/data/sdr_quotas.csv",
]
CRM_ARGS = [
    "examples/plans/crm_agents.spm",
    "--deals",
    "examples/data/crm/sales_pipeline.csv",
    "--quotas",
    "examples/data/crm/quotas.csv",
    "--roster",
    "examples/data/crm/sales_teams.csv",
    "--table",
    "products=examples/data/crm/products.csv",
]
EMEA_ARGS = [
    "examples/plans/emea.spm",
    "--deals",
    "examples/data/emea/deals.csv",
    "--quotas",
    "examples/data/emea/quotas.csv",
    "--targets",
    "examples/data/emea/targets.csv",
    "--roster",
    "examples/data/emea/roster.csv",
    "--table",
    "fx=examples/data/emea/fx.csv",
]
