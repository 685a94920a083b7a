"""Ingest engines side by side: ``--engine ray`` (Ray Data on a local instance) vs ``local``.

Prints figures, never asserts. One repository (default: a copy of the first ``--files``
Python files of this interpreter's standard library) is ingested from an empty data root by
each engine, for each embedder of ``--embedders``; the chunk sets are compared (every column identical; on a
bf16 backend the vectors may differ in rounding, since the engines cut model batches
differently: then their largest difference is printed) and the throughput is printed with the
ratio ray / local:

* chunks/s of the whole ingest (walk, chunk, embed, write), and of the chunk and embed steps;
* for Ray, the instance start (``ray.init`` of a private local instance) separately: it is
  paid once per ingest by the CLI, and once per session by a long-lived caller.

On a single 2-core machine Ray cannot beat the local loop on model-bound work (the model
already uses both cores); it can on pure-Python work that the local engine runs on one core
(chunking, the hashing embedder), once its fixed costs are paid. The point of the engine is
the same code on a cluster (``--ray-address``); this measures what it costs here.

Usage::

    python bench/engines.py                                  # 400 files, hashing + minilm
    python bench/engines.py --files 1500 --embedders hashing
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pyarrow as pa

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.ingest.ray_engine import RayEngine


def corpus(dst: Path, files: int) -> Path:
    """A copy of the first ``files`` ``.py`` files of the standard library (sorted paths)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    picked = sorted(
        p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts and p.stat().st_size < 200_000
    )
    for path in picked[:files]:
        target = dst / path.relative_to(stdlib)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return dst


def compare(a: pa.Table, b: pa.Table) -> str:
    """``identical``, or which columns differ; vectors that differ are given as max |Δ| and
    min cosine (bf16 backends round differently when batches are cut differently)."""
    if a.equals(b):
        return "identical"
    if a.num_rows != b.num_rows or a.column_names != b.column_names:
        return f"DIFFERENT ({a.num_rows} vs {b.num_rows} rows)"
    differ = [c for c in a.column_names if not a.column(c).equals(b.column(c))]
    if differ != ["embedding"]:
        return f"DIFFERENT columns: {', '.join(differ)}"
    va, vb = (
        chunkstore.embeddings_to_numpy(a.column("embedding")),
        chunkstore.embeddings_to_numpy(b.column("embedding")),
    )
    return (
        f"identical but the vectors: max |delta| {float(np.abs(va - vb).max()):.1e}, "
        f"min cos {float((va * vb).sum(axis=1).min()):.6f}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=400)
    p.add_argument("--embedders", default="hashing,minilm")
    p.add_argument("--workers", type=int, default=None, help="Ray embedding actors (default: one per CPU)")
    args = p.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="engines-bench-") as tmp:
        work = Path(tmp)
        repo = corpus(work / "repo", args.files)
        print(f"repository: {args.files} stdlib .py files copied to {repo}", flush=True)
        rows = []
        for embedder in args.embedders.split(","):
            local_root = DataRoot(work / f"local-{embedder}")
            t = time.perf_counter()
            local = ingest_repository(local_root, repo, embedder=embedder)
            local_s = time.perf_counter() - t
            print(
                f"  local {embedder}: {local.chunks} chunks in {local_s:.1f} s "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            engine = RayEngine(workers=args.workers)
            t = time.perf_counter()
            engine.resources()
            start_s = time.perf_counter() - t
            ray_root = DataRoot(work / f"ray-{embedder}")
            t = time.perf_counter()
            remote = ingest_repository(ray_root, repo, embedder=embedder, engine=engine)
            ray_s = time.perf_counter() - t
            engine.close()
            same = compare(chunkstore.read_chunks(local_root), chunkstore.read_chunks(ray_root))
            print(
                f"  ray   {embedder}: {remote.chunks} chunks in {ray_s:.1f} s + {start_s:.1f} s start "
                f"(load {os.getloadavg()[0]:.1f}); chunk sets: {same}",
                flush=True,
            )
            rows.append((embedder, local, local_s, remote, ray_s, start_s, same))
    print(
        f"\n{'embedder':<10}{'engine':<8}{'chunks':>8}{'total s':>9}{'chunks/s':>10}"
        f"{'chunk s':>9}{'embed s':>9}{'start s':>9}"
    )
    for embedder, local, local_s, remote, ray_s, start_s, _same in rows:
        for name, summary, total, start in (("local", local, local_s, 0.0), ("ray", remote, ray_s, start_s)):
            print(
                f"{embedder:<10}{name:<8}{summary.chunks:>8}{total:>9.1f}{summary.chunks / total:>10.1f}"
                f"{summary.seconds['chunk']:>9.1f}{summary.seconds['embed']:>9.1f}{start:>9.1f}"
            )
    for embedder, local, local_s, remote, ray_s, start_s, same in rows:
        print(
            f"ratio ray / local ({embedder}): chunks/s {local_s / ray_s:.2f}x without the instance start, "
            f"{local_s / (ray_s + start_s):.2f}x with it; chunk step "
            f"{local.seconds['chunk'] / max(remote.seconds['chunk'], 1e-9):.2f}x, embed step "
            f"{local.seconds['embed'] / max(remote.seconds['embed'], 1e-9):.2f}x; chunk sets: {same}"
        )
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
