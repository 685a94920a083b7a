"""Tune an index version's operating point with FAISS's auto-tuning machinery.

:func:`tune_version` measures, on held-out queries, every useful setting of the index's
``faiss.ParameterSpace`` (``nprobe``, ``efSearch``, ``quantizer_efSearch``, ``k_factor_rf`` …)
with ``ParameterSpace.explore`` and an ``IntersectionCriterion`` (k-recall@k against exact
ground truth), keeps FAISS's ``OperatingPoints`` (every point measured and the Pareto-optimal
ones) and chooses **the fastest point whose recall@k meets the target**. When no point meets
it, the point with the highest recall is chosen and ``target_met`` is False.

For an index that scores with compressed codes (PQ, SQ, …; :func:`python_ext.index.vectors.
scores_exactly` is False) every Pareto-optimal point is also measured with the exact re-rank
search applies (:func:`python_ext.index.refine.exact_rerank`) at ``k_factor`` 2, 4, 8 and 16:
such points read ``nprobe=8,k_factor=4`` and compete with the others, so the chosen
operating point carries the re-rank factor it needs. Exact-scoring indexes (Flat, IVF-Flat,
HNSW-Flat) are not: re-ranking exact scores cannot change their top k.

Queries: the evaluation queries (``eval/queries.parquet``) embedded with the corpus's
embedder when that file exists and the embedder is available, else ``n_queries`` chunk
vectors sampled uniformly from the corpus (each is also in the index, so its own chunk is part
of its exact top-k). Ground truth is an exact (Flat) search streamed over the chunk vectors
batch by batch — on the GPU with ``faiss.knn_gpu`` when the device allows.

Outputs in the version folder, each written atomically: ``tuning_frontier.parquet``
(:data:`~python_ext.contracts.TUNING_FRONTIER_SCHEMA`), ``tuning.json`` and an updated
``version.json`` (``operating_point`` + ``tuning`` summary). The index file and id map are
not touched, so their sha256 stay valid; the operating point is applied on every load.

:func:`tune_index` with ``factories`` builds one version per factory, tunes each, keeps the
best (target met, then fastest; else highest recall), deletes the others and publishes it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

import faiss
import numpy as np
import pyarrow as pa

from python_ext import chunkstore
from python_ext.atomic import atomic_write_json, atomic_write_parquet
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import TUNING_FRONTIER_SCHEMA, EmbeddingInfo, read_parquet_file
from python_ext.errors import ConfigError, IndexctlError, IndexMismatchError
from python_ext.index import versions as _v
from python_ext.index.build import build_index
from python_ext.index.factory import metric_code
from python_ext.index.gpu import Device, exact_knn, resolve_device
from python_ext.index.load import apply_operating_point, inner_index, load_index, split_operating_point
from python_ext.index.refine import exact_rerank
from python_ext.index.source import DEFAULT_BATCH_ROWS, iter_vector_batches, scan_corpus
from python_ext.index.vectors import open_vectors, scores_exactly
from python_ext.lock import writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter

DEFAULT_N_QUERIES = 500
#: Re-rank factors measured on the Pareto points of code-based indexes.
K_FACTORS = (2, 4, 8, 16)


@dataclass
class TunePoint:
    """One measured operating point.

    :param factory: the index family.
    :param operating_point: ParameterSpace string.
    :param recall_at_k: k-recall@k against exact search.
    :param ms_per_query: batched search time divided by the number of queries.
    """

    factory: str
    operating_point: str
    recall_at_k: float
    ms_per_query: float
    is_pareto: bool = False
    is_chosen: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "factory": self.factory,
            "operating_point": self.operating_point,
            "recall_at_k": round(self.recall_at_k, 4),
            "ms_per_query": round(self.ms_per_query, 4),
            "is_pareto": self.is_pareto,
            "is_chosen": self.is_chosen,
        }


@dataclass
class TuneResult:
    """Outcome of tuning one version (or the winner of several factories).

    :param version: the tuned version.
    :param chosen: the chosen point.
    :param target_met: whether ``chosen.recall_at_k >= target_recall``.
    :param points: every measured point (all factories when several were compared).
    :param summary: the ``tuning`` block written into version.json.
    """

    version: str
    factory: str
    chosen: TunePoint
    target_met: bool
    points: list[TunePoint] = field(repr=False)
    summary: dict[str, Any] = field(repr=False)
    published: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "factory": self.factory,
            "operating_point": self.chosen.operating_point,
            "recall_at_k": round(self.chosen.recall_at_k, 4),
            "ms_per_query": round(self.chosen.ms_per_query, 4),
            "target_recall": self.summary["target_recall"],
            "k": self.summary["k"],
            "target_met": self.target_met,
            "points": len(self.points),
            "query_source": self.summary["query_source"],
            "published": self.published,
        }


def exact_ground_truth(
    data_root: DataRoot,
    xq: np.ndarray,
    k: int,
    metric: str,
    device: Device,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Reporter = NULL_PROGRESS,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` of ``xq`` over every chunk vector, streamed batch by batch.

    :returns: ``(D, I)`` where ``I`` holds index row numbers (the add order of the build).
    """
    files = chunkstore.chunk_files(data_root)
    mcode = metric_code(metric)
    heap = faiss.ResultHeap(len(xq), k, keep_max=mcode == faiss.METRIC_INNER_PRODUCT)
    pos = 0
    with progress.task("exact ground truth", total=None) as advance:
        for batch in iter_vector_batches(files, batch_rows):
            kk = min(k, len(batch.ids))
            dist, rows = exact_knn(xq, batch.vectors, kk, mcode, device)
            heap.add_result(np.ascontiguousarray(dist), np.ascontiguousarray(rows + pos))
            pos += len(batch.ids)
            advance(len(batch.ids))
    heap.finalize()
    return heap.D, heap.I


def _eval_queries(data_root: DataRoot, manifest: dict[str, Any], progress: Reporter) -> np.ndarray | None:
    if not data_root.queries_path.is_file():
        return None

    from python_ext.embed import embed_queries, embedder_from_info

    info = EmbeddingInfo.from_manifest(manifest)
    try:
        embedder = embedder_from_info(info)
    except IndexctlError as exc:
        progress.log(f"eval queries not used (cannot embed them: {exc.message}); sampling chunks instead")
        return None
    texts = (
        read_parquet_file(
            data_root.queries_path,
            what="eval queries",
            hint="regenerate them (indexctl eval queries) or tune with --queries sample",
            columns=["text"],
        )
        .column("text")
        .to_pylist()
    )
    if not texts:
        return None
    xq = embed_queries(embedder, texts)
    if manifest["metric"] == "ip":
        faiss.normalize_L2(xq)
    return xq


def _frontier_rows(points: list[TunePoint], version: str, k: int) -> pa.Table:
    return pa.table(
        {
            "build_version": [version] * len(points),
            "factory": [p.factory for p in points],
            "operating_point": [p.operating_point for p in points],
            "recall_at_k": [float(p.recall_at_k) for p in points],
            "k": [k] * len(points),
            "ms_per_query": [float(p.ms_per_query) for p in points],
            "is_pareto": [p.is_pareto for p in points],
            "is_chosen": [p.is_chosen for p in points],
        },
        schema=TUNING_FRONTIER_SCHEMA,
    )


#: Integer parameters whose FAISS ranges (powers of two) get intermediate values.
REFINED_PARAMETERS = ("nprobe", "efSearch", "quantizer_efSearch", "k_factor_rf", "k_factor")


def refine_parameter_ranges(ps: faiss.ParameterSpace) -> None:
    """Add a value between each pair of neighbours (geometric mean, rounded) of integer ranges.

    ``ParameterSpace.initialize`` proposes powers of two (``nprobe`` 1, 2, 4, …); the midpoints
    (3, 6, 12, 24, 48 …) let the tuner stop closer to the target instead of doubling the cost.
    """
    names = [ps.parameter_ranges.at(i).name for i in range(ps.parameter_ranges.size())]
    for name in names:
        if name not in REFINED_PARAMETERS:
            continue
        pr = ps.add_range(name)  # returns the existing range by reference
        values = sorted(set(faiss.vector_to_array(pr.values).tolist()))
        refined = set(values)
        for lo, hi in itertools.pairwise(values):
            mid = round((lo * hi) ** 0.5)
            if lo < mid < hi:
                refined.add(float(mid))
        pr.values.clear()
        for v in sorted(refined):
            pr.values.push_back(v)


def explore_operating_points(
    index: faiss.Index, xq: np.ndarray, gt_rows: np.ndarray, k: int, factory: str
) -> list[TunePoint]:
    """Run ``ParameterSpace.explore`` on the index wrapped by ``index``; every measured point.

    :param gt_rows: exact top-k as index row numbers (the inner index returns rows).
    """
    from python_ext.index.shards import parameter_index

    inner = inner_index(index)
    nq = len(xq)
    ps = faiss.ParameterSpace()
    ps.initialize(parameter_index(index))
    refine_parameter_ranges(ps)
    ps.verbose = 0
    ps.min_test_duration = 0.05
    crit = faiss.IntersectionCriterion(nq, k)
    crit.set_groundtruth(None, np.ascontiguousarray(gt_rows[:, :k], dtype="int64"))
    ops = ps.explore(inner, np.ascontiguousarray(xq, dtype="float32"), crit)
    optimal = {ops.optimal_pts.at(i).key for i in range(ops.optimal_pts.size())}
    out = []
    for i in range(ops.all_pts.size()):
        p = ops.all_pts.at(i)
        out.append(TunePoint(factory, p.key, float(p.perf), 1000.0 * float(p.t) / nq, p.key in optimal))
    return out


def measure_k_factors(
    index: faiss.Index,
    vectors: np.ndarray,
    xq: np.ndarray,
    gt_rows: np.ndarray,
    k: int,
    factory: str,
    base_points: list[TunePoint],
    k_factors: tuple[int, ...] = K_FACTORS,
    min_seconds: float = 0.05,
) -> list[TunePoint]:
    """Measure ``base_points`` with the exact re-rank at each factor of ``k_factors``.

    Each measurement is the batched search of ``k × factor`` candidates plus
    :func:`exact_rerank` to ``k``, repeated until ``min_seconds`` elapsed, with the recall
    definition of FAISS's ``IntersectionCriterion`` (k-recall@k against the exact top k).
    """
    inner = inner_index(index)
    nq = len(xq)
    xq = np.ascontiguousarray(xq, dtype="float32")
    gt = gt_rows[:, :k]
    metric = inner.metric_type
    out = []
    for base in base_points:
        faiss_part, _ = split_operating_point(index, base.operating_point)
        apply_operating_point(index, faiss_part)
        for factor in k_factors:
            if k * factor > inner.ntotal and factor != k_factors[0]:
                break
            runs, t0 = 0, time.perf_counter()
            while True:
                _, cand = inner.search(xq, min(k * factor, inner.ntotal))
                _, rows = _rerank_batched(xq, cand, vectors, metric, k)
                runs += 1
                elapsed = time.perf_counter() - t0
                if elapsed >= min_seconds:
                    break
            hits = sum(len(np.intersect1d(rows[i], gt[i][gt[i] >= 0])) for i in range(nq))
            point = ",".join(p for p in (faiss_part, f"k_factor={factor}") if p)
            out.append(TunePoint(factory, point, hits / (nq * k), 1000.0 * elapsed / runs / nq))
    return out


def _rerank_batched(
    xq: np.ndarray, cand: np.ndarray, vectors: np.ndarray, metric: int, k: int, batch: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    parts = [
        exact_rerank(xq[i : i + batch], cand[i : i + batch], vectors, metric, k)
        for i in range(0, len(xq), batch)
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def mark_pareto(points: list[TunePoint]) -> None:
    """Set ``is_pareto`` on the points no other point beats in both recall and time."""
    for p in points:
        p.is_pareto = not any(
            (q.recall_at_k >= p.recall_at_k and q.ms_per_query <= p.ms_per_query)
            and (q.recall_at_k > p.recall_at_k or q.ms_per_query < p.ms_per_query)
            for q in points
        )


def choose_point(points: list[TunePoint], target_recall: float) -> tuple[TunePoint, bool]:
    """The fastest point with recall ≥ target (True), else the highest-recall point (False)."""
    meeting = [p for p in points if p.recall_at_k >= target_recall]
    if meeting:
        return min(meeting, key=lambda p: (p.ms_per_query, -p.recall_at_k)), True
    return max(points, key=lambda p: (p.recall_at_k, -p.ms_per_query)), False


@writes_data_root("index tune")
def tune_version(
    data_root: DataRoot,
    version: str | None = None,
    *,
    target_recall: float = 0.95,
    k: int = 10,
    n_queries: int = DEFAULT_N_QUERIES,
    queries: str = "auto",
    gpu: str = "auto",
    seed: int = 0,
    progress: Reporter = NULL_PROGRESS,
) -> TuneResult:
    """Tune one version in place (default: the published one) and record the chosen point.

    :param target_recall: recall@k the chosen point must reach (0 < target ≤ 1).
    :param k: neighbours per query.
    :param n_queries: sampled queries when the evaluation queries are not used.
    :param queries: ``auto`` (eval queries when present, else sampled), ``sample`` or ``eval``.
    :param gpu: where the exact ground truth runs (``auto|on|off``).
    :raises ConfigError: bad target/k/queries values.
    :raises IndexMismatchError: the chunks changed since the version was built.
    """
    if not 0 < target_recall <= 1:
        raise ConfigError(f"--target-recall must be in (0, 1] (got {target_recall})", hint="use 0.95")
    if k < 1:
        raise ConfigError(f"-k must be >= 1 (got {k})", hint="use -k 10")
    if queries not in ("auto", "sample", "eval"):
        raise ConfigError(
            f"--queries must be auto, sample or eval (got {queries!r})", hint="use --queries auto"
        )
    device = resolve_device(gpu)
    started = time.perf_counter()
    loaded = load_index(data_root, version)
    if k > loaded.index.ntotal:
        raise ConfigError(
            f"-k {k} is more than the {loaded.index.ntotal} vectors of index version {loaded.version}",
            hint=f"use -k {min(10, loaded.index.ntotal)}",
        )
    manifest = loaded.manifest
    scan = scan_corpus(
        data_root, metric=manifest["metric"], sample_size=n_queries, seed=seed + 7, progress=progress
    )
    if scan.fingerprint != manifest.get("vectors_sha256"):
        raise IndexMismatchError(
            f"the chunks under {data_root.chunks_dir} changed since version {loaded.version} was built "
            "(vectors sha256 differs)",
            hint="build a new version with `indexctl index build`, then tune it",
        )
    xq = _eval_queries(data_root, manifest, progress) if queries in ("auto", "eval") else None
    if xq is None and queries == "eval":
        raise ConfigError(
            f"--queries eval: no usable evaluation queries at {data_root.queries_path}",
            hint="use --queries sample, or create them with `indexctl eval`",
        )
    source = "eval_queries" if xq is not None else "sampled_chunks"
    if xq is None:
        xq = scan.sample
    k_eff = min(k, scan.n)
    _, gt_rows = exact_ground_truth(data_root, xq, k_eff, manifest["metric"], device, progress=progress)
    with progress.task(f"exploring operating points of {manifest['factory']}", total=1) as advance:
        points = explore_operating_points(loaded.index, xq, gt_rows, k_eff, manifest["factory"])
        advance(1)
    if not scores_exactly(loaded.index):
        vectors = open_vectors(loaded.path, manifest, loaded.index)
        pareto = [p for p in points if p.is_pareto]
        with progress.task(f"measuring exact re-rank on {len(pareto)} points", total=1) as advance:
            points += measure_k_factors(
                loaded.index, vectors, xq, gt_rows, k_eff, manifest["factory"], pareto
            )
            advance(1)
        mark_pareto(points)
    chosen, met = choose_point(points, target_recall)
    chosen.is_chosen = True
    k_factor = apply_operating_point(loaded.index, chosen.operating_point)
    summary = {
        "target_recall": target_recall,
        "k": k_eff,
        "recall_at_k": round(chosen.recall_at_k, 4),
        "ms_per_query": round(chosen.ms_per_query, 4),
        "k_factor": k_factor,
        "target_met": met,
        "n_queries": len(xq),
        "query_source": source,
        "points": len(points),
        "pareto_points": sum(p.is_pareto for p in points),
        "ground_truth_device": device.name,
        "tuned_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "tune_seconds": round(time.perf_counter() - started, 3),
        "factories_compared": [manifest["factory"]],
    }
    _record(data_root, loaded.version, manifest, points, chosen, summary)
    return TuneResult(loaded.version, manifest["factory"], chosen, met, points, summary)


def _record(
    data_root: DataRoot,
    version: str,
    manifest: dict[str, Any],
    points: list[TunePoint],
    chosen: TunePoint,
    summary: dict[str, Any],
) -> None:
    """Write frontier, tuning.json, then version.json (each atomically) into the version folder."""
    folder = data_root.version_dir(version)
    atomic_write_parquet(folder / _v.FRONTIER_FILE, _frontier_rows(points, version, summary["k"]))
    atomic_write_json(
        folder / _v.TUNING_FILE,
        {"version": version, **summary, "chosen": chosen.to_dict(), "points": [p.to_dict() for p in points]},
    )
    updated = dict(manifest)
    updated["operating_point"] = chosen.operating_point
    updated["operating_point_source"] = "tuned"
    updated["tuning"] = summary
    _v.write_manifest(folder, updated)


@writes_data_root("index tune")
def tune_index(
    data_root: DataRootLike,
    *,
    factories: list[str] | None = None,
    version: str | None = None,
    target_recall: float = 0.95,
    k: int = 10,
    n_queries: int = DEFAULT_N_QUERIES,
    queries: str = "auto",
    metric: str | None = None,
    gpu: str = "auto",
    publish: bool = True,
    seed: int = 0,
    progress: Reporter = NULL_PROGRESS,
) -> TuneResult:
    """Tune the published (or given) version, or compare several factories and keep the best.

    :param factories: factory strings to build and compare (``auto`` allowed); None tunes the
        existing version in place.
    :param version: the version to tune in place (default: the published one).
    :param metric: metric of the new builds (default: the published version's, else ``ip``).
    :param publish: publish the winner of a comparison (in-place tuning never changes CURRENT).
    Other parameters as :func:`tune_version`. Destructive: losing versions are deleted.
    """
    data_root = resolve_data_root(data_root)
    common = {"target_recall": target_recall, "k": k, "n_queries": n_queries, "queries": queries}
    if not factories:
        return tune_version(data_root, version, gpu=gpu, seed=seed, progress=progress, **common)
    if version is not None:
        raise ConfigError("--version and --factories cannot be combined", hint="use one of them")
    if metric is None:
        published = _v.published_version(data_root)
        metric = _v.read_manifest(data_root, published)["metric"] if published else "ip"
    results: list[TuneResult] = []
    try:
        for factory in factories:
            progress.log(f"building and tuning {factory}")
            built = build_index(
                data_root, factory=factory, metric=metric, gpu=gpu, publish=False, progress=progress
            )
            results.append(
                tune_version(data_root, built.version, gpu=gpu, seed=seed, progress=progress, **common)
            )
    except BaseException:
        for r in results:
            if r.version != _v.read_current(data_root):
                shutil.rmtree(data_root.version_dir(r.version), ignore_errors=True)
        raise
    best = min(
        results,
        key=lambda r: (not r.target_met, r.chosen.ms_per_query if r.target_met else -r.chosen.recall_at_k),
    )
    all_points = [p for r in results for p in r.points]
    summary = dict(best.summary)
    summary["factories_compared"] = [r.factory for r in results]
    summary["points"] = len(all_points)
    summary["pareto_points"] = sum(p.is_pareto for p in all_points)
    summary["comparison"] = [
        {
            "factory": r.factory,
            "operating_point": r.chosen.operating_point,
            "recall_at_k": round(r.chosen.recall_at_k, 4),
            "ms_per_query": round(r.chosen.ms_per_query, 4),
            "target_met": r.target_met,
        }
        for r in results
    ]
    manifest = _v.read_manifest(data_root, best.version)
    _record(data_root, best.version, manifest, all_points, best.chosen, summary)
    for r in results:
        if r.version != best.version and r.version != _v.read_current(data_root):
            shutil.rmtree(data_root.version_dir(r.version), ignore_errors=True)
    if publish:
        _v.publish(data_root, best.version)
    return TuneResult(best.version, best.factory, best.chosen, best.target_met, all_points, summary, publish)
