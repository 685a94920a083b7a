"""`eval run --fail-on-regression`: exit 3 when a metric dropped beyond the tolerance against the
last run over the same query set and k (issue 12, item 5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from python_ext.config import DataRoot
from python_ext.contracts import EVAL_RUNS_SCHEMA
from python_ext.errors import ConfigError, EvalInputError
from python_ext.evaluate import pools
from python_ext.evaluate.metrics import ChannelMetrics
from python_ext.evaluate.regression import DEFAULT_TOLERANCE, compare_with_previous

REPO = Path(__file__).resolve().parents[2]


def _record(
    root: DataRoot, run_id: str, day: int, recall: float, fingerprint: str | None, k: int = 10
) -> None:
    metrics = [
        ChannelMetrics("faiss", 10, recall, 0.5, 0.6, None, None),
        ChannelMetrics("bm25", 10, 0.7, 0.4, 0.5, None, None),
    ]
    pools.append_run(
        root,
        pools.RunRecord(
            run_id=run_id,
            started_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day),
            index_version="v1",
            operating_point=None,
            k=k,
            n_queries=10,
            channels=["faiss", "bm25"],
            rrf_k0=None,
            wall_seconds=1.0,
            metrics=metrics,
            queries_fingerprint=fingerprint,
        ),
    )


def test_compares_only_runs_over_the_same_queries_and_k(data_root: DataRoot) -> None:
    _record(data_root, "a", 0, 0.90, "sha256:q660")
    _record(data_root, "b", 1, 0.50, "sha256:q666")  # other queries: not comparable
    _record(data_root, "c", 2, 0.40, "sha256:q660", k=5)  # other k
    _record(data_root, "d", 3, 0.85, "sha256:q660")
    report = compare_with_previous(data_root, "d")
    assert report.previous_run_id == "a" and report.skipped_runs == 2
    assert [str(r) for r in report.regressions] == ["faiss recall_at_k 0.9000 -> 0.8500 (-0.0500)"]
    assert report.compared_channels == ["faiss", "bm25"] and report.regressed
    assert not compare_with_previous(data_root, "d", tolerance=0.06).regressed
    assert compare_with_previous(data_root, "b").previous_run_id is None
    with pytest.raises(EvalInputError):
        compare_with_previous(data_root, "zzz")
    with pytest.raises(ConfigError):
        compare_with_previous(data_root, "d", tolerance=-1)


def test_runs_written_before_the_fingerprint_still_read(data_root: DataRoot) -> None:
    _record(data_root, "a", 0, 0.9, None)
    old_schema = pa.schema([f for f in EVAL_RUNS_SCHEMA if f.name != "queries_fingerprint"])
    legacy = pq.read_table(data_root.runs_path).drop_columns(["queries_fingerprint"]).cast(old_schema)
    pq.write_table(legacy, data_root.runs_path)
    _record(data_root, "b", 1, 0.5, "sha256:q")
    table = pools.read_runs(data_root)
    assert table.column("queries_fingerprint").to_pylist() == [None, "sha256:q"]
    assert compare_with_previous(data_root, "b").previous_run_id is None  # legacy run: unknown queries


def test_default_tolerance_is_the_dbt_var() -> None:
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    assert project["vars"]["eval_regression_tolerance"] == DEFAULT_TOLERANCE


def test_cli_fail_on_regression(run_cli, tmp_path: Path, tiny_repo: Path) -> None:
    root = tmp_path / "data"
    assert run_cli("ingest", tiny_repo, "--out", root, "--embedder", "hashing", "-q").exit_code == 0
    assert run_cli("index", "build", "--out", root, "--factory", "Flat", "-q").exit_code == 0
    assert run_cli("eval", "queries", "--out", root, "-q").exit_code == 0
    first = run_cli("eval", "run", "--out", root, "--channels", "faiss,bm25", "-q", "--fail-on-regression")
    assert first.exit_code == 0, first.stderr
    assert "no earlier run over the same query set" in first.stderr
    same = run_cli(
        "eval", "run", "--out", root, "--channels", "faiss,bm25", "-q", "--fail-on-regression", "--json"
    )
    assert same.exit_code == 0, same.stderr
    report = json.loads(same.stdout)["regression"]
    assert report["previous_run_id"] and report["regressed"] is False

    # an operator publishes a badly tuned version (IVF with one probed list out of 16): the faiss
    # channel loses recall and the run fails with exit 3
    lossy = run_cli("index", "build", "--out", root, "--factory", "IVF16,Flat", "-q", "--json")
    assert lossy.exit_code == 0, lossy.stderr
    manifest_path = root / "faiss" / "versions" / json.loads(lossy.stdout)["version"] / "version.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["operating_point"] = "nprobe=1"
    manifest_path.write_text(json.dumps(manifest))
    worse = run_cli("eval", "run", "--out", root, "--channels", "faiss,bm25", "-q", "--fail-on-regression")
    assert worse.exit_code == 3, worse.stdout + worse.stderr
    assert "regression: faiss recall_at_k" in worse.stderr
    assert "regressed against run" in worse.stderr
    # bm25 did not change: never reported
    assert "regression: bm25" not in worse.stderr
