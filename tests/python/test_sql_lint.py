"""The dbt models and singular tests pass sqlfluff (dbt templater, the project's .sqlfluff).

The dbt templater compiles the project, and compiling reads the chunks' embedding width from
the data root, so the lint runs against the fixture data root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import catalog_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_models_pass_sqlfluff(tmp_path: Path) -> None:
    pytest.importorskip("sqlfluff_templater_dbt")
    catalog_data.write_data_root(tmp_path / "data")
    (tmp_path / "db").mkdir()
    env = {
        **os.environ,
        "CODEINTEL_DATA_ROOT": str(tmp_path / "data"),
        "CODEINTEL_DB_PATH": str(tmp_path / "db" / "lint.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    proc = subprocess.run(
        [str(sqlfluff), "lint", "models", "tests/dbt", "--disable-progress-bar"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    problems = [line for line in proc.stdout.splitlines() if line.startswith(("L:", "=="))]
    assert proc.returncode == 0, "\n".join(problems) or proc.stdout + proc.stderr
