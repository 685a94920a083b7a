"""The main job (``indexctl pipeline``, ``bash ./scripts/demo.sh``): a repository to a catalog.

Stages, in order, each one library call of its own area:

1. ``ingest`` — :func:`python_ext.facts.builder.ingest_with_facts` (what ``indexctl ingest``
   does): chunks sized for the embedder's window + embeddings (incremental: only new content
   is embedded), modules, symbol graph, AST facts and — when ``scip`` is on — SCIP occurrences
   and symbols from whichever of scip-python (Python) and scip-typescript (TypeScript and
   JavaScript) is installed and has files to index (``chunks.symbols`` then holds SCIP symbols);
2. ``index build`` — :func:`python_ext.index.build.build_index`, skipped when the published
   version was built from exactly the current chunks (same ``chunks_fingerprint``);
3. ``index tune`` — :func:`python_ext.index.tune.tune_index` (operating point at recall@k ≥
   0.95) on *sampled* chunk vectors, never on the evaluation queries (the evaluation must not
   tune on its own test set); skipped together with the build;
4. ``eval queries`` — :func:`python_ext.evaluate.queries.build_queries`;
5. ``eval run`` — :func:`python_ext.evaluate.run.run_eval` (faiss, flat, bm25, hybrid);
6. ``catalog refresh`` — :func:`python_ext.catalog.refresh.refresh_catalog` (dbt build into a
   new DuckDB file, swapped in atomically);
7. ``report`` — :func:`python_ext.report.build.build_report` (the catalog as an offline HTML
   page of figures, next to the catalog); skipped with the catalog.

The default repository is this project's own source tree (the checkout that holds
``python_ext``; its ``.gitignore`` keeps ``data/``, ``.venv/`` and caches out of the walk).
The embedder is the one the data root was built with, else ``minilm`` when the ``minilm``
extra is installed, else the lexical ``hashing`` embedder, which is labelled as such everywhere
(:func:`python_ext.embed.default_embedder`, the same rule as ``indexctl ingest``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_ext.config import PROJECT_ROOT, DataRoot, DataRootLike, resolve_data_root
from python_ext.errors import RepositoryNotFoundError
from python_ext.lock import writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter

STAGES = ("ingest", "index build", "index tune", "eval queries", "eval run", "catalog refresh", "report")

#: Queries an analyst can paste into ``duckdb data/db/codeintel.duckdb``.
EXAMPLE_SQL = (
    (
        "How good is each channel, run after run?",
        "select run_id, channel, round(recall_at_k, 3) as recall, round(mrr_at_k, 3) as mrr,\n"
        "       round(queries_per_s) as qps\n"
        "from v_eval_metrics_by_run order by run_sequence desc, channel limit 8;",
    ),
    (
        "Which channel carries the fused (RRF) ranking, and how often does it hit a positive?",
        "select channel, round(avg(share_of_fused_score), 3) as avg_share,\n"
        "       sum(count_relevant_hits) as relevant_hits\n"
        "from v_rrf_contrib_by_channel group by channel order by avg_share desc;",
    ),
    (
        "Which modules do evaluation hits land in (and how central are they)?",
        "select module_id, count_chunks, count_eval_hits, count_eval_relevant_hits,\n"
        "       round(centrality, 4) as centrality\n"
        "from v_module_coverage order by count_eval_hits desc nulls last limit 10;",
    ),
)


def default_repository() -> Path:
    """This project's own source tree: the directory that holds the ``python_ext`` package.

    :raises RepositoryNotFoundError: when the package is installed without its source tree.
    """
    root = PROJECT_ROOT
    if not (root / "python_ext").is_dir() or not (root / "pyproject.toml").is_file():
        raise RepositoryNotFoundError(
            f"no project source tree around {root} (python_ext is installed as a plain package)",
            hint="pass the repository to index: indexctl pipeline PATH",
        )
    return root


def scip_available() -> tuple[bool, str]:
    """Whether a SCIP indexer (scip-python, scip-typescript; and node) can run here, and if
    none can, why (with the fix)."""
    from python_ext.facts.scip.indexer import available_indexers

    why = available_indexers()
    if any(not reason for reason in why.values()):
        return True, ""
    return False, "; ".join(why.values())


@dataclass
class StageResult:
    """One pipeline stage: what it did, how long it took, or why it was skipped."""

    name: str
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "summary": self.summary,
        }


@dataclass
class PipelineResult:
    """Everything the pipeline did, for the printed summary and ``--json``."""

    repo: Path
    data_root: Path
    embedder: str
    embedding_kind: str
    stages: list[StageResult]
    counts: dict[str, int]
    index_version: str | None
    operating_point: str | None
    metrics: list[dict[str, Any]]
    k: int
    catalog_path: Path | None
    wall_seconds: float
    examples: list[dict[str, str]]
    report_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": str(self.repo),
            "data_root": str(self.data_root),
            "embedder": self.embedder,
            "embedding_kind": self.embedding_kind,
            "stages": [s.to_dict() for s in self.stages],
            "counts": self.counts,
            "index_version": self.index_version,
            "operating_point": self.operating_point,
            "k": self.k,
            "metrics": self.metrics,
            "catalog": str(self.catalog_path) if self.catalog_path else None,
            "report": str(self.report_path) if self.report_path else None,
            "wall_seconds": round(self.wall_seconds, 3),
            "example_sql": self.examples,
        }


def _summary(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, dict):
        return obj
    return {"result": str(obj)}


def _timed(name: str, fn: Callable[[], Any], progress: Reporter) -> tuple[StageResult, Any]:
    progress.log(f"▶ {name}")
    t0 = time.perf_counter()
    value = fn()
    return StageResult(name, time.perf_counter() - t0, _summary(value)), value


def _index_is_current(data_root: DataRoot) -> str | None:
    """The published version when it was built from exactly the current chunks (and holds what
    search needs: its BM25 index and chunk metadata), else None."""
    from python_ext import chunkstore
    from python_ext.index import versions
    from python_ext.index.bm25 import has_bm25

    try:
        current = versions.published_version(data_root)
    except versions.CurrentInvalidError:  # a bad CURRENT is rebuilt over, never trusted
        return None
    if current is None:
        return None
    try:
        manifest = versions.read_manifest(data_root, current)
    except Exception:  # a damaged version is rebuilt, never trusted
        return None
    if manifest.get("chunks_fingerprint") != chunkstore.chunks_fingerprint(data_root):
        return None
    if not manifest.get("tuning"):
        return None
    folder = data_root.version_dir(current)
    if not has_bm25(folder) or not (folder / versions.CHUNK_META_FILE).is_file():
        return None  # built before search stored them: rebuild once
    return current


@writes_data_root("pipeline")
def run_pipeline(
    data_root: DataRootLike,
    repo: str | Path | None,
    *,
    embedder: str | None = None,
    embedder_backend: str | None = None,
    scip: bool = True,
    k: int = 10,
    max_per_origin: int | None = None,
    catalog: bool = True,
    progress: Reporter = NULL_PROGRESS,
) -> PipelineResult:
    """Run every stage of :data:`STAGES` on ``repo`` into ``data_root``.

    :param repo: the repository (default: :func:`default_repository`).
    :param data_root: where the facts, index versions, evaluation and catalog go.
    :param embedder: ``minilm`` or ``hashing`` (default: the data root's own embedder, else
        ``minilm`` when installed; see :func:`python_ext.embed.default_embedder`).
    :param embedder_backend: MiniLM's backend (default: the data root's own, else ``auto``;
        :mod:`python_ext.embed.backends`).
    :param scip: index Python with scip-python when it is available (default True).
    :param k: cut-off for tuning and evaluation (default 10).
    :param max_per_origin: cap generated evaluation queries per origin (default: all).
    :param catalog: refresh the dbt catalog at the end (default True).
    :returns: per-stage summaries, counts, the operating point and the metrics per channel.
    """
    data_root = resolve_data_root(data_root)
    t_start = time.perf_counter()
    data_root = resolve_data_root(data_root)
    repo_path = Path(repo) if repo is not None else default_repository()
    stages: list[StageResult] = []

    from python_ext.facts.builder import ingest_with_facts

    run_scip = False
    if scip:
        run_scip, why = scip_available()
        if not run_scip:
            progress.log(f"Warning: SCIP skipped: {why}")

    def _ingest() -> Any:
        return ingest_with_facts(
            data_root,
            repo_path,
            run_scip=run_scip,
            require_indexers=False,
            embedder=embedder,
            embedder_backend=embedder_backend,
            progress=progress,
        )

    stage, ingest = _timed("ingest", _ingest, progress)
    repo_path = Path(ingest.repo)
    stage.summary["scip"] = run_scip
    stages.append(stage)

    current = _index_is_current(data_root)
    if current is not None:
        reason = f"published version {current} was built and tuned on exactly these chunks"
        stages.append(StageResult("index build", 0.0, {"version": current}, skipped=reason))
        stages.append(StageResult("index tune", 0.0, {"version": current}, skipped=reason))
    else:
        from python_ext.index.build import build_index
        from python_ext.index.tune import tune_index

        stage, _ = _timed("index build", lambda: build_index(data_root, progress=progress), progress)
        stages.append(stage)
        stage, _ = _timed(
            "index tune", lambda: tune_index(data_root, k=k, queries="sample", progress=progress), progress
        )
        stages.append(stage)

    from python_ext.evaluate.queries import build_queries
    from python_ext.evaluate.run import run_eval

    stage, _ = _timed(
        "eval queries",
        lambda: build_queries(data_root, max_per_origin=max_per_origin, use_scip=scip, progress=progress),
        progress,
    )
    stages.append(stage)
    stage, evaluation = _timed("eval run", lambda: run_eval(data_root, k=k, progress=progress), progress)
    stages.append(stage)

    catalog_path: Path | None = None
    report_path: Path | None = None
    if catalog:
        from python_ext.catalog.refresh import refresh_catalog

        stage, _ = _timed("catalog refresh", lambda: refresh_catalog(data_root, progress=progress), progress)
        stages.append(stage)
        catalog_path = data_root.db_path
        from python_ext.report.build import build_report

        stage, report = _timed("report", lambda: build_report(data_root, progress=progress), progress)
        stages.append(stage)
        report_path = report.path
    else:
        stages.append(StageResult("catalog refresh", 0.0, skipped="--no-catalog"))
        stages.append(StageResult("report", 0.0, skipped="--no-catalog"))

    counts = _counts(data_root, ingest, evaluation)
    embedding = evaluation.embedding or {}
    return PipelineResult(
        repo=repo_path,
        data_root=data_root.root,
        embedder=str(embedding.get("model", ingest.embedder)),
        embedding_kind=str(embedding.get("kind", ingest.embedding_kind)),
        stages=stages,
        counts=counts,
        index_version=evaluation.index_version,
        operating_point=evaluation.operating_point,
        metrics=[m.to_dict() for m in evaluation.metrics],
        k=k,
        catalog_path=catalog_path,
        wall_seconds=time.perf_counter() - t_start,
        examples=[{"question": q, "sql": sql} for q, sql in EXAMPLE_SQL] if catalog_path else [],
        report_path=report_path,
    )


def _counts(data_root: DataRoot, ingest: Any, evaluation: Any) -> dict[str, int]:
    import pyarrow.parquet as pq

    from python_ext import chunkstore

    counts: dict[str, int] = {"chunks": chunkstore.count_chunks(data_root)}
    summary = _summary(ingest)
    files = summary.get("files_ingested")
    if isinstance(files, int):
        counts["files"] = files
    truncated = (summary.get("chunking") or {}).get("truncated")
    if isinstance(truncated, int):
        counts["chunks_truncated"] = truncated  # cut by the embedder's window (the target is 0)
    facts = summary.get("facts") or {}
    for run in facts.get("scip_run") or []:  # one per SCIP indexer that ran
        counts[f"scip_files_{run.get('indexer', 'scip')}"] = int(run.get("files") or 0)
    for part in (facts.get("scip") or {}).get("by_index") or []:
        tool = (part.get("tool") or "scip").split()[0]
        counts[f"scip_documents_{tool}"] = int(part.get("documents") or 0)
    for resolution, n in ((facts.get("graph") or {}).get("calls_by_resolution") or {}).items():
        counts[f"calls_{resolution}"] = int(n)
    for name, path in (
        ("modules", data_root.modules_path),
        ("symbol_edges", data_root.symbol_edges_path),
        ("scip_occurrences", data_root.scip_occurrences_path),
        ("scip_symbols", data_root.scip_symbols_path),
        ("ast_nodes", data_root.ast_nodes_path),
    ):
        if path.exists():
            counts[name] = pq.read_metadata(path).num_rows
    counts["queries"] = evaluation.n_queries
    for origin, n in evaluation.queries_by_origin.items():
        counts[f"queries_{origin}"] = n
    return counts
