"""Retrieval evaluation benchmark: recall@k / MRR@k / nDCG@k and queries/s per channel.

Runs the real pipeline stages on a real repository of 1,000+ files — ingest, index build,
tune, query generation (docstring queries with masking + name queries), ``eval run`` over
faiss, flat, bm25 and hybrid — and prints one table, the run's wall time, and the peer
comparisons measured side by side in the same run (faiss vs the exact flat oracle, hybrid vs
each of its parts).

Usage::

    python bench/eval.py                          # sympy from the venv, hashing embedder
    python bench/eval.py --embedder minilm        # the real MiniLM model (slow on 2 cores)
    python bench/eval.py /path/to/repo --data-root /tmp/bench-eval --max-per-origin 1000
    python bench/eval.py --factory HNSW32        # an ANN index instead of auto (Flat below 50k)

The default repository is the ``sympy`` package installed in the environment (1,500+ files of
real Python with docstrings). The ``hashing`` embedder is LEXICAL (hashed identifier tokens):
its faiss/flat numbers measure lexical overlap, not semantic search — the table says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def default_repo() -> Path:
    spec = importlib.util.find_spec("sympy")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("sympy is not installed: pass a repository path")
    return Path(next(iter(spec.submodule_search_locations)))


def count_files(repo: Path) -> int:
    return sum(
        1 for p in repo.rglob("*") if p.is_file() and p.suffix in (".py", ".pyi", ".md", ".rst", ".txt")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", type=Path, help="repository (default: installed sympy)")
    parser.add_argument("--data-root", type=Path, default=Path("bench/out/eval-data"))
    parser.add_argument("--embedder", default="hashing", choices=("hashing", "minilm"))
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--max-per-origin", type=int, default=1000)
    parser.add_argument("--factory", default="auto", help="FAISS factory for the index (default: auto)")
    args = parser.parse_args(argv)

    from python_ext.config import DataRoot
    from python_ext.evaluate.queries import build_queries
    from python_ext.evaluate.run import run_eval
    from python_ext.index.build import build_index
    from python_ext.index.tune import tune_index
    from python_ext.ingest.chunk_ingest import ingest_repository

    repo = (args.repo or default_repo()).resolve()
    data_root = DataRoot(args.data_root)
    print(f"repository: {repo} ({count_files(repo)} source/text files)")
    print(
        f"embedder:   {args.embedder}"
        + ("  (LEXICAL: hashed identifier tokens, not semantic)" if args.embedder == "hashing" else "")
    )
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    ingest = ingest_repository(data_root, repo, embedder=args.embedder)
    timings["ingest"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    build = build_index(data_root, factory=args.factory)
    timings["index build"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tune_index(data_root, k=args.k, queries="sample")
    timings["index tune"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    queries = build_queries(data_root, max_per_origin=args.max_per_origin)
    timings["eval queries"] = time.perf_counter() - t0
    result = run_eval(data_root, k=args.k)
    timings["eval run"] = result.wall_seconds

    ing = ingest.to_dict() if hasattr(ingest, "to_dict") else {}
    print(f"ingest:     {ing.get('files_ingested', '?')} files, {ing.get('chunks', '?')} chunks")
    print(
        f"index:      {build.manifest['factory']} ({build.reason}); "
        f"operating point {result.operating_point or '(exact)'}"
    )
    print(
        f"queries:    {result.n_queries} "
        f"({', '.join(f'{o} {n}' for o, n in result.queries_by_origin.items())}); "
        f"{queries.masked_chunks} chunks masked and re-embedded for docstring queries"
    )
    k = args.k
    cols = (f"recall@{k}", f"MRR@{k}", f"nDCG@{k}", f"overlap@{k}")
    header = f"{'channel':8} {cols[0]:>10} {cols[1]:>8} {cols[2]:>8} {cols[3]:>10} {'queries/s':>11}"
    print()
    print(header)
    print("-" * len(header))
    by = {m.source: m for m in result.metrics}
    for m in result.metrics:
        overlap = f"{m.oracle_overlap_at_k:.3f}" if m.oracle_overlap_at_k is not None else "-"
        qps = f"{m.queries_per_s:,.0f}" if m.queries_per_s else "-"
        print(
            f"{m.source:8} {m.recall_at_k:10.3f} {m.mrr_at_k:8.3f} {m.ndcg_at_k:8.3f} {overlap:>10} {qps:>11}"
        )
    for origin, ms in result.by_origin.items():
        print(
            f"  {origin:10} "
            + "  ".join(f"{m.source} R={m.recall_at_k:.3f} MRR={m.mrr_at_k:.3f}" for m in ms)
        )
    print()
    print("stage seconds: " + ", ".join(f"{name} {secs:.1f}" for name, secs in timings.items()))
    print(
        f"eval run wall time: {result.wall_seconds:.2f} s "
        f"(details: {', '.join(f'{n} {v:.2f}' for n, v in result.timings.items())})"
    )
    if "faiss" in by and "flat" in by and by["flat"].queries_per_s:
        print(
            "faiss vs flat oracle: recall ratio "
            f"{by['faiss'].recall_at_k / max(by['flat'].recall_at_k, 1e-12):.3f}, "
            f"q/s ratio {by['faiss'].queries_per_s / by['flat'].queries_per_s:.2f}x"
        )
    if "hybrid" in by:
        for part in result.hybrid_of:
            if part in by and by[part].mrr_at_k:
                print(
                    f"hybrid vs {part}: recall ratio "
                    f"{by['hybrid'].recall_at_k / max(by[part].recall_at_k, 1e-12):.3f}, "
                    f"MRR ratio {by['hybrid'].mrr_at_k / by[part].mrr_at_k:.3f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
