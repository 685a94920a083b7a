"""CPU vs GPU side by side, in one short run: embedding chunks/s, index build seconds, exact ground
truth seconds and search QPS at recall@10 >= 0.95, for N x 384 vectors (default N = 1,000,000).

* **embedding** — all-MiniLM-L6-v2 on ``--embed-n`` real chunks of this project's own source:
  the CPU's ``auto`` backend vs ``cuda`` (torch on the GPU);
* **build** — ``python_ext.index.build_index`` (factory ``auto``: IVF with an HNSW coarse
  quantizer at 1M) with ``gpu="off"`` vs ``gpu="on"`` (k-means training and adding on the GPU);
* **ground truth** — exact top-10 of the held-out queries: ``faiss.knn`` vs ``faiss.knn_gpu``;
* **search** — the smallest ``nprobe`` whose recall@10 reaches 0.95, then batched QPS, on the CPU
  index and on its GPU clone (``index_cpu_to_gpu``).

Vectors are synthetic clustered unit vectors (``bench/ann.py``'s generator at d=384). Without a
GPU (FAISS built without one, or none visible) every GPU column says why and the CPU half
still runs; ``--n`` scales the dataset down (the output flags a run below 1M).

Usage::

    CODEINTEL_FAISS=gpu bash scripts/bootstrap.sh && python bench/gpu.py     # on a GPU machine
    python bench/gpu.py --n 100000 --embed-n 128                             # CPU half, scaled down
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import faiss
import numpy as np
from ann import synthetic, write_vector_chunks

from python_ext.config import DataRoot
from python_ext.embed import backends as be
from python_ext.embed.registry import minilm_embedder
from python_ext.index.build import build_index
from python_ext.index.gpu import gpu_count, gpu_name, gpu_resources, to_gpu
from python_ext.index.load import inner_index, load_index
from python_ext.ingest.chunker import chunk_file
from python_ext.ingest.walk import walk_repository

K = 10
TARGET = 0.95
PROJECT = Path(__file__).resolve().parents[1] / "python_ext"


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True)) / truth.size


def embedding_rates(n: int, has_gpu: bool) -> tuple[str, str]:
    walk = walk_repository(PROJECT, languages="python")
    texts = [c.content for f in walk.files for c in chunk_file(f.uri, f.data, f.lang)][:n]
    out = []
    for name in (be.choose_backend("auto", gpu=False).backend.name, "cuda"):
        if name == "cuda" and not has_gpu:
            out.append(f"n/a ({be.unavailable_reason(be.BACKENDS['cuda'])})")
            continue
        try:
            model = minilm_embedder(name)
        except Exception as exc:
            out.append(f"n/a ({exc})")
            continue
        model.embed(texts[:8])
        t = time.perf_counter()
        model.embed(texts)
        out.append(f"{len(texts) / (time.perf_counter() - t):,.1f} chunks/s ({name})")
    return out[0], out[1]


def _knob(index: faiss.Index, gpu: bool) -> tuple[str | None, list[int]]:
    """The search parameter that trades recall for speed, and its values, for ``index``."""
    ivf = None if gpu else faiss.try_extract_index_ivf(index)
    if gpu or ivf is not None:
        nlist = int(getattr(ivf if ivf is not None else index, "nlist", 1 << 16))
        return "nprobe", [p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048) if p <= nlist]
    if isinstance(index, faiss.IndexHNSW):
        return "efSearch", [16, 32, 64, 128, 256, 512, 1024]
    return None, [0]  # exact (Flat): nothing to tune


def search_at_target(index: faiss.Index, xq: np.ndarray, truth: np.ndarray, gpu: bool) -> str:
    """Batched QPS at the cheapest setting whose recall@10 reaches the target."""
    space = faiss.GpuParameterSpace() if gpu else faiss.ParameterSpace()
    name, values = _knob(index, gpu)
    r = 0.0
    for value in values:
        if name is not None:
            space.set_index_parameter(index, name, value)
        _, found = index.search(xq, K)
        r = recall(found, truth)
        if r >= TARGET:
            t = time.perf_counter()
            index.search(xq, K)
            qps = len(xq) / (time.perf_counter() - t)
            setting = f"{name}={value}, " if name is not None else ""
            return f"{qps:,.0f} QPS ({setting}R@10 {r:.3f})"
    return f"target not met (best R@10 {r:.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="base vectors (default 1M)")
    parser.add_argument("--nq", type=int, default=2_000, help="held-out queries")
    parser.add_argument("--embed-n", type=int, default=1_024, help="real chunks embedded per device")
    args = parser.parse_args(argv)
    has_gpu = gpu_count() > 0
    device = gpu_name(0) if has_gpu else "none visible to FAISS"
    print(f"GPU: {device}; FAISS {faiss.__version__}; {os.cpu_count()} CPUs ({be.cpu_capability()})")
    if args.n < 1_000_000:
        print(f"NOTE: scaled down to N={args.n:,} (the target measurement is N=1,000,000)")
    rows: list[tuple[str, str, str]] = []
    cpu_rate, gpu_rate = embedding_rates(args.embed_n, has_gpu)
    rows.append(("embedding all-MiniLM-L6-v2", cpu_rate, gpu_rate))

    x, xq = synthetic(args.n, args.nq, d=384, clusters=max(64, min(4096, args.n // 250)))
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        root = DataRoot(Path(tmp) / "data")
        write_vector_chunks(root, x, "synthetic-384")
        t = time.perf_counter()
        _, truth = faiss.knn(xq, x, K, metric=faiss.METRIC_INNER_PRODUCT)
        gt_cpu = time.perf_counter() - t
        gt_gpu = "n/a (no GPU)"
        if has_gpu:
            t = time.perf_counter()
            faiss.knn_gpu(gpu_resources(), xq, x, K, metric=faiss.METRIC_INNER_PRODUCT)
            gt_gpu = f"{time.perf_counter() - t:.2f} s"
        rows.append((f"exact top-{K} of {len(xq):,} queries", f"{gt_cpu:.2f} s", gt_gpu))

        built_cpu = build_index(root, factory="auto", gpu="off")
        factory = built_cpu.manifest["factory"]
        build_gpu = "n/a (no GPU)"
        if has_gpu:
            built_gpu = build_index(root, factory="auto", gpu="on")
            steps = ",".join(built_gpu.manifest.get("gpu_steps", [])) or "none"
            build_gpu = f"{built_gpu.manifest['build_seconds']:.1f} s (GPU steps: {steps})"
        rows.append((f"build {factory}", f"{built_cpu.manifest['build_seconds']:.1f} s", build_gpu))

        index = load_index(root).index
        inner = inner_index(index)
        cpu_search = search_at_target(inner, xq, truth, gpu=False)
        gpu_search = "n/a (no GPU)"
        if has_gpu:
            clone = to_gpu(inner)
            gpu_search = (
                search_at_target(clone, xq, truth, gpu=True)
                if clone is not None
                else f"n/a (FAISS has no GPU version of {factory})"
            )
        rows.append((f"search at R@10 >= {TARGET}", cpu_search, gpu_search))

    width = max(len(r[0]) for r in rows)
    print(f"\nN={args.n:,} x 384, {args.nq:,} held-out queries, k={K}")
    print(f"{'':<{width}} | {'CPU':<40} | GPU")
    for name, cpu, gpu in rows:
        print(f"{name:<{width}} | {cpu:<40} | {gpu}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
