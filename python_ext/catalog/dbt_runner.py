"""Run the dbt project (``dbt build`` / ``dbt test`` / ``dbt docs generate``) in a subprocess.

dbt runs in its own process with an explicit environment (data root, database path, telemetry
off), so its global state and logging never leak into the caller, and the database it writes
is exactly the one asked for. Results come from dbt's ``run_results.json``; for a failing test
the rows dbt stored in the ``audit`` schema (``store_failures``) are read back, so an error can
name the offending keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_ext.config import PROJECT_ROOT
from python_ext.errors import CatalogError

PROJECT_DIR_ENV = "CODEINTEL_DBT_PROJECT_DIR"
#: Log line the checksum_table materialization prints when faiss_idmap_mat is kept.
NOOP_MARKER = "source checksum unchanged"


def find_project_dir() -> Path:
    """Return the dbt project directory (the one holding ``dbt_project.yml``).

    ``$CODEINTEL_DBT_PROJECT_DIR`` wins; otherwise the checkout this package lives in.

    :raises CatalogError: when no ``dbt_project.yml`` is found.
    """
    env = os.environ.get(PROJECT_DIR_ENV)
    candidates = [Path(env)] if env else []
    candidates.append(PROJECT_ROOT)
    for candidate in candidates:
        if (candidate / "dbt_project.yml").is_file():
            return candidate.resolve()
    raise CatalogError(
        f"no dbt_project.yml found (looked in {', '.join(str(c) for c in candidates)})",
        hint=f"run from a checkout of the project or set {PROJECT_DIR_ENV}=/path/to/checkout",
    )


@dataclass
class NodeResult:
    """Outcome of one dbt node (model, seed, test, unit test) from run_results.json."""

    unique_id: str
    resource_type: str
    name: str
    status: str
    message: str | None
    failures: int | None
    relation_name: str | None
    seconds: float = 0.0
    failing_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True for errors and failing tests (warnings do not count)."""
        return self.status in {"error", "fail", "runtime error"}

    def to_dict(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "resource_type": self.resource_type,
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "failures": self.failures,
            "failing_rows": self.failing_rows,
        }


@dataclass
class DbtRunResult:
    """Outcome of one dbt command."""

    command: list[str]
    returncode: int
    seconds: float
    log: str
    nodes: list[NodeResult]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def failed_nodes(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.failed]

    def slowest(self, n: int = 5) -> list[tuple[str, float]]:
        """The ``n`` slowest nodes as (name, seconds)."""
        ranked = sorted(self.nodes, key=lambda node: node.seconds, reverse=True)[:n]
        return [(node.name, round(node.seconds, 2)) for node in ranked]

    def count(self, resource_type: str, status: str | None = None) -> int:
        """Number of nodes of ``resource_type`` (optionally with ``status``)."""
        return sum(
            1
            for n in self.nodes
            if n.resource_type == resource_type and (status is None or n.status == status)
        )


def run_dbt(
    args: Sequence[str],
    *,
    data_root: Path,
    db_path: Path,
    project_dir: Path | None = None,
    extra_vars: dict[str, Any] | None = None,
    timeout: float | None = None,
    threads: int | None = None,
) -> DbtRunResult:
    """Run ``dbt ARGS`` against ``db_path`` with sources read from ``data_root``.

    :param args: the dbt sub-command and its flags, e.g. ``["build"]``.
    :param data_root: data root the sources read (passed absolute, so the catalog never holds
        a path relative to dbt's working directory).
    :param db_path: DuckDB file dbt writes (its directory is created).
    :param project_dir: dbt project; default :func:`find_project_dir`.
    :param extra_vars: dbt ``--vars`` (e.g. ``{"rrf_k0": 30}``).
    :param timeout: seconds before dbt is killed (None: no limit).
    :param threads: dbt ``--threads`` (None: the profile's, 1; see ``profiles/profiles.yml`` for
        why in-place builds must not run two threads).
    :raises CatalogError: when dbt cannot be started or times out.
    """
    project = project_dir or find_project_dir()
    db_path = Path(db_path).resolve()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    work = db_path.parent / ".dbt"
    target_path = work / "target"
    cmd = [
        sys.executable,
        "-m",
        "dbt.cli.main",
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project / "profiles"),
        "--target-path",
        str(target_path),
        "--log-path",
        str(work / "logs"),
    ]
    if extra_vars:
        cmd += ["--vars", json.dumps(extra_vars)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    env = dict(os.environ)
    env.update(
        {
            "CODEINTEL_DATA_ROOT": str(Path(data_root).resolve()),
            "CODEINTEL_DB_PATH": str(db_path),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            "NO_COLOR": "1",
            "DBT_USE_COLORS": "false",
        }
    )
    results_file = target_path / "run_results.json"
    results_file.unlink(missing_ok=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=project, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CatalogError(
            f"dbt {' '.join(args)} timed out after {timeout:.0f} s", hint="retry with a larger timeout"
        ) from exc
    except OSError as exc:
        raise CatalogError(f"could not start dbt: {exc}", hint="reinstall the package (dbt-duckdb)") from exc
    seconds = time.perf_counter() - start
    nodes = _read_results(results_file)
    return DbtRunResult(cmd, proc.returncode, seconds, proc.stdout + proc.stderr, nodes)


def _read_results(path: Path) -> list[NodeResult]:
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    nodes = []
    for result in data.get("results", []):
        unique_id = result.get("unique_id", "")
        nodes.append(
            NodeResult(
                unique_id=unique_id,
                resource_type=unique_id.split(".", 1)[0],
                name=unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id,
                status=str(result.get("status")),
                message=result.get("message"),
                failures=result.get("failures"),
                relation_name=result.get("relation_name"),
                seconds=float(result.get("execution_time") or 0.0),
            )
        )
    return nodes


def attach_failing_rows(run: DbtRunResult, db_path: Path, limit: int = 5) -> None:
    """Fill ``failing_rows`` of failed tests from the rows dbt stored in the audit schema.

    :param run: a finished dbt run whose failing tests stored their failures.
    :param db_path: the database the run wrote.
    :param limit: rows kept per test.
    """
    failed = [
        n
        for n in run.nodes
        if n.resource_type == "test" and n.relation_name and (n.failed or n.status == "warn")
    ]
    if not failed or not Path(db_path).exists():
        return
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        for node in failed:
            try:
                cur = con.execute(f"select * from {node.relation_name} limit {int(limit)}")
            except duckdb.Error:
                continue
            cols = [d[0] for d in cur.description]
            node.failing_rows = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def describe_failures(run: DbtRunResult, max_nodes: int = 12) -> str:
    """One line per failed node: its name, status, message and the offending rows' keys."""
    lines = []
    for node in run.failed_nodes[:max_nodes]:
        line = f"{node.name}: {node.status}"
        if node.failures:
            line += f" ({node.failures} row{'s' if node.failures != 1 else ''})"
        if node.failing_rows:
            line += " " + "; ".join(_row_text(r) for r in node.failing_rows)
        elif node.message and node.status != "fail":
            detail = [ln.strip() for ln in node.message.strip().splitlines() if ln.strip()]
            line += ": " + " | ".join(detail[:4])
        lines.append(line)
    rest = len(run.failed_nodes) - max_nodes
    if rest > 0:
        lines.append(f"... and {rest} more")
    if not lines and not run.ok:
        tail = [ln for ln in run.log.strip().splitlines() if ln.strip()][-8:]
        lines.extend(tail)
    return "\n".join(lines)


def _row_text(row: dict[str, Any]) -> str:
    parts = []
    for key, value in row.items():
        if isinstance(value, (bytes, bytearray, list)) and len(value) > 8:
            continue
        text = str(value)
        parts.append(f"{key}={text[:80]}")
    return "{" + ", ".join(parts) + "}"
