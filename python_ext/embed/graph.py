"""all-MiniLM-L6-v2 on an ONNX runtime: ONNX Runtime (fp32, int8) or OpenVINO (f32, bf16).

Same pipeline as sentence-transformers (``modules.json``: Transformer → mean Pooling →
Normalize), with the throughput mechanics done here and measured in ``bench/embedders.py``:

* **tokenization outside the model call** — the model's own ``tokenizer.json`` through the
  ``tokenizers`` library, truncated at the model's window (256 word pieces, ``[CLS]``/``[SEP]``
  included), no fixed padding: the same token ids as sentence-transformers;
* **length-bucketed batches** — texts are sorted by token length and each batch is padded only
  to its own longest row, so short texts never pay for long ones;
* **threads** — one inference stream with as many threads as the process may use
  (``os.sched_getaffinity``; ``CODEINTEL_EMBED_THREADS`` overrides);
* **pooling and normalization in numpy** — mean over the attention mask (denominator clamped
  at 1e-9), then L2 (norm clamped at 1e-12), as sentence-transformers computes them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from python_ext.embed.minilm import (
    MINILM_DIM,
    MINILM_HINT,
    MINILM_MODEL_NAME,
    MINILM_WINDOW,
    MiniLMTokens,
    minilm_model_path,
)
from python_ext.embed.onnx_export import GRAPH_INPUTS, exported_model
from python_ext.embed.threads import embed_threads
from python_ext.errors import ConfigError, MissingDependencyError
from python_ext.progress import NULL_PROGRESS, Reporter

ACCEL_HINT = "pip install 'codeintel-catalog[accel]' (bash scripts/bootstrap.sh installs it)"


class MiniLMTokenizer:
    """The model's fast tokenizer, truncating at the window, without fixed padding."""

    def __init__(self) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                "the minilm embedder needs the tokenizers package, which is not installed", hint=MINILM_HINT
            ) from exc
        self._tok = Tokenizer.from_file(os.path.join(minilm_model_path(), "tokenizer.json"))
        # the shipped tokenizer.json pads to a fixed 128 and truncates at 128: both replaced
        self._tok.no_padding()
        self._tok.enable_truncation(MINILM_WINDOW)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, ``[CLS]`` and ``[SEP]`` included, at most 256 each."""
        return [e.ids for e in self._tok.encode_batch(list(texts))]


def pad_batch(ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask, token_type_ids)`` int64, padded to the longest row."""
    width = max(len(row) for row in ids)
    input_ids = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return input_ids, mask, np.zeros_like(input_ids)


def mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' mean pooling over the mask, then L2 normalization (float32)."""
    weights = mask.astype(np.float32)
    summed = np.einsum("bld,bl->bd", hidden.astype(np.float32, copy=False), weights)
    counts = np.clip(weights.sum(axis=1, keepdims=True), 1e-9, None)
    pooled = summed / counts
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return (pooled / norms).astype(np.float32)


class _OrtRunner:
    def __init__(self, path: str, threads: int) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingDependencyError(
                "the onnx backends need onnxruntime, which is not installed", hint=ACCEL_HINT
            ) from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self._session.run(None, feeds)[0]


class _OpenVinoRunner:
    def __init__(self, path: str, threads: int, precision: str) -> None:
        try:
            import openvino as ov
        except ImportError as exc:
            raise MissingDependencyError(
                "the openvino backends need openvino, which is not installed", hint=ACCEL_HINT
            ) from exc
        core = ov.Core()
        if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            raise ConfigError(
                "openvino-bf16 needs a CPU with bfloat16 support (avx512_bf16 or AMX); this one has "
                "none (OpenVINO would silently compute f32 instead)",
                hint="use --embedder-backend openvino (f32) or auto",
            )
        config = {
            # explicit: left alone, OpenVINO picks bf16 on CPUs that have it and f32 elsewhere,
            # so the vectors would depend on the host
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": str(threads),
        }
        self._compiled = core.compile_model(core.read_model(path), "CPU", config)
        self._request = self._compiled.create_infer_request()
        self._output = self._compiled.output(0)

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self._request.infer(feeds)[self._output]


class MiniLMGraphEmbedder(MiniLMTokens):
    """all-MiniLM-L6-v2 on ONNX Runtime or OpenVINO, from the graph exported into the model cache.

    :param runtime: ``onnxruntime`` or ``openvino``.
    :param precision: ``fp32`` or ``int8`` (onnxruntime); ``fp32`` or ``bf16`` (openvino).
    :param batch_size: texts per model call (after sorting by length).
    :param threads: threads per call (default :func:`embed_threads`).
    :param progress: shows the one-time export.
    :raises MissingDependencyError: the runtime is not installed (the ``accel`` extra).
    :raises ConfigError: an unknown runtime/precision, or bf16 on a CPU without bfloat16.
    """

    kind = "semantic"
    normalized = True
    name = MINILM_MODEL_NAME
    dim = MINILM_DIM
    #: Word pieces the model reads, special tokens included.
    window = MINILM_WINDOW

    def __init__(
        self,
        runtime: str = "openvino",
        precision: str = "fp32",
        batch_size: int = 32,
        threads: int | None = None,
        progress: Reporter = NULL_PROGRESS,
    ) -> None:
        allowed = {"onnxruntime": ("fp32", "int8"), "openvino": ("fp32", "bf16")}
        if precision not in allowed.get(runtime, ()):
            raise ConfigError(f"no MiniLM graph backend {runtime!r} at precision {precision!r}")
        self.backend = runtime
        self.precision = precision
        self.batch_size = batch_size
        self.threads = threads or embed_threads()
        self.tokenizer = MiniLMTokenizer()
        graph = str(exported_model("int8" if precision == "int8" else "fp32", progress))
        self._run: Any = (
            _OrtRunner(graph, self.threads)
            if runtime == "onnxruntime"
            else _OpenVinoRunner(graph, self.threads, precision)
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``: float32 ``(len(texts), 384)``, L2-normalized."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.embed_tokens(self.tokenizer.encode(texts))

    def embed_tokens(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Embed already tokenized texts (:meth:`MiniLMTokenizer.encode`), longest first in
        batches padded to their own longest row; rows come back in the input order."""
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        order = np.argsort([-len(row) for row in ids], kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            input_ids, mask, token_types = pad_batch([ids[i] for i in rows])
            feeds = dict(zip(GRAPH_INPUTS, (input_ids, mask, token_types), strict=True))
            out[rows] = mean_pool_normalize(self._run(feeds), mask)
        return out

    def __repr__(self) -> str:
        return f"MiniLMGraphEmbedder(runtime={self.backend!r}, precision={self.precision!r})"
