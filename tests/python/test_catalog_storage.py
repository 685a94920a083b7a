"""The catalog file stays readable by DuckDB 1.4/1.5 clients: profile and code agree on it."""

from __future__ import annotations

from pathlib import Path

import yaml

from python_ext.catalog.refresh import CATALOG_DUCKDB_CONFIG

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "profiles.yml"


def test_profile_and_refresh_use_the_same_creation_settings() -> None:
    outputs = yaml.safe_load(PROFILE.read_text())["codeintel"]["outputs"]
    duckdb_targets = {name: o for name, o in outputs.items() if o.get("type") == "duckdb"}
    assert duckdb_targets and set(outputs) - set(duckdb_targets) <= {"spark"}
    for name, output in duckdb_targets.items():
        assert output.get("config_options") == CATALOG_DUCKDB_CONFIG, name
