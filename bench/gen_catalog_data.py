"""Generate a synthetic, contract-conformant data root for the catalog benchmark.

Writes N chunks (default 1,000,000) over N/10 files in nested directories, one module per
directory, SCIP definitions (one per chunk) and symbols, symbol edges, a published FAISS
version (id map covering every chunk, tuning frontier, version.json, CURRENT + current link),
eval queries, two runs of pools and runs.parquet. Vectorized with numpy/pyarrow; ~1 min for 1M.

    python bench/gen_catalog_data.py --out /tmp/catalog-bench/data --chunks 1000000 --dim 384
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from python_ext import contracts

CHUNKS_PER_FILE = 10
LINES_PER_CHUNK = 12


def _ids(n: int, rng: np.random.Generator) -> np.ndarray:
    ids = rng.choice(np.iinfo(np.int64).max, size=int(n * 1.01), replace=False)
    return np.unique(ids)[:n] if len(np.unique(ids)) >= n else ids[:n]


def generate(out: Path, n_chunks: int, dim: int, seed: int = 7) -> dict[str, float]:
    """Write the data root under ``out`` (replaced) and return timing figures."""
    t0 = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    rng = np.random.default_rng(seed)
    n_files = max(1, n_chunks // CHUNKS_PER_FILE)
    # Files: dir{a}/sub{b}/file{i}.py, 200 top dirs x 10 sub dirs.
    file_idx = np.arange(n_files)
    top = file_idx % 200
    sub = (file_idx // 200) % 10
    uris = np.char.add(
        np.char.add(np.char.add("dir", top.astype(str)), np.char.add("/sub", sub.astype(str))),
        np.char.add("/file", np.char.add(file_idx.astype(str), ".py")),
    ).astype(object)
    chunk_file = np.repeat(file_idx, CHUNKS_PER_FILE)[:n_chunks]
    pos = np.tile(np.arange(CHUNKS_PER_FILE), n_files)[:n_chunks]
    ids = rng.permutation(_ids(n_chunks, rng))
    start_line = (pos * LINES_PER_CHUNK + 1).astype(np.int32)
    end_line = (start_line + LINES_PER_CHUNK - 1).astype(np.int32)
    start_byte = (pos * 400).astype(np.int64)
    end_byte = start_byte + 400
    names = np.char.add("func_", np.arange(n_chunks).astype(str)).astype(object)
    content = np.char.add(
        np.char.add("def ", names.astype(str)), "(x):\n    return x * 2  # synthetic body\n"
    )
    content = content.astype(object)
    info = contracts.EmbeddingInfo(model="synthetic-gaussian", dim=dim, normalized=True, kind="precomputed")
    schema = contracts.chunks_schema(dim, info)
    chunks_dir = out / "vectors" / "chunks"
    chunks_dir.mkdir(parents=True)
    part = 250_000
    for p, lo in enumerate(range(0, n_chunks, part)):
        hi = min(n_chunks, lo + part)
        vec = rng.standard_normal((hi - lo, dim), dtype=np.float32)
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        emb = pa.FixedSizeListArray.from_arrays(pa.array(vec.reshape(-1)), dim)
        sym_offsets = pa.array(np.arange(hi - lo + 1, dtype=np.int32))
        table = pa.Table.from_arrays(
            [
                pa.array(ids[lo:hi]),
                pa.array(uris[chunk_file[lo:hi]], pa.string()),
                pa.array(start_line[lo:hi]),
                pa.array(end_line[lo:hi]),
                pa.array(start_byte[lo:hi]),
                pa.array(end_byte[lo:hi]),
                pa.array(content[lo:hi], pa.string()),
                pa.array(content[lo:hi], pa.string()),
                pa.array(np.full(hi - lo, "python", dtype=object), pa.string()),
                emb,
                pa.array([f"{i:016x}" for i in range(lo, hi)], pa.string()),
                pa.ListArray.from_arrays(sym_offsets, pa.array(names[lo:hi], pa.string())),
            ],
            schema=schema,
        )
        pq.write_table(table, chunks_dir / f"part-{p:04d}.parquet")
    t_chunks = time.perf_counter() - t0

    # Modules: one per top dir and one per sub dir.
    mod_ids, prefixes = [], []
    for a in range(min(200, n_files)):
        mod_ids.append(f"dir{a}")
        prefixes.append(f"dir{a}/")
        for b in range(10):
            mod_ids.append(f"dir{a}.sub{b}")
            prefixes.append(f"dir{a}/sub{b}")
    m = len(mod_ids)
    modules = pa.Table.from_pydict(
        {
            "module_id": mod_ids,
            "uri_prefix": prefixes,
            "language": ["python"] * m,
            "size_loc": pa.array(rng.integers(10, 5000, m), pa.int32()),
            "cyclomatic": rng.random(m) * 5,
            "doc_cov": rng.random(m),
            "in_deg": pa.array(rng.integers(0, 20, m), pa.int32()),
            "out_deg": pa.array(rng.integers(0, 20, m), pa.int32()),
            "centrality": rng.random(m) / m,
        },
        schema=contracts.MODULES_SCHEMA,
    )
    (out / "modules").mkdir()
    pq.write_table(modules, out / "modules" / "modules.parquet")

    symbols = np.char.add(
        np.char.add("scip-python python bench 0.1 `", uris[chunk_file].astype(str)),
        np.char.add("`/", np.char.add(names.astype(str), "().")),
    ).astype(object)
    occ = pa.Table.from_pydict(
        {
            "symbol": pa.array(symbols, pa.string()),
            "uri": pa.array(uris[chunk_file], pa.string()),
            "role": ["def"] * n_chunks,
            "role_bits": pa.array(np.ones(n_chunks, np.int32)),
            "start_line": pa.array(start_line),
            "start_char": pa.array(np.full(n_chunks, 4, np.int32)),
            "end_line": pa.array(start_line),
            "end_char": pa.array(np.full(n_chunks, 12, np.int32)),
        },
        schema=contracts.SCIP_OCCURRENCES_SCHEMA,
    )
    (out / "scip").mkdir()
    pq.write_table(occ, out / "scip" / "scip_occurrences.parquet")
    syms = pa.Table.from_pydict(
        {
            "symbol": pa.array(symbols, pa.string()),
            "display_name": pa.array(names, pa.string()),
            "kind": ["function"] * n_chunks,
            "documentation": [None] * n_chunks,
            "uri": pa.array(uris[chunk_file], pa.string()),
        },
        schema=contracts.SCIP_SYMBOLS_SCHEMA,
    )
    pq.write_table(syms, out / "scip" / "scip_symbols.parquet")
    n_edges = n_chunks // 2
    src = rng.integers(0, n_chunks, n_edges)
    dst = (src + 1 + rng.integers(0, 1000, n_edges)) % n_chunks
    edges = pa.Table.from_pydict(
        {
            "src_symbol": pa.array(symbols[src], pa.string()),
            "dst_symbol": pa.array(symbols[dst], pa.string()),
            "edge": ["calls"] * n_edges,
            "weight": np.ones(n_edges),
            "src_uri": pa.array(uris[chunk_file[src]], pa.string()),
            "dst_uri": pa.array(uris[chunk_file[dst]], pa.string()),
        },
        schema=contracts.SYMBOL_EDGES_SCHEMA,
    )
    edges = edges.group_by(["src_symbol", "dst_symbol", "edge"]).aggregate(
        [("weight", "sum"), ("src_uri", "min"), ("dst_uri", "min")]
    )
    edges = pa.Table.from_arrays(
        [
            edges["src_symbol"],
            edges["dst_symbol"],
            edges["edge"],
            edges["weight_sum"],
            edges["src_uri_min"],
            edges["dst_uri_min"],
        ],
        schema=contracts.SYMBOL_EDGES_SCHEMA,
    )
    (out / "symbol_graph").mkdir()
    pq.write_table(edges, out / "symbol_graph" / "symbol_edges.parquet")

    version = "v0001"
    vdir = out / "faiss" / "versions" / version
    vdir.mkdir(parents=True)
    built_at = datetime(2026, 1, 1)
    idmap = pa.Table.from_pydict(
        {
            "faiss_row": pa.array(np.arange(n_chunks, dtype=np.int64)),
            "faiss_id": pa.array(ids),
            "chunk_id": pa.array(ids),
            "index_name": ["bench-ivf"] * n_chunks,
            "build_version": [version] * n_chunks,
            "built_at": pa.array([built_at] * n_chunks, pa.timestamp("us")),
        },
        schema=contracts.FAISS_IDMAP_SCHEMA,
    )
    pq.write_table(idmap, vdir / "faiss_idmap.parquet")
    frontier = pa.Table.from_pylist(
        [
            {
                "build_version": version,
                "factory": "IVF4096,PQ32",
                "operating_point": f"nprobe={p}",
                "recall_at_k": min(1.0, 0.5 + 0.1 * i),
                "k": 10,
                "ms_per_query": 0.1 * p,
                "is_pareto": True,
                "is_chosen": p == 16,
            }
            for i, p in enumerate([1, 2, 4, 8, 16, 32])
        ],
        schema=contracts.TUNING_FRONTIER_SCHEMA,
    )
    pq.write_table(frontier, vdir / "tuning_frontier.parquet")
    sha = hashlib.sha256((vdir / "faiss_idmap.parquet").read_bytes()).hexdigest()
    (vdir / "version.json").write_text(
        json.dumps(
            {
                "version": version,
                "created_at": "2026-01-01T00:00:00Z",
                "index_name": "bench-ivf",
                "factory": "IVF4096,PQ32",
                "metric": "inner_product",
                "dim": dim,
                "ntotal": n_chunks,
                "operating_point": "nprobe=16",
                "idmap_sha256": sha,
                "chunks_fingerprint": "synthetic",
                "embedding_model": "synthetic-gaussian",
                "device": "cpu",
                "build_seconds": 0.0,
                "tuning": {},
            }
        )
    )
    (out / "faiss" / "CURRENT").write_text(version + "\n")
    os.symlink(Path("versions") / version, out / "faiss" / "current")

    n_q = 1000
    qids = [f"q{i}" for i in range(n_q)]
    pos_idx = rng.integers(0, n_chunks, n_q)
    queries = pa.Table.from_pydict(
        {
            "query_id": qids,
            "text": [f"query {i}" for i in range(n_q)],
            "positives": [[int(ids[j])] for j in pos_idx],
            "origin": ["synthetic"] * n_q,
            "meta": [None] * n_q,
        },
        schema=contracts.EVAL_QUERIES_SCHEMA,
    )
    (out / "eval" / "pools").mkdir(parents=True)
    pq.write_table(queries, out / "eval" / "queries.parquet")
    runs = []
    for r, run_id in enumerate(["run-1", "run-2"]):
        rows = {k: [] for k in ("run_id", "query_id", "source", "rank", "chunk_id", "score")}
        for ch in ("faiss", "flat", "bm25", "hybrid"):
            hits = rng.integers(0, n_chunks, (n_q, 10))
            hits[:, 0] = np.where(rng.random(n_q) < 0.5, pos_idx, hits[:, 0])
            for q in range(n_q):
                seen = list(dict.fromkeys(hits[q].tolist()))
                for rank, j in enumerate(seen, start=1):
                    rows["run_id"].append(run_id)
                    rows["query_id"].append(qids[q])
                    rows["source"].append(ch)
                    rows["rank"].append(rank)
                    rows["chunk_id"].append(int(ids[j]))
                    rows["score"].append(1.0 / rank)
        pq.write_table(
            pa.Table.from_pydict(rows, schema=contracts.EVAL_POOL_SCHEMA),
            out / "eval" / "pools" / f"{run_id}.parquet",
        )
        runs.append(
            {
                "run_id": run_id,
                "started_at": datetime(2026, 1, 2 + r),
                "index_version": version,
                "operating_point": "nprobe=16",
                "k": 10,
                "n_queries": n_q,
                "channels": ["faiss", "flat", "bm25", "hybrid"],
                "rrf_k0": 60,
                "wall_seconds": 1.0,
                "metrics": [
                    {
                        "source": ch,
                        "recall_at_k": 0.5,
                        "mrr_at_k": 0.5,
                        "ndcg_at_k": 0.5,
                        "oracle_overlap_at_k": 0.9,
                        "queries_per_s": 100.0,
                    }
                    for ch in ("faiss", "flat", "bm25", "hybrid")
                ],
            }
        )
    pq.write_table(
        pa.Table.from_pylist(runs, schema=contracts.EVAL_RUNS_SCHEMA), out / "eval" / "runs.parquet"
    )
    return {"chunks_s": t_chunks, "total_s": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="data root to (re)create")
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    figures = generate(args.out, args.chunks, args.dim)
    print(
        f"wrote {args.chunks} chunks (d={args.dim}) under {args.out} in {figures['total_s']:.1f} s "
        f"(chunks {figures['chunks_s']:.1f} s)"
    )


if __name__ == "__main__":
    main()
