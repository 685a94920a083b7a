"""``indexctl eval run``: run every chosen channel over the queries, score them, record the run.

Steps (:func:`run_eval`):

1. read ``eval/queries.parquet`` and the chunks; every positive must still be a chunk and every
   masked chunk must still have the content_hash recorded in the query's ``meta`` (otherwise
   the queries are stale: regenerate them);
2. build two corpus views — *plain* (chunks as ingested) for ``name``/``user`` queries and
   *masked* (docstring spans removed, masked chunks re-embedded with the corpus's own
   embedder) for ``docstring`` queries — and run each channel on each view **with the channel
   functions search uses** (:mod:`python_ext.search.channels`), so the numbers are those of
   ``indexctl search``: ``faiss`` (the published index at its operating point, the exact
   re-rank of its ``k_factor`` included, or a masked copy of it), ``flat`` (exact search over
   the same vectors), ``bm25`` (the version's stored BM25 index on the plain view when the
   version was built from exactly these chunks; on the masked view a BM25 index built the same
   way over the masked texts); external channels come from ``indexctl eval import-run``;
3. ``hybrid`` = RRF (``rrf_k0`` 60, ``rrf_rank_cutoff`` 10, the catalog's vars) over every
   other selected channel except the ``flat`` oracle, each searched ``max(k, cutoff)`` deep —
   exactly what ``indexctl search --channel hybrid`` does. The pool keeps those deep lists for
   the fused channels (ranks beyond k), so the catalog mart ``v_rrf_contrib_by_channel``
   recomputes the same fused scores from the pool; metrics read the top k.
   Query texts and masked chunk texts are embedded through :func:`embed_cached`
   (``eval/cache/<queries|masked>-<model>.parquet``, keyed by the xxh64 of the text), so a
   re-run embeds only what is new;
4. metrics per channel (recall@k, MRR@k, nDCG@k, ANN-vs-oracle overlap@k for ``faiss`` and
   ``flat`` when ``flat`` ran, batched queries/s), the pool Parquet and a runs.parquet row;
   pools of earlier runs that name chunks or queries that no longer exist are moved to
   ``eval/pools/stale/`` (see :func:`python_ext.evaluate.pools.archive_stale_pools`).

The published index must hold exactly the chunk ids of the data root: an id map that does not
match the chunks stops the run with :class:`~python_ext.errors.IndexMismatchError`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from python_ext import chunkstore
from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import EVAL_CHANNELS, EmbeddingInfo
from python_ext.embed import Embedder, embed_queries, embedder_from_info, embedding_info
from python_ext.errors import ConfigError, EvalInputError, IndexctlError, IndexMismatchError
from python_ext.evaluate import pools
from python_ext.evaluate.channels import mask_text, masked_index_copy, replace_rows
from python_ext.evaluate.metrics import ChannelMetrics, channel_metrics
from python_ext.evaluate.queries import Query, queries_fingerprint, read_queries
from python_ext.evaluate.regression import RegressionReport
from python_ext.evaluate.runfiles import BUILTIN_CHANNELS, read_imported_run
from python_ext.ids import content_hash
from python_ext.index import versions as _v
from python_ext.index.bm25 import Bm25Index, build_bm25_from_texts, has_bm25, load_bm25
from python_ext.index.idmap import index_ids, read_idmap
from python_ext.index.load import LoadedIndex, load_index
from python_ext.lock import writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter
from python_ext.search import channels as channels_lib
from python_ext.search.channels import Ranked, fusion_depth
from python_ext.search.fusion import DEFAULT_RRF_K0, DEFAULT_RRF_RANK_CUTOFF

K = TypeVar("K")

DEFAULT_CHANNELS = ("faiss", "flat", "bm25", "hybrid")
DENSE = ("faiss", "flat")
_MAX_LISTED = 5


@dataclass
class EvalRunResult:
    """Everything one evaluation run produced (also what the CLI prints)."""

    run_id: str
    started_at: datetime
    index_version: str | None
    operating_point: str | None
    k: int
    rrf_k0: int
    channels: list[str]
    hybrid_of: list[str]
    n_queries: int
    queries_by_origin: dict[str, int]
    masked_chunks: int
    embedding: dict[str, object] | None
    wall_seconds: float
    metrics: list[ChannelMetrics]
    by_origin: dict[str, list[ChannelMetrics]] = field(default_factory=dict)
    pool_path: Path | None = None
    runs_path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    archived_pools: list[str] = field(default_factory=list)
    queries_fingerprint: str | None = None
    regression: RegressionReport | None = None
    rrf_rank_cutoff: int = DEFAULT_RRF_RANK_CUTOFF
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "index_version": self.index_version,
            "operating_point": self.operating_point,
            "k": self.k,
            "rrf_k0": self.rrf_k0,
            "rrf_rank_cutoff": self.rrf_rank_cutoff,
            "channels": self.channels,
            "hybrid_of": self.hybrid_of,
            "n_queries": self.n_queries,
            "queries_by_origin": self.queries_by_origin,
            "masked_chunks": self.masked_chunks,
            "embedding": self.embedding,
            "wall_seconds": self.wall_seconds,
            "metrics": [m.to_dict() for m in self.metrics],
            "by_origin": {o: [m.to_dict() for m in ms] for o, ms in self.by_origin.items()},
            "pool_path": str(self.pool_path) if self.pool_path else None,
            "runs_path": str(self.runs_path) if self.runs_path else None,
            "timings": self.timings,
            "archived_pools": self.archived_pools,
            "queries_fingerprint": self.queries_fingerprint,
            "regression": self.regression.to_dict() if self.regression else None,
            "notes": self.notes,
        }

    def metric_rows(self) -> list[dict[str, object]]:
        """One row per channel for the human table."""
        return [
            {
                "channel": m.source,
                "queries": m.n_queries,
                f"recall@{self.k}": m.recall_at_k,
                f"mrr@{self.k}": m.mrr_at_k,
                f"ndcg@{self.k}": m.ndcg_at_k,
                f"overlap@{self.k}": m.oracle_overlap_at_k,
                "queries/s": round(m.queries_per_s) if m.queries_per_s else None,
            }
            for m in self.metrics
        ]


def parse_channels(channels: str | Sequence[str]) -> list[str]:
    """Split and check a channel list (``"faiss,flat,bm25,hybrid"``); order kept, no duplicates."""
    items = (
        [c.strip() for c in channels.split(",")]
        if isinstance(channels, str)
        else [c.strip() for c in channels]
    )
    items = [c for c in items if c]
    bad = [c for c in items if c not in EVAL_CHANNELS]
    if bad or not items:
        raise ConfigError(
            f"unknown channel(s) {', '.join(bad) or '(none given)'}",
            hint=f"--channels takes a comma list of {', '.join(EVAL_CHANNELS)}",
        )
    out: list[str] = []
    for c in items:
        if c not in out:
            out.append(c)
    return out


def _masks(queries: list[Query], hashes: dict[int, str]) -> dict[int, list[tuple[int, int]]]:
    spans: dict[int, list[tuple[int, int]]] = {}
    stale: list[str] = []
    for q in queries:
        if q.origin != "docstring":
            continue
        for m in q.meta.get("masks", []):
            cid = int(m["chunk_id"])
            if hashes.get(cid) != m.get("content_hash"):
                stale.append(f"{q.query_id} (chunk {cid})")
                continue
            spans.setdefault(cid, []).append((int(m["start"]), int(m["end"])))
    if stale:
        raise EvalInputError(
            f"queries.parquet is stale: {len(stale)} masked chunk(s) changed or vanished since the "
            f"queries were generated, e.g. {', '.join(stale[:_MAX_LISTED])}",
            hint="regenerate the queries: indexctl eval queries",
        )
    return spans


def _check_positives(queries: list[Query], ids: set[int]) -> None:
    missing = [(q.query_id, p) for q in queries for p in q.positives if p not in ids]
    if missing:
        listed = ", ".join(f"{qid}→{p}" for qid, p in missing[:_MAX_LISTED])
        raise EvalInputError(
            f"queries.parquet is stale: {len(missing)} positive(s) are no longer chunks ({listed})",
            hint="regenerate the queries: indexctl eval queries",
        )


def _check_idmap(version: str, row_ids: np.ndarray, chunk_ids: np.ndarray) -> None:
    indexed = set(row_ids.tolist())
    chunks = set(chunk_ids.tolist())
    extra = sorted(indexed - chunks)
    absent = sorted(chunks - indexed)
    if extra or absent or len(row_ids) != len(indexed):
        parts = []
        if extra:
            parts.append(f"{len(extra)} indexed id(s) are not chunks (e.g. {extra[:_MAX_LISTED]})")
        if absent:
            parts.append(f"{len(absent)} chunk(s) are not in the index (e.g. {absent[:_MAX_LISTED]})")
        if len(row_ids) != len(indexed):
            parts.append(f"{len(row_ids) - len(indexed)} id(s) appear twice in the id map")
        raise IndexMismatchError(
            f"index version {version}: its id map does not match the chunks: " + "; ".join(parts),
            hint="rebuild the index over the current chunks: indexctl index build (then index tune)",
        )


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm > 0 else np.asarray(v, dtype=np.float32)


def _version_bm25(
    data_root: DataRoot, version: str | None, fingerprint: str, notes: list[str]
) -> tuple[Bm25Index, np.ndarray, str] | None:
    """The published (or given) version's stored BM25 index and its row ids, when that version
    was built from exactly the current chunks; None (with a note) otherwise."""
    try:
        name = version or _v.current_version(data_root)
        manifest = _v.read_manifest(data_root, name)
    except IndexctlError:
        notes.append("bm25: no index version is published; the BM25 index was built from the chunks")
        return None
    path = data_root.version_dir(name)
    if manifest.get("chunks_fingerprint") != fingerprint:
        notes.append(
            f"bm25: the chunks changed since version {name} was built; the BM25 index was built from "
            "the current chunks (rebuild the index: indexctl index build)"
        )
        return None
    if not has_bm25(path):
        notes.append(f"bm25: version {name} has no BM25 index (built before it existed); rebuilt from chunks")
        return None
    rows = read_idmap(path / _v.IDMAP_FILE).column("chunk_id").to_numpy().astype(np.int64)
    return load_bm25(path, manifest), rows, name


def cache_path(data_root: DataRoot, kind: str, model: str) -> Path:
    """Embedding cache of the evaluation: ``eval/cache/<kind>-<model>.parquet``.

    :param kind: ``masked`` (masked chunk texts) or ``queries`` (query texts).
    """
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in model)
    return data_root.eval_dir / "cache" / f"{kind}-{safe}.parquet"


def masked_cache_path(data_root: DataRoot, model: str) -> Path:
    """Cache of re-embedded masked chunk texts: ``eval/cache/masked-<model>.parquet``."""
    return cache_path(data_root, "masked", model)


def embed_cached(
    data_root: DataRoot,
    kind: str,
    info: EmbeddingInfo,
    embedder: Embedder,
    texts: dict[K, str],
    progress: Reporter = NULL_PROGRESS,
) -> dict[K, np.ndarray]:
    """Embed ``texts`` with the corpus embedder, reusing vectors cached by xxh64 of the text.

    The cache (:func:`cache_path`) afterwards holds exactly the vectors of ``texts``; an
    unreadable cache only costs re-embedding.

    :param kind: cache name: ``masked`` (chunk texts, embedded as passages) or ``queries``
        (embedded as queries, :func:`~python_ext.embed.base.embed_queries`: a model with
        query/passage prefixes gets the query one).
    :param texts: key → text; the result has the same keys.
    """
    # keyed by the embedder that runs (the corpus's own, or its fallback on this machine)
    path = cache_path(data_root, kind, embedding_info(embedder).identity)
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        try:
            table = pq.read_table(path)
            vecs = chunkstore.embeddings_to_numpy(table.column("embedding"), info.dim)
            cached = dict(zip(table.column("content_hash").to_pylist(), vecs, strict=True))
        except (OSError, pa.ArrowException, ValueError, IndexctlError):
            cached = {}
    hashes = {key: content_hash(text) for key, text in texts.items()}
    todo = sorted({h: key for key, h in hashes.items() if h not in cached}.items())
    if todo:
        with progress.task(f"embedding {kind} texts", total=len(todo)) as advance:
            batch = [texts[key] for _, key in todo]
            vecs = embed_queries(embedder, batch) if kind == "queries" else embedder.embed(batch)
            vecs = np.asarray(vecs, dtype=np.float32)
            advance(len(todo))
        cached.update({h: v for (h, _), v in zip(todo, vecs, strict=True)})
    keep = sorted(set(hashes.values()))
    if keep and (todo or len(keep) != len(cached)):
        matrix = np.stack([cached[h] for h in keep]).astype(np.float32)
        flat = pa.array(matrix.reshape(-1), pa.float32())
        table = pa.table(
            {
                "content_hash": pa.array(keep, pa.string()),
                "embedding": pa.FixedSizeListArray.from_arrays(flat, info.dim),
            }
        )
        atomic_write_parquet(path, table.replace_schema_metadata(info.to_metadata()))
    return {key: cached[h] for key, h in hashes.items()}


def plan_channels(
    channels: str | Sequence[str], k: int, rrf_k0: int, rrf_rank_cutoff: int = DEFAULT_RRF_RANK_CUTOFF
) -> tuple[list[str], list[str], list[str]]:
    """Validate the options; return (chosen channels, channels fused by hybrid, channels run)."""
    if k < 1:
        raise ConfigError(f"--k must be at least 1, got {k}")
    if rrf_k0 < 0:
        raise ConfigError(f"--rrf-k0 must be >= 0, got {rrf_k0}")
    if rrf_rank_cutoff < 1:
        raise ConfigError(f"--rrf-rank-cutoff must be >= 1, got {rrf_rank_cutoff}")
    chosen = parse_channels(channels)
    fused: list[str] = []
    if "hybrid" in chosen:
        fused = [c for c in chosen if c not in ("flat", "hybrid")]
        if not fused:
            raise ConfigError(
                "hybrid needs at least one channel to fuse besides the flat oracle",
                hint="e.g. --channels faiss,flat,bm25,hybrid",
            )
    return chosen, fused, [c for c in chosen if c != "hybrid"]


def search_depths(needed: list[str], fused: list[str], k: int, rrf_rank_cutoff: int) -> dict[str, int]:
    """How deep each channel is searched: the fused ones ``max(k, cutoff)`` (as ``indexctl
    search --channel hybrid`` does), the others ``k``; the ``flat`` oracle as deep as ``faiss`` so
    both rank the same candidates (ties included)."""
    depth = {c: fusion_depth(k, rrf_rank_cutoff) if c in fused else k for c in needed}
    if "flat" in depth and "faiss" in depth:
        depth["flat"] = depth["faiss"]
    return depth


@dataclass
class EvalCorpus:
    """The chunks as the channels see them, in both views (plain and docstring-masked)."""

    chunk_ids: np.ndarray
    contents: list[str]
    hashes: dict[int, str]
    row_of: dict[int, int]
    masked_contents: dict[int, str]
    views: dict[str, list[Query]]
    embeddings: pa.ChunkedArray | None
    fingerprint: str = ""


def load_corpus(
    data_root: DataRoot, queries: list[Query], dense: bool, timings: dict[str, float]
) -> EvalCorpus:
    """Read the chunks, check every positive is still a chunk, and mask docstring spans."""
    columns = ["id", "content", "content_hash"] + (["embedding"] if dense else [])
    t0 = time.perf_counter()
    chunks = chunkstore.read_chunks(data_root, columns=columns)
    chunk_ids = np.asarray(chunks.column("id").to_numpy(), dtype=np.int64)
    contents: list[str] = chunks.column("content").to_pylist()
    hashes = dict(zip(chunk_ids.tolist(), chunks.column("content_hash").to_pylist(), strict=True))
    timings["read_chunks_s"] = time.perf_counter() - t0
    _check_positives(queries, set(hashes))
    spans = _masks(queries, hashes)
    row_of = {int(c): i for i, c in enumerate(chunk_ids.tolist())}
    return EvalCorpus(
        chunk_ids=chunk_ids,
        contents=contents,
        hashes=hashes,
        row_of=row_of,
        masked_contents={cid: mask_text(contents[row_of[cid]], s) for cid, s in spans.items()},
        views={
            "plain": [q for q in queries if q.origin != "docstring"],
            "masked": [q for q in queries if q.origin == "docstring"],
        },
        embeddings=chunks.column("embedding") if dense else None,
        fingerprint=chunkstore.fingerprint_table(chunks),
    )


@dataclass
class ChannelRuns:
    """Ranked lists per channel and query, and the search seconds behind them."""

    results: dict[str, dict[str, Ranked]]
    seconds: dict[str, float]
    index_version: str | None = None
    operating_point: str | None = None
    embedding: dict[str, object] | None = None
    notes: list[str] = field(default_factory=list)


def run_dense_channels(
    data_root: DataRoot,
    corpus: EvalCorpus,
    queries: list[Query],
    needed: list[str],
    loaded: LoadedIndex | None,
    depth: dict[str, int],
    runs: ChannelRuns,
    timings: dict[str, float],
    progress: Reporter,
) -> None:
    """``faiss`` (the published index — at its operating point, exact re-rank included — or a
    masked copy of it) and ``flat`` on both views, with :mod:`python_ext.search.channels`."""
    info = chunkstore.corpus_info(data_root)
    runs.embedding = {
        "model": info.model,
        "dim": info.dim,
        "normalized": info.normalized,
        "kind": info.kind,
        "backend": info.backend,
        "precision": info.precision,
    }
    embedder = embedder_from_info(info)
    assert corpus.embeddings is not None
    # one matrix in the order the channels see the corpus: FAISS rows when an index is loaded
    row_ids = index_ids(loaded.index) if loaded is not None else corpus.chunk_ids
    order = np.asarray([corpus.row_of[int(c)] for c in row_ids.tolist()], dtype=np.int64)
    vectors = chunkstore.embeddings_to_numpy(corpus.embeddings, info.dim)[order]
    t0 = time.perf_counter()
    qvec_of = embed_cached(
        data_root, "queries", info, embedder, {q.query_id: q.text for q in queries}, progress
    )
    timings["embed_queries_s"] = time.perf_counter() - t0
    replacements: dict[int, np.ndarray] = {}
    if corpus.masked_contents and corpus.views["masked"]:
        t0 = time.perf_counter()
        replacements = embed_cached(data_root, "masked", info, embedder, corpus.masked_contents, progress)
        timings["embed_masked_s"] = time.perf_counter() - t0
    if loaded is not None:
        metric = loaded.index.metric_type
    else:
        metric = faiss.METRIC_INNER_PRODUCT if info.normalized else faiss.METRIC_L2
    if metric == faiss.METRIC_INNER_PRODUCT:
        # search normalizes query vectors for ip indexes; so does the evaluation
        qvec_of = {qid: _unit(v) for qid, v in qvec_of.items()}
    for view, vqueries in corpus.views.items():
        if not vqueries:
            continue
        qv = np.stack([qvec_of[q.query_id] for q in vqueries]).astype(np.float32)
        masked = view == "masked" and bool(replacements)
        mat = replace_rows(row_ids, vectors, replacements) if masked else vectors
        if "flat" in needed:
            t0 = time.perf_counter()
            ranked = channels_lib.exact_search(mat, qv, depth["flat"], metric, id_of_row=row_ids)
            runs.seconds["flat"] += time.perf_counter() - t0
            runs.results["flat"].update({q.query_id: r for q, r in zip(vqueries, ranked, strict=True)})
        if "faiss" in needed and loaded is not None:
            if masked:
                t0 = time.perf_counter()
                with progress.task("masked copy of the index", total=1) as advance:
                    idx = masked_index_copy(loaded.index, row_ids, mat, loaded.operating_point)
                    advance(1)
                timings["masked_index_copy_s"] = time.perf_counter() - t0
            else:
                idx = loaded.index
            t0 = time.perf_counter()
            ranked = channels_lib.dense_search(
                idx, qv, depth["faiss"], id_of_row=row_ids, vectors=mat, k_factor=loaded.k_factor
            )
            runs.seconds["faiss"] += time.perf_counter() - t0
            runs.results["faiss"].update({q.query_id: r for q, r in zip(vqueries, ranked, strict=True)})


def run_bm25_channel(
    data_root: DataRoot,
    corpus: EvalCorpus,
    index_version: str | None,
    depth: int,
    runs: ChannelRuns,
    timings: dict[str, float],
    progress: Reporter,
) -> None:
    """``bm25`` with :func:`python_ext.search.channels.bm25_search`: on the plain view the
    version's stored BM25 index (what search uses) when it was built from exactly these chunks,
    else one built from the chunks; on the masked view one built the same way from the masked
    texts."""
    stored = _version_bm25(data_root, index_version, corpus.fingerprint, runs.notes)
    if stored is not None:
        plain, rows, version = stored
        runs.index_version = runs.index_version or version
    else:
        plain, rows = None, corpus.chunk_ids
    order = [corpus.row_of[int(c)] for c in rows.tolist()]
    for view, vqueries in corpus.views.items():
        if not vqueries:
            continue
        t0 = time.perf_counter()
        if view == "masked" and corpus.masked_contents:
            with progress.task("bm25 index (masked)", total=1) as advance:
                lexical = build_bm25_from_texts(
                    corpus.masked_contents.get(int(cid), corpus.contents[row])
                    for cid, row in zip(rows.tolist(), order, strict=True)
                )
                advance(1)
        elif plain is not None:
            lexical = plain
        else:
            with progress.task("bm25 index (plain)", total=1) as advance:
                lexical = build_bm25_from_texts(corpus.contents[row] for row in order)
                advance(1)
        timings[f"bm25_index_{view}_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ranked = channels_lib.bm25_search(lexical, [q.text for q in vqueries], depth, id_of_row=rows)
        runs.seconds["bm25"] += time.perf_counter() - t0
        runs.results["bm25"].update({q.query_id: r for q, r in zip(vqueries, ranked, strict=True)})


def fuse_hybrid(
    queries: list[Query], fused: list[str], k: int, rrf_k0: int, rrf_rank_cutoff: int, runs: ChannelRuns
) -> None:
    """``hybrid``: :func:`python_ext.search.channels.fuse` (RRF, the catalog's k0 and cut-off)
    over the fused channels' deep lists, per query — what ``indexctl search`` returns."""
    t0 = time.perf_counter()
    hybrid: dict[str, Ranked] = {}
    for q in queries:
        rankings = {c: runs.results[c].get(q.query_id, []) for c in fused}
        fused_hits = channels_lib.fuse(rankings, k, k0=rrf_k0, cutoff=rrf_rank_cutoff)
        hybrid[q.query_id] = [(f.chunk_id, f.score) for f in fused_hits]
    runs.results["hybrid"] = hybrid
    runs.seconds["hybrid"] = (time.perf_counter() - t0) + sum(runs.seconds.get(c, 0.0) for c in fused)


def score_channels(
    queries: list[Query], chosen: list[str], k: int, runs: ChannelRuns
) -> tuple[list[ChannelMetrics], dict[str, list[ChannelMetrics]]]:
    """Metrics per channel on its top k, overall and per query origin (``faiss``/``flat`` also
    against the ``flat`` oracle when it ran)."""
    results, seconds = runs.results, runs.seconds
    oracle = {qid: [c for c, _ in r[:k]] for qid, r in results["flat"].items()} if "flat" in results else None
    n = len(queries)
    # targets cut into several chunks (stripped protocol): found when any of their chunks is
    groups = {q.query_id: q.meta["positive_groups"] for q in queries if q.meta.get("positive_groups")}

    def _metrics(source: str, subset: dict[str, list[int]]) -> ChannelMetrics:
        ids_only = {qid: [c for c, _ in r[:k]] for qid, r in results[source].items()}
        qps = n / seconds[source] if source in seconds and seconds[source] > 0 else None
        use_oracle = oracle if source in DENSE else None
        return channel_metrics(
            source, ids_only, subset, k, oracle=use_oracle, queries_per_s=qps, groups=groups
        )

    metrics = [_metrics(c, {q.query_id: q.positives for q in queries}) for c in chosen]
    by_origin: dict[str, list[ChannelMetrics]] = {}
    for origin in sorted({q.origin for q in queries}):
        subset = {q.query_id: q.positives for q in queries if q.origin == origin}
        by_origin[origin] = [_metrics(c, subset) for c in chosen]
    return metrics, by_origin


def record_run(
    data_root: DataRoot, result: EvalRunResult, runs: ChannelRuns, corpus: EvalCorpus, queries: list[Query]
) -> None:
    """Write the pool (the fused channels as deep as hybrid searched them, the others their top
    k), archive pools that name vanished chunks or queries, append runs.parquet."""
    fused = set(result.hybrid_of)
    kept = {
        c: {q: r[: None if c in fused else result.k] for q, r in runs.results[c].items()}
        for c in result.channels
    }
    table = pools.pool_table(result.run_id, kept)
    if table.num_rows:
        result.pool_path = pools.write_pool(data_root, table)
    result.archived_pools = pools.archive_stale_pools(
        data_root, set(corpus.hashes), {q.query_id for q in queries}, keep=result.run_id
    )


@writes_data_root("eval run", when=lambda kw: kw.get("write", True))
def run_eval(
    data_root: DataRootLike,
    *,
    k: int = 10,
    channels: str | Sequence[str] = DEFAULT_CHANNELS,
    rrf_k0: int = DEFAULT_RRF_K0,
    rrf_rank_cutoff: int = DEFAULT_RRF_RANK_CUTOFF,
    index_version: str | None = None,
    write: bool = True,
    regression_tolerance: float | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> EvalRunResult:
    """Evaluate the channels on ``eval/queries.parquet`` and record the run.

    Steps, each a function of this module: :func:`plan_channels`, :func:`load_corpus`,
    :func:`run_dense_channels`, :func:`run_bm25_channel`, imported channels,
    :func:`fuse_hybrid`, :func:`score_channels`, :func:`record_run`.

    :param data_root: the data root (chunks, queries, published index).
    :param k: cut-off for results, pools and metrics (default 10).
    :param channels: channels to run (default faiss, flat, bm25, hybrid); external ones
        (``splade``) must have been imported with :func:`python_ext.evaluate.runfiles.import_run`.
    :param rrf_k0: the RRF constant for ``hybrid`` (default 60, the catalog's ``rrf_k0``).
    :param rrf_rank_cutoff: ranks past this contribute nothing to ``hybrid``, and its input
        channels are searched ``max(k, cutoff)`` deep (default 10, the catalog's
        ``rrf_rank_cutoff``).
    :param index_version: evaluate this index version instead of the published one.
    :param write: write the pool and append runs.parquet (default True).
    :param regression_tolerance: when given, compare the recorded run with the last earlier run
        over the same query set and k (:func:`python_ext.evaluate.regression.compare_with_previous`)
        and put the report in ``result.regression``; needs ``write``.
    :returns: the run's metrics and paths.
    :raises EvalInputError: missing or stale queries, a missing imported run.
    :raises IndexMismatchError: the index's id map does not match the chunks.
    """
    data_root = resolve_data_root(data_root)
    t_start = time.perf_counter()
    started_at = datetime.now(UTC)
    chosen, fused, needed = plan_channels(channels, k, rrf_k0, rrf_rank_cutoff)
    if regression_tolerance is not None and not write:
        raise ConfigError("a regression check needs the run recorded (write=True)")
    depth = search_depths(needed, fused, k, rrf_rank_cutoff)
    timings: dict[str, float] = {}

    queries = read_queries(data_root)
    run_id = pools.new_run_id(started_at)
    dense = [c for c in needed if c in DENSE]
    corpus = load_corpus(data_root, queries, bool(dense), timings)
    if k > len(corpus.chunk_ids):
        raise ConfigError(
            f"--k {k} is more than the {len(corpus.chunk_ids)} chunks under {data_root.chunks_dir}",
            hint=f"use --k {min(10, len(corpus.chunk_ids))}",
        )
    runs = ChannelRuns(results={c: {} for c in needed}, seconds=dict.fromkeys(needed, 0.0))

    loaded = None
    if "faiss" in needed:
        # checked before any embedding work: a mismatched index fails fast
        loaded = load_index(data_root, index_version)
        runs.index_version, runs.operating_point = loaded.version, loaded.operating_point
        _check_idmap(loaded.version, index_ids(loaded.index), corpus.chunk_ids)
    if dense:
        run_dense_channels(data_root, corpus, queries, needed, loaded, depth, runs, timings, progress)
    if "bm25" in needed:
        run_bm25_channel(data_root, corpus, index_version, depth["bm25"], runs, timings, progress)
    qids = {q.query_id for q in queries}
    for source in [c for c in needed if c not in BUILTIN_CHANNELS]:
        imported = read_imported_run(data_root, source)
        runs.results[source] = {
            qid: ranked[: depth[source]] for qid, ranked in imported.items() if qid in qids
        }
    if "hybrid" in chosen:
        fuse_hybrid(queries, fused, k, rrf_k0, rrf_rank_cutoff, runs)
    metrics, by_origin = score_channels(queries, chosen, k, runs)

    origins = sorted({q.origin for q in queries})
    result = EvalRunResult(
        run_id=run_id,
        started_at=started_at,
        index_version=runs.index_version,
        operating_point=runs.operating_point,
        k=k,
        rrf_k0=rrf_k0,
        channels=chosen,
        hybrid_of=fused,
        n_queries=len(queries),
        queries_by_origin={o: sum(1 for q in queries if q.origin == o) for o in origins},
        masked_chunks=len(corpus.masked_contents),
        embedding=runs.embedding,
        wall_seconds=0.0,
        metrics=metrics,
        by_origin=by_origin,
        timings=timings,
        queries_fingerprint=queries_fingerprint(queries),
        rrf_rank_cutoff=rrf_rank_cutoff,
        notes=runs.notes,
    )
    if write:
        record_run(data_root, result, runs, corpus, queries)
    result.wall_seconds = time.perf_counter() - t_start
    if write:
        record = pools.RunRecord(
            run_id=run_id,
            started_at=started_at,
            index_version=runs.index_version,
            operating_point=runs.operating_point,
            k=k,
            n_queries=len(queries),
            channels=chosen,
            rrf_k0=rrf_k0 if "hybrid" in chosen else None,
            wall_seconds=result.wall_seconds,
            metrics=metrics,
            queries_fingerprint=result.queries_fingerprint,
            query_ids=[q.query_id for q in queries],
        )
        result.runs_path = pools.append_run(data_root, record)
        if regression_tolerance is not None:
            from python_ext.evaluate.regression import compare_with_previous

            result.regression = compare_with_previous(data_root, run_id, tolerance=regression_tolerance)
    return result


def list_runs(data_root: DataRootLike) -> list[dict[str, object]]:
    """Recorded runs, newest first, with their per-channel metrics flattened for display."""
    data_root = resolve_data_root(data_root)
    table = pools.read_runs(data_root)
    rows = sorted(table.to_pylist(), key=lambda r: r["started_at"], reverse=True)
    out: list[dict[str, object]] = []
    for r in rows:
        row: dict[str, object] = {
            "run_id": r["run_id"],
            "started_at": r["started_at"],
            "index_version": r["index_version"],
            "operating_point": r["operating_point"],
            "k": r["k"],
            "n_queries": r["n_queries"],
            "channels": r["channels"],
            "rrf_k0": r["rrf_k0"],
            "wall_seconds": r["wall_seconds"],
            "metrics": r["metrics"],
            "queries_fingerprint": r["queries_fingerprint"],
        }
        out.append(row)
    return out
