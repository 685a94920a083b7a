"""GPU switch for FAISS: detect GPUs, move indexes to and from the GPU, exact k-NN on the GPU.

FAISS comes either from ``faiss-cpu`` or from ``faiss-gpu`` (the ``cpu``/``gpu`` extras; they
exclude each other). With the CPU wheel the GPU symbols (``StandardGpuResources``,
``index_cpu_to_gpu``…) do not exist and :func:`gpu_count` is 0. Everything here degrades to the
CPU path with the same results contract; ``--gpu on`` without a GPU raises
:class:`~python_ext.errors.GpuUnavailableError`.

GPU indexes cannot be written to disk: builds train and add on the GPU and copy the result
back with ``index_gpu_to_cpu`` before the index is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from python_ext.errors import ConfigError, GpuUnavailableError

GPU_MODES = ("auto", "on", "off")


def gpu_count() -> int:
    """Number of GPUs FAISS can use (0 with the faiss-cpu wheel)."""
    try:
        return int(faiss.get_num_gpus())
    except Exception:  # faiss-cpu builds may lack the symbol in old versions
        return 0


def gpu_name(device: int = 0) -> str:
    """A readable name for GPU ``device`` (from torch when available, else ``cuda:<n>``)."""
    try:
        import torch

        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(device))
    except Exception:
        pass
    return f"cuda:{device}"


@dataclass(frozen=True)
class Device:
    """Where a build or a ground-truth computation runs.

    :param use_gpu: True when FAISS work goes to the GPU.
    :param name: ``cpu`` or the GPU's name (recorded as ``device`` in version.json).
    """

    use_gpu: bool
    name: str

    def to_dict(self) -> dict[str, Any]:
        return {"use_gpu": self.use_gpu, "name": self.name}


def resolve_device(mode: str = "auto") -> Device:
    """Pick the device for ``--gpu auto|on|off``.

    :param mode: ``auto`` uses a GPU when FAISS sees one, ``on`` requires one, ``off`` never
        uses one.
    :raises GpuUnavailableError: ``mode == "on"`` and FAISS sees no GPU.
    """
    if mode not in GPU_MODES:
        raise ConfigError(f"--gpu must be one of auto, on, off (got {mode!r})", hint="use --gpu auto")
    n = gpu_count()
    if mode == "off":
        return Device(False, "cpu")
    if n == 0:
        if mode == "on":
            raise GpuUnavailableError(
                f"--gpu on was given but FAISS sees no GPU (faiss {faiss.__version__}, "
                "faiss.get_num_gpus() = 0)",
                hint="use --gpu auto or --gpu off, or install the GPU wheel with "
                "CODEINTEL_FAISS=gpu bash scripts/bootstrap.sh on a machine with CUDA 12",
            )
        return Device(False, "cpu")
    return Device(True, gpu_name(0))


_RESOURCES: Any = None


def gpu_resources() -> Any:
    """One shared ``faiss.StandardGpuResources`` (created on first use)."""
    global _RESOURCES
    if _RESOURCES is None:
        if not hasattr(faiss, "StandardGpuResources"):
            raise GpuUnavailableError(
                "this FAISS build has no GPU support (faiss-cpu is installed)",
                hint="CODEINTEL_FAISS=gpu bash scripts/bootstrap.sh installs faiss-gpu",
            )
        _RESOURCES = faiss.StandardGpuResources()
    return _RESOURCES


def to_gpu(index: faiss.Index, device: int = 0) -> faiss.Index | None:
    """Clone a CPU index onto GPU ``device``; None when FAISS has no GPU version of it.

    HNSW and some quantizers have no GPU implementation; callers then keep the CPU index.
    """
    try:
        options = faiss.GpuClonerOptions()
        options.useFloat16 = False
        return faiss.index_cpu_to_gpu(gpu_resources(), device, index, options)
    except (RuntimeError, AttributeError):
        return None


def to_cpu(index: faiss.Index) -> faiss.Index:
    """Copy an index made by :func:`to_gpu` back to the CPU (``index_gpu_to_cpu``).

    GPU indexes cannot be serialized: every GPU-built index goes through here before
    ``faiss.write_index``.
    """
    return faiss.index_gpu_to_cpu(index)


def attach_gpu_clustering(index: faiss.Index, d: int, metric: int) -> faiss.Index | None:
    """Let an IVF index run its k-means training on the GPU (FAISS's ``clustering_index``).

    Works for every IVF family, including an HNSW coarse quantizer (the centroids are computed
    on the GPU, then added to the CPU quantizer). Returns the GPU flat index, which the caller
    must keep alive until ``train()`` returns, or None when not applicable.
    """
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return None
    flat = faiss.IndexFlatIP(d) if metric == faiss.METRIC_INNER_PRODUCT else faiss.IndexFlatL2(d)
    gpu_flat = to_gpu(flat)
    if gpu_flat is None:
        return None
    ivf.clustering_index = gpu_flat
    return gpu_flat


def exact_knn(
    xq: np.ndarray, xb: np.ndarray, k: int, metric: int, device: Device
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours of ``xq`` among ``xb`` (rows), on the GPU when ``device`` says so.

    :returns: ``(D, I)`` with ``I`` the row numbers in ``xb`` (-1 where fewer than k exist).
    """
    xq = np.ascontiguousarray(xq, dtype="float32")
    xb = np.ascontiguousarray(xb, dtype="float32")
    if device.use_gpu:
        return faiss.knn_gpu(gpu_resources(), xq, xb, k, metric=metric)
    return faiss.knn(xq, xb, k, metric=metric)
