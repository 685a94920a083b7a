"""ANN benchmark: the tuned codeintel FAISS index vs exact Flat vs hnswlib, side by side.

Prints figures, never asserts. For each dataset the same base vectors and the same held-out
queries (never part of the index) go to three indexes built in this one run:

* **exact** — ``faiss.IndexFlatIP`` (brute force; also the ground truth for recall@k);
* **codeintel** — ``python_ext.index``: ``build_index`` (``--factory auto`` unless given) on the
  dataset written as a chunks Parquet set, then the operating point chosen by the tune
  machinery (``ParameterSpace.explore`` against exact ground truth; fastest point with
  recall@k ≥ target) on the held-out queries;
* **hnswlib** — HNSW (M, ef_construction below), ``ef`` swept upwards until its recall@k
  reaches the codeintel index's recall (the same recall, so QPS compare at equal quality).

Reported for each: build seconds, recall@k, QPS batched (every query in one call, all cores),
QPS one query at a time (one call per query, one thread), serialized index size, and the
ratios codeintel / exact and codeintel / hnswlib.

Datasets:

(a) **real**: MiniLM (all-MiniLM-L6-v2, semantic, 384-d) embeddings of a real source tree,
    ingested with ``python_ext.ingest.chunk_ingest.ingest_repository`` (default: a slice of this
    interpreter's standard library; the embedding cache makes re-runs fast). Held-out queries
    are chunks of files excluded from the index, embedded with the same model.
(b) **synthetic**: ``--synthetic-n`` (default 1,000,000) clustered unit vectors, d=64 (see
    :func:`synthetic`), with held-out queries drawn from the same distribution.

Usage::

    python bench/ann.py                              # both datasets (≈15-25 min on 2 cores)
    python bench/ann.py --skip-real --synthetic-n 200000
    python bench/ann.py --skip-synthetic --real-max-files 400
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import faiss
import numpy as np
import pyarrow as pa

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo, chunks_schema
from python_ext.ids import chunk_id, content_hash
from python_ext.index.build import build_index
from python_ext.index.load import apply_operating_point, load_index
from python_ext.index.tune import choose_point, explore_operating_points


@dataclass
class Row:
    """Figures of one index on one dataset."""

    name: str
    build_s: float
    recall: float
    qps_batch: float
    qps_single: float
    size_mb: float
    setting: str


def recall_at_k(found_ids: np.ndarray, truth_ids: np.ndarray) -> float:
    k = truth_ids.shape[1]
    hits = sum(len(set(f[:k]) & set(t)) for f, t in zip(found_ids, truth_ids, strict=True))
    return hits / truth_ids.size


def timed_batch(search, xq: np.ndarray, repeat: int = 2) -> tuple[float, np.ndarray]:
    """QPS of one batched call over every query (best of ``repeat``) and its result ids."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = search(xq)
        best = min(best, time.perf_counter() - t)
    return len(xq) / best, out


def timed_single(search, xq: np.ndarray) -> float:
    """QPS issuing one query per call (single thread)."""
    t = time.perf_counter()
    for i in range(len(xq)):
        search(xq[i : i + 1])
    return len(xq) / (time.perf_counter() - t)


def synthetic(
    n: int, nq: int, d: int = 64, clusters: int = 4096, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` base + ``nq`` query unit vectors from one clustered distribution.

    Centres are Gaussian in d=64; each point is a centre plus Gaussian noise (σ 0.7 per
    dimension, relative to unit-variance centres), cluster sizes follow a Zipf-like law, then
    everything is L2-normalized. d=64: 1M vectors are 256 MB per copy, so three indexes fit
    beside the other users of this shared 24 GB / 2-core machine and an HNSW graph of 1M
    vectors builds in minutes; 64 is also a common PCA/OPQ-reduced embedding width.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype("float32")
    weights = 1.0 / np.arange(1, clusters + 1) ** 0.5
    weights /= weights.sum()
    out = []
    for count in (n, nq):
        x = np.empty((count, d), dtype="float32")
        for start in range(0, count, 200_000):
            m = min(200_000, count - start)
            c = rng.choice(clusters, m, p=weights)
            x[start : start + m] = centres[c] + 0.7 * rng.standard_normal((m, d)).astype("float32")
        faiss.normalize_L2(x)
        out.append(x)
    return out[0], out[1]


def write_vector_chunks(root: DataRoot, x: np.ndarray, model: str) -> np.ndarray:
    """Write ``x`` as a chunks Parquet set (synthetic text columns); returns the chunk ids."""
    n, d = x.shape
    info = EmbeddingInfo(model=model, dim=d, normalized=True, kind="precomputed")
    uris = [f"synthetic/part_{i // 1000:05d}.txt" for i in range(n)]
    starts = np.arange(n, dtype="int64") % 1000 * 64
    ids = np.array(
        [chunk_id(u, int(s), int(s) + 63) for u, s in zip(uris, starts, strict=True)], dtype="int64"
    )
    text = "synthetic vector"
    table = pa.table(
        {
            "id": ids,
            "uri": uris,
            "start_line": pa.array(np.ones(n, dtype="int32")),
            "end_line": pa.array(np.ones(n, dtype="int32")),
            "start_byte": starts,
            "end_byte": starts + 63,
            "preview": pa.array([text] * n),
            "content": pa.array([text] * n),
            "lang": pa.array(["text"] * n),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), d),
            "content_hash": pa.array([content_hash(text)] * n),
            "symbols": pa.array([[]] * n, pa.list_(pa.string())),
        },
        schema=chunks_schema(d, info),
    )
    chunkstore.replace_chunk_set(root, table)
    return ids


def real_dataset(args: argparse.Namespace, workdir: Path) -> tuple[DataRoot, np.ndarray, str]:
    """MiniLM chunks of a real tree (indexed) + MiniLM chunks of held-out files (queries)."""
    from python_ext.embed import get_embedder
    from python_ext.ingest.chunk_ingest import ingest_repository

    src = Path(args.real_repo or sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in src.rglob("*.py") if "test" not in p.parts and "site-packages" not in p.parts)
    files = files[: args.real_max_files + args.real_query_files]
    rng = np.random.default_rng(1)
    held = set(rng.choice(len(files), args.real_query_files, replace=False).tolist())
    repo_base, repo_query = workdir / "real_base", workdir / "real_query"
    for i, f in enumerate(files):
        dst = (repo_query if i in held else repo_base) / f.relative_to(src)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dst)
    cache = Path(args.cache) if args.cache else workdir / "cache"
    embedder = get_embedder("minilm")
    t = time.perf_counter()
    base_root = DataRoot(cache / "base")
    ingest_repository(base_root, repo_base, embedder=embedder)
    query_root = DataRoot(cache / "query")
    ingest_repository(query_root, repo_query, embedder=embedder)
    print(
        f"[real] ingest + MiniLM embedding of {len(files)} files: {time.perf_counter() - t:.1f} s", flush=True
    )
    xq = np.concatenate([v for _, v in chunkstore.iter_embedding_batches(query_root)])
    if len(xq) > args.queries:
        xq = xq[np.random.default_rng(2).choice(len(xq), args.queries, replace=False)]
    label = f"{src} ({len(files) - len(held)} files indexed, {len(held)} held out for queries)"
    return base_root, np.ascontiguousarray(xq), label


def run_dataset(name: str, root: DataRoot, xq: np.ndarray, args: argparse.Namespace) -> None:
    import hnswlib

    k, target = args.k, args.target_recall
    parts = list(chunkstore.iter_embedding_batches(root))
    ids = np.concatenate([p[0] for p in parts])
    x = np.ascontiguousarray(np.concatenate([p[1] for p in parts]))
    n, d = x.shape
    single_q = xq[: args.single_queries]
    threads = faiss.omp_get_max_threads()
    print(f"\n=== {name}: N={n:,} d={d} queries={len(xq)} (held out) k={k} threads={threads} ===", flush=True)
    rows: list[Row] = []

    # exact Flat: ground truth and the baseline
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(d)
    flat.add(x)
    flat_build = time.perf_counter() - t
    qps_b, (_, gt_rows) = timed_batch(lambda q: flat.search(q, k), xq, repeat=1)
    gt_ids = ids[gt_rows]
    faiss.omp_set_num_threads(1)
    qps_s = timed_single(lambda q: flat.search(q, k), single_q)
    faiss.omp_set_num_threads(threads)
    rows.append(Row("exact Flat", flat_build, 1.0, qps_b, qps_s, x.nbytes / 2**20, "-"))
    flat.reset()  # free its copy of the vectors
    print(f"[{name}] exact done", flush=True)

    # codeintel: the product path (build_index) + tune machinery on the held-out queries
    built = build_index(root, factory=args.factory, gpu=args.gpu)
    loaded = load_index(root)
    t = time.perf_counter()
    points = explore_operating_points(loaded.index, xq, gt_rows, k, built.manifest["factory"])
    chosen, met = choose_point(points, target)
    tune_s = time.perf_counter() - t
    apply_operating_point(loaded.index, chosen.operating_point)
    qps_b, (_, found) = timed_batch(lambda q: loaded.index.search(q, k), xq)
    ours_recall = recall_at_k(found, gt_ids)
    faiss.omp_set_num_threads(1)
    qps_s = timed_single(lambda q: loaded.index.search(q, k), single_q)
    faiss.omp_set_num_threads(threads)
    size = (loaded.path / "index.faiss").stat().st_size / 2**20
    rows.append(
        Row(
            f"codeintel {built.manifest['factory']}",
            built.manifest["build_seconds"],
            ours_recall,
            qps_b,
            qps_s,
            size,
            f"{chosen.operating_point} (tuned in {tune_s:.1f} s, {len(points)} points, target met: {met})",
        )
    )
    print(f"[{name}] codeintel done: {built.manifest['factory_reason']}", flush=True)

    # hnswlib, ef swept to reach the same recall
    t = time.perf_counter()
    h = hnswlib.Index(space="ip", dim=d)
    h.init_index(max_elements=n, M=args.hnsw_m, ef_construction=args.ef_construction, random_seed=1)
    h.add_items(x, ids, num_threads=threads)
    h_build = time.perf_counter() - t
    chosen_ef, h_recall = None, 0.0
    for ef in [*range(k, 64, 2), *range(64, 128, 8), *range(128, 1025, 32)]:
        h.set_ef(ef)
        labels, _ = h.knn_query(xq, k=k, num_threads=threads)
        h_recall = recall_at_k(labels.astype("int64"), gt_ids)
        chosen_ef = ef
        if h_recall >= ours_recall:
            break
    h.set_ef(chosen_ef)
    qps_b, (labels, _) = timed_batch(lambda q: h.knn_query(q, k=k, num_threads=threads), xq)
    qps_s = timed_single(lambda q: h.knn_query(q, k=k, num_threads=1), single_q)
    with tempfile.NamedTemporaryFile(suffix=".bin") as tmp:
        h.save_index(tmp.name)
        h_size = Path(tmp.name).stat().st_size / 2**20
    rows.append(
        Row(
            f"hnswlib M={args.hnsw_m}",
            h_build,
            recall_at_k(labels.astype("int64"), gt_ids),
            qps_b,
            qps_s,
            h_size,
            f"ef={chosen_ef} (efC={args.ef_construction})",
        )
    )

    print(
        f"{'index':34} {'build s':>8} {'R@' + str(k):>7} {'QPS batch':>10} {'QPS 1-by-1':>10} "
        f"{'MB':>8}  setting"
    )
    for r in rows:
        print(
            f"{r.name:34} {r.build_s:8.1f} {r.recall:7.4f} {r.qps_batch:10.0f} {r.qps_single:10.0f} "
            f"{r.size_mb:8.1f}  {r.setting}"
        )
    flat_r, ours, hn = rows
    print(
        f"ratios: codeintel/exact QPS batched {ours.qps_batch / flat_r.qps_batch:.1f}x, "
        f"one-by-one {ours.qps_single / flat_r.qps_single:.1f}x; "
        f"codeintel/hnswlib QPS batched {ours.qps_batch / hn.qps_batch:.2f}x, "
        f"one-by-one {ours.qps_single / hn.qps_single:.2f}x "
        f"(recall {ours.recall:.4f} vs {hn.recall:.4f})"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process so far: {peak:.0f} MB", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synthetic-n", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--single-queries", type=int, default=200, help="queries timed one at a time")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--target-recall", type=float, default=0.95)
    p.add_argument("--factory", default="auto")
    p.add_argument("--gpu", default="auto")
    p.add_argument("--hnsw-m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--real-repo", default=None, help="source tree for (a) (default: the stdlib)")
    p.add_argument("--real-max-files", type=int, default=700)
    p.add_argument("--real-query-files", type=int, default=60)
    p.add_argument("--cache", default=None, help="keep the real dataset's data roots here")
    p.add_argument("--skip-real", action="store_true")
    p.add_argument("--skip-synthetic", action="store_true")
    args = p.parse_args(argv)
    print(f"faiss {faiss.__version__}, GPUs visible: {faiss.get_num_gpus()}, cores: {os.cpu_count()}")
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ann-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_real:
            root, xq, label = real_dataset(args, work)
            run_dataset(f"real MiniLM: {label}", root, xq, args)
        if not args.skip_synthetic:
            root = DataRoot(work / "synthetic")
            t = time.perf_counter()
            x, xq = synthetic(args.synthetic_n, args.queries, d=args.dim)
            write_vector_chunks(root, x, f"synthetic-clustered-d{args.dim}")
            del x
            print(
                f"[synthetic] generated and wrote {args.synthetic_n:,} vectors "
                f"in {time.perf_counter() - t:.1f} s"
            )
            run_dataset(f"synthetic clustered d={args.dim}", root, xq, args)
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
