"""GPU path: train/add on the GPU, copy back to CPU for storage, GPU exact ground truth.

Every test here needs a GPU visible to FAISS (the faiss-gpu wheel,
``CODEINTEL_FAISS=gpu bash scripts/bootstrap.sh``) and is skipped, with the reason, otherwise.
"""

from __future__ import annotations

import faiss
import numpy as np
import pytest
from _index_data import write_synthetic_chunks

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.index.build import build_index
from python_ext.index.gpu import Device, exact_knn, gpu_count, resolve_device
from python_ext.index.idmap import check_idmap, read_idmap
from python_ext.index.load import load_index
from python_ext.index.tune import exact_ground_truth, tune_index

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        gpu_count() == 0,
        reason=f"FAISS sees no GPU (faiss {faiss.__version__}, faiss.get_num_gpus() == 0): "
        "install faiss-gpu with CODEINTEL_FAISS=gpu bash scripts/bootstrap.sh on a CUDA 12 machine",
    ),
]


def _corpus(root: DataRoot, n: int = 30_000, d: int = 32) -> tuple[np.ndarray, np.ndarray]:
    write_synthetic_chunks(root, n, d, seed=11)
    parts = list(chunkstore.iter_embedding_batches(root))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def test_resolve_device_uses_gpu() -> None:
    assert resolve_device("auto").use_gpu and resolve_device("on").use_gpu
    assert not resolve_device("off").use_gpu


def test_gpu_exact_knn_matches_cpu() -> None:
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((5000, 32)).astype("float32")
    xq = xb[:100]
    _, gpu_i = exact_knn(xq, xb, 10, faiss.METRIC_L2, Device(True, "gpu"))
    _, cpu_i = exact_knn(xq, xb, 10, faiss.METRIC_L2, Device(False, "cpu"))
    assert np.mean(gpu_i == cpu_i) > 0.99


def test_gpu_flat_build_matches_cpu(data_root: DataRoot) -> None:
    ids, x = _corpus(data_root)
    gpu_v = build_index(data_root, factory="Flat", gpu="on")
    assert gpu_v.manifest["device"] != "cpu" and gpu_v.manifest["gpu_steps"] == ["add"]
    gpu_loaded = load_index(data_root)  # stored on CPU, verified like any version
    cpu_v = build_index(data_root, factory="Flat", gpu="off")
    cpu_loaded = load_index(data_root)
    assert cpu_v.manifest["device"] == "cpu"
    _, gi = gpu_loaded.index.search(x[:200], 10)
    _, ci = cpu_loaded.index.search(x[:200], 10)
    assert np.mean(gi == ci) > 0.99 and np.all(np.isin(gi, ids))


def test_gpu_ivf_build_and_tune(data_root: DataRoot) -> None:
    ids, x = _corpus(data_root)
    result = build_index(data_root, factory="IVF256,Flat", gpu="on")
    assert set(result.manifest["gpu_steps"]) == {"train", "add"}
    loaded = load_index(data_root)
    check_idmap(loaded.index, read_idmap(loaded.path / "faiss_idmap.parquet"))
    assert np.allclose(loaded.index.reconstruct(int(ids[7])), x[7], atol=1e-6)
    tuned = tune_index(data_root, target_recall=0.95, k=10, n_queries=300, gpu="on")
    assert tuned.target_met and tuned.summary["ground_truth_device"] != "cpu"


def test_gpu_ground_truth_matches_cpu(data_root: DataRoot) -> None:
    _, x = _corpus(data_root, n=10_000)
    xq = x[::101]
    _, g = exact_ground_truth(data_root, xq, 10, "ip", resolve_device("on"))
    _, c = exact_ground_truth(data_root, xq, 10, "ip", Device(False, "cpu"))
    assert np.mean(np.sort(g, axis=1) == np.sort(c, axis=1)) > 0.99


def test_hnsw_with_gpu_on_falls_back_to_cpu_steps(data_root: DataRoot) -> None:
    _corpus(data_root, n=5000)
    result = build_index(data_root, factory="HNSW16,Flat", gpu="on")
    assert result.manifest["device"] == "cpu" and result.manifest["gpu_steps"] == []
