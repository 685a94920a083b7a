"""Sharded vs single index: build time, search QPS and the memory of the loaded index, side by side.

Prints figures, never asserts. One synthetic dataset (``--n`` clustered unit vectors, default
1,000,000, d=64; the generator of ``bench/ann.py``) written once as a chunks Parquet set, then
three versions of the same factory built in this one run:

* **single** — ``build_index(…)``: one ``IndexIDMap2`` (the default);
* **shards** — ``build_index(…, shards=S)``: trained once, S shards filled by ``--workers``
  processes, served with ``IndexShards`` (``IndexShardsIVF`` for IVF);
* **ondisk** — ``build_index(…, shards=S, layout="ondisk")``: the shards' inverted lists merged
  into one memory-mapped ``index.ivfdata`` (IVF factories only).

Each version is searched at the same operating point (``--op``; default: the one
``index tune`` chose for the single version on 1M vectors in docs/index.md) with the same
held-out queries: recall@10 against exact search, QPS batched (all queries in one call) and
one at a time (one call per query, one OpenMP thread), and, in a fresh process that loads
the version with ``load_index`` and runs the queries, the resident memory the loaded index
holds (RSS after the load minus before; ``IndexIDMap2`` keeps a reverse hash map, the sharded
layouts do not; the on-disk lists count only as far as their pages were read) and the peak
RSS. The ratios sharded / single are printed last.

Usage::

    python bench/shards.py                       # 1M vectors, S=4, 2 workers (≈15 min on 2 cores)
    python bench/shards.py --n 200000 --shards 2 --factory IVF1024,Flat --op nprobe=8
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import faiss
import numpy as np
from ann import recall_at_k, synthetic, write_vector_chunks

from python_ext.config import DataRoot
from python_ext.index.build import build_index

PROBE = r"""
import json, resource, sys, time
import faiss
import numpy as np
from python_ext.index.load import load_index
root, version, op, queries, single = sys.argv[1:6]
xq = np.load(queries)
def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
before = rss_mb()
t = time.perf_counter()
loaded = load_index(root, version, operating_point=op)
load_s = time.perf_counter() - t
held = rss_mb() - before
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    D, I = loaded.index.search(xq, 10)
    best = min(best, time.perf_counter() - t)
n1 = int(single)
threads = faiss.omp_get_max_threads()
faiss.omp_set_num_threads(1)
t = time.perf_counter()
for i in range(n1):
    loaded.index.search(xq[i : i + 1], 10)
one = n1 / (time.perf_counter() - t)
faiss.omp_set_num_threads(threads)
np.save(queries + f".{version}.ids.npy", I)
print(json.dumps({"load_s": load_s, "qps_batch": len(xq) / best, "qps_single": one, "held_mb": held,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def probe(root: DataRoot, version: str, op: str, queries: Path, single: int) -> dict:
    """Load ``version`` in a fresh process, search; its figures and result ids."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(root.root), version, op, str(queries), str(single)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["ids"] = np.load(f"{queries}.{version}.ids.npy")
    return figures


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file()) / 2**20


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--single-queries", type=int, default=200)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--factory", default="auto")
    p.add_argument("--op", default="nprobe=4,quantizer_efSearch=11")
    p.add_argument("--skip-ondisk", action="store_true")
    args = p.parse_args(argv)
    print(f"faiss {faiss.__version__}, cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="shards-bench-") as tmp:
        work = Path(tmp)
        root = DataRoot(work / "data")
        t = time.perf_counter()
        x, xq = synthetic(args.n, args.queries, d=args.dim)
        ids = write_vector_chunks(root, x, f"synthetic-clustered-d{args.dim}")
        _, exact_rows = faiss.knn(xq, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
        truth = ids[exact_rows]
        del x
        queries = work / "queries.npy"
        np.save(queries, xq)
        print(f"generated and wrote {args.n:,} vectors (d={args.dim}) in {time.perf_counter() - t:.1f} s")
        layouts = [("single", 1, "shards"), (f"shards S={args.shards}", args.shards, "shards")]
        if not args.skip_ondisk:
            layouts.append((f"ondisk S={args.shards}", args.shards, "ondisk"))
        rows = []
        for name, shards, layout in layouts:
            t = time.perf_counter()
            built = build_index(
                root,
                factory=args.factory,
                gpu="off",
                publish=False,
                shards=shards,
                layout=layout,
                workers=args.workers,
            )
            build_s = time.perf_counter() - t
            figures = probe(root, built.version, args.op, queries, args.single_queries)
            figures.update(
                name=name,
                factory=built.manifest["factory"],
                build_s=build_s,
                recall=recall_at_k(figures["ids"], truth),
                mb=dir_mb(root.version_dir(built.version)),
            )
            rows.append(figures)
            print(
                f"  built {name} ({built.manifest['index_type']}) in {build_s:.1f} s, "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    print(f"\n{args.n:,} vectors, factory {rows[0]['factory']}, operating point {args.op}")
    print(
        f"{'index':<16}{'build s':>9}{'R@10':>8}{'QPS batch':>11}{'QPS 1-by-1':>12}"
        f"{'load s':>8}{'RAM MB':>8}{'peak RSS MB':>13}{'files MB':>10}"
    )
    for r in rows:
        print(
            f"{r['name']:<16}{r['build_s']:>9.1f}{r['recall']:>8.4f}{r['qps_batch']:>11.0f}"
            f"{r['qps_single']:>12.0f}{r['load_s']:>8.2f}{r['held_mb']:>8.0f}{r['peak_rss_mb']:>13.0f}"
            f"{r['mb']:>10.1f}"
        )
    base = rows[0]
    for r in rows[1:]:
        same = float(np.mean(np.all(r["ids"] == base["ids"], axis=1)))
        print(
            f"ratios {r['name']} / single: build {r['build_s'] / base['build_s']:.2f}x, "
            f"QPS batched {r['qps_batch'] / base['qps_batch']:.2f}x, "
            f"one-by-one {r['qps_single'] / base['qps_single']:.2f}x, "
            f"RAM held by the loaded index {r['held_mb'] / base['held_mb']:.2f}x; "
            f"queries with identical top-10 ids: {same:.1%}"
        )
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
