"""Did an evaluation run regress against the last comparable run? (``eval run --fail-on-regression``)

Runs are comparable when they were made over the **same query set** (the same
``queries_fingerprint``: every query's id, text and positives) at the **same k**; a channel is
compared with itself only. A regression is a drop of recall@k, MRR@k or nDCG@k larger than the
tolerance (absolute), the same rule as the catalog's ``v_eval_run_comparison`` with the dbt var
``eval_regression_tolerance`` (default :data:`DEFAULT_TOLERANCE`, kept equal to dbt_project.yml's
by a test).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from python_ext.config import DataRootLike, resolve_data_root
from python_ext.errors import ConfigError, EvalInputError
from python_ext.evaluate import pools

#: Default largest allowed drop of a metric (dbt var ``eval_regression_tolerance``).
DEFAULT_TOLERANCE = 0.01
#: The metrics a regression is judged on.
METRICS = ("recall_at_k", "mrr_at_k", "ndcg_at_k")


@dataclass
class MetricDrop:
    """One metric of one channel that dropped by more than the tolerance."""

    channel: str
    metric: str
    previous: float
    current: float

    @property
    def delta(self) -> float:
        return self.current - self.previous

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "delta": round(self.delta, 6)}

    def __str__(self) -> str:
        return f"{self.channel} {self.metric} {self.previous:.4f} -> {self.current:.4f} ({self.delta:+.4f})"


@dataclass
class RegressionReport:
    """The comparison of one run with the last earlier run over the same query set and k.

    :param run_id: the run judged.
    :param previous_run_id: the run it was compared with (None: no comparable earlier run).
    :param tolerance: the largest allowed drop.
    :param compared_channels: channels present in both runs.
    :param regressions: every metric that dropped by more than ``tolerance``.
    :param skipped_runs: earlier runs not compared because their query set or k differ.
    """

    run_id: str
    previous_run_id: str | None
    tolerance: float
    compared_channels: list[str] = field(default_factory=list)
    regressions: list[MetricDrop] = field(default_factory=list)
    skipped_runs: int = 0

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "previous_run_id": self.previous_run_id,
            "tolerance": self.tolerance,
            "compared_channels": self.compared_channels,
            "regressed": self.regressed,
            "regressions": [r.to_dict() for r in self.regressions],
            "skipped_runs": self.skipped_runs,
        }


def compare_with_previous(
    data_root: DataRootLike, run_id: str, *, tolerance: float = DEFAULT_TOLERANCE
) -> RegressionReport:
    """Compare run ``run_id`` with the newest earlier run over the same query set and k.

    :param tolerance: largest allowed drop of recall/MRR/nDCG (absolute, >= 0).
    :raises ConfigError: a negative or non-finite tolerance (exit 2).
    :raises EvalInputError: ``run_id`` is not in ``eval/runs.parquet``.
    """
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ConfigError(f"--tolerance must be a number >= 0 (got {tolerance})", hint="use --tolerance 0.01")
    root = resolve_data_root(data_root)
    runs = pools.read_runs(root).to_pylist()
    by_id = {r["run_id"]: r for r in runs}
    if run_id not in by_id:
        raise EvalInputError(
            f"run {run_id} is not recorded in {root.runs_path}",
            hint="list the runs with `indexctl eval runs`",
        )
    current = by_id[run_id]
    earlier = [r for r in runs if (r["started_at"], r["run_id"]) < (current["started_at"], current["run_id"])]
    comparable = [
        r
        for r in earlier
        if r["k"] == current["k"]
        and current["queries_fingerprint"] is not None
        and r["queries_fingerprint"] == current["queries_fingerprint"]
    ]
    report = RegressionReport(
        run_id=run_id,
        previous_run_id=None,
        tolerance=tolerance,
        skipped_runs=len(earlier) - len(comparable),
    )
    if not comparable:
        return report
    previous = max(comparable, key=lambda r: (r["started_at"], r["run_id"]))
    report.previous_run_id = previous["run_id"]
    before = {m["source"]: m for m in previous["metrics"]}
    for metrics in current["metrics"]:
        channel = metrics["source"]
        if channel not in before:
            continue
        report.compared_channels.append(channel)
        for name in METRICS:
            old, new = before[channel].get(name), metrics.get(name)
            if old is None or new is None:
                continue
            if new - old < -tolerance:
                report.regressions.append(MetricDrop(channel, name, float(old), float(new)))
    return report
