"""Pools and run metadata: the evaluation outputs the catalog reads.

* ``<data root>/eval/pools/<run_id>.parquet`` — one row per query × channel × rank
  (:data:`python_ext.contracts.EVAL_POOL_SCHEMA`; rank is 1-based, score is the channel's own
  score: inner product / negated L2 distance for dense channels, BM25 score, the imported
  score for external channels, the RRF sum for ``hybrid``).
* ``<data root>/eval/runs.parquet`` — one row per run
  (:data:`python_ext.contracts.EVAL_RUNS_SCHEMA`), appended atomically: the whole file is
  rewritten to a temporary sibling and renamed, under an exclusive lock so two concurrent runs
  never lose each other's row.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRoot
from python_ext.contracts import EVAL_CHANNELS, EVAL_POOL_SCHEMA, EVAL_RUNS_SCHEMA, read_parquet_file
from python_ext.errors import ContractError
from python_ext.evaluate.metrics import ChannelMetrics

#: ranked results of one channel: query_id → [(chunk_id, score), …] best first.
Ranked = Mapping[str, Sequence[tuple[int, float]]]


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: ``YYYYMMDDTHHMMSSZ-<6 hex>``."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def pool_table(run_id: str, results: Mapping[str, Ranked], k: int | None = None) -> pa.Table:
    """Build the pool table of one run.

    :param run_id: the run's id (every row carries it).
    :param results: channel → query_id → ranked ``(chunk_id, score)``.
    :param k: keep at most ``k`` ranks per query and channel (default: all given).
    :returns: a table with exactly :data:`EVAL_POOL_SCHEMA`, ordered by source, query, rank.
    """
    qids: list[str] = []
    sources: list[str] = []
    ranks: list[int] = []
    cids: list[int] = []
    scores: list[float] = []
    for source in sorted(results):
        if source not in EVAL_CHANNELS:
            raise ContractError(
                f"pool source {source!r} is not one of {', '.join(EVAL_CHANNELS)}",
                hint="import external channels under one of the known source names",
            )
        per_query = results[source]
        for qid in sorted(per_query):
            ranked = per_query[qid] if k is None else per_query[qid][:k]
            for rank, (cid, score) in enumerate(ranked, start=1):
                qids.append(qid)
                sources.append(source)
                ranks.append(rank)
                cids.append(int(cid))
                scores.append(float(score))
    n = len(qids)
    return pa.Table.from_arrays(
        [
            pa.array([run_id] * n, pa.string()),
            pa.array(qids, pa.string()),
            pa.array(sources, pa.string()),
            pa.array(ranks, pa.int32()),
            pa.array(cids, pa.int64()),
            pa.array(scores, pa.float32()),
        ],
        schema=EVAL_POOL_SCHEMA,
    )


def write_pool(data_root: DataRoot, table: pa.Table) -> Path:
    """Write one run's pool atomically to ``eval/pools/<run_id>.parquet``.

    :param table: a pool table (:func:`pool_table`) holding exactly one run id.
    :returns: the written path.
    """
    if not table.schema.equals(EVAL_POOL_SCHEMA):
        raise ContractError("pool table does not match the eval pool contract (EVAL_POOL_SCHEMA)")
    run_ids = set(table.column("run_id").to_pylist()) if table.num_rows else set()
    if len(run_ids) > 1:
        raise ContractError(f"a pool file holds one run; got run ids {sorted(run_ids)}")
    run_id = run_ids.pop() if run_ids else None
    if run_id is None:
        raise ContractError("refusing to write an empty pool (no query returned anything)")
    return atomic_write_parquet(data_root.pools_dir / f"{run_id}.parquet", table)


def read_pool(data_root: DataRoot, run_id: str) -> pa.Table:
    """Read one run's pool back (checked against the contract)."""
    path = data_root.pools_dir / f"{run_id}.parquet"
    table = read_parquet_file(path, what="eval pool", hint="re-run `indexctl eval run`")
    if not table.schema.equals(EVAL_POOL_SCHEMA, check_metadata=False):
        raise ContractError(f"{path}: schema does not match the eval pool contract")
    return table


def stale_pools_dir(data_root: DataRoot) -> Path:
    """Where pools that no longer match the chunks or queries are moved: ``eval/pools/stale/``."""
    return data_root.pools_dir / "stale"


def archive_stale_pools(
    data_root: DataRoot, chunk_ids: set[int], query_ids: set[str], keep: str | None = None
) -> list[str]:
    """Move pools that reference chunks or queries that no longer exist to ``pools/stale/``.

    A repository changes between runs; a pool of an older run may name chunks that were
    re-chunked or deleted since. The catalog reads ``eval/pools/*.parquet`` and checks every
    pool row against the current chunks, so such pools are moved aside (never deleted): their
    metrics stay in ``runs.parquet`` for run-over-run comparison.

    :param chunk_ids: the current chunk ids.
    :param query_ids: the current query ids.
    :param keep: a run id never to move (the run being written).
    :returns: the run ids that were moved.
    """
    moved: list[str] = []
    if not data_root.pools_dir.is_dir():
        return moved
    for path in sorted(data_root.pools_dir.glob("*.parquet")):
        if path.stem == keep or path.name.startswith(".tmp-"):
            continue
        try:
            table = pq.read_table(path, columns=["chunk_id", "query_id"])
        except (OSError, pa.ArrowException):
            continue
        cids = set(table.column("chunk_id").to_pylist())
        qids = set(table.column("query_id").to_pylist())
        if cids <= chunk_ids and qids <= query_ids:
            continue
        target = stale_pools_dir(data_root) / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        moved.append(path.stem)
    return moved


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs.parquet``."""

    run_id: str
    started_at: datetime
    index_version: str | None
    operating_point: str | None
    k: int
    n_queries: int
    channels: list[str]
    rrf_k0: int | None
    wall_seconds: float
    metrics: list[ChannelMetrics]
    #: the query ids the run evaluated (stored sorted and distinct: the run's query set).
    query_ids: Sequence[str] = ()
    #: sha256 of the query set's ids, texts and positives
    #: (:func:`python_ext.evaluate.queries.queries_fingerprint`).
    queries_fingerprint: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "index_version": self.index_version,
            "operating_point": self.operating_point,
            "k": self.k,
            "n_queries": self.n_queries,
            "channels": list(self.channels),
            "rrf_k0": self.rrf_k0,
            "wall_seconds": self.wall_seconds,
            "metrics": [m.to_dict() for m in self.metrics],
            "query_ids": sorted(set(self.query_ids)),
            "queries_fingerprint": self.queries_fingerprint,
        }


def _run_row_table(record: RunRecord) -> pa.Table:
    started = record.started_at.astimezone(UTC).replace(tzinfo=None)
    metric_fields = [f.name for f in EVAL_RUNS_SCHEMA.field("metrics").type.value_type]
    metrics = [{name: m.to_dict().get(name) for name in metric_fields} for m in record.metrics]
    return pa.Table.from_pylist(
        [
            {
                "run_id": record.run_id,
                "started_at": started,
                "index_version": record.index_version,
                "operating_point": record.operating_point,
                "k": record.k,
                "n_queries": record.n_queries,
                "channels": list(record.channels),
                "rrf_k0": record.rrf_k0,
                "wall_seconds": record.wall_seconds,
                "metrics": metrics,
                "query_ids": sorted(set(record.query_ids)),
                "queries_fingerprint": record.queries_fingerprint,
            }
        ],
        schema=EVAL_RUNS_SCHEMA,
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}.lock"
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _with_query_set_columns(table: pa.Table) -> pa.Table:
    """Runs recorded before ``query_ids`` or ``queries_fingerprint`` existed get them as null
    (query set unknown), in the contract's column order."""
    for name in ("query_ids", "queries_fingerprint"):
        if name not in table.column_names:
            field = EVAL_RUNS_SCHEMA.field(name)
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    if sorted(table.column_names) == sorted(EVAL_RUNS_SCHEMA.names):
        table = table.select(EVAL_RUNS_SCHEMA.names)
    return table


def read_runs(data_root: DataRoot) -> pa.Table:
    """All recorded runs (an empty table with the contract's schema when there are none)."""
    path = data_root.runs_path
    if not path.exists():
        return EVAL_RUNS_SCHEMA.empty_table()
    table = _with_query_set_columns(
        read_parquet_file(
            path, what="eval runs", hint="move the file away; the next `indexctl eval run` starts a fresh one"
        )
    )
    if not table.schema.equals(EVAL_RUNS_SCHEMA, check_metadata=False):
        raise ContractError(
            f"{path}: schema does not match the eval runs contract",
            hint="move the file away; the next `indexctl eval run` starts a fresh one",
        )
    return table


def append_run(data_root: DataRoot, record: RunRecord) -> Path:
    """Append one run to ``runs.parquet`` atomically (lock + rewrite + rename)."""
    path = data_root.runs_path
    with _locked(path):
        existing = read_runs(data_root)
        if record.run_id in set(existing.column("run_id").to_pylist()):
            raise ContractError(f"run id {record.run_id} is already recorded in {path}")
        table = pa.concat_tables([existing.cast(EVAL_RUNS_SCHEMA), _run_row_table(record)])
        atomic_write_parquet(path, table)
    return path
